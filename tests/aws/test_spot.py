"""The Spot interruption watch on a real worker: it polls the fake IMDS every 5 s with a token, and starts the
graceful drain once an ``instance-action`` appears."""

from __future__ import annotations

import anyio
import pytest
import structlog.testing

from consumerkit import App, ConfigError, Message
from consumerkit.aws import ImdsClient, SpotNotice, SpotWatch, spot_watch_service
from consumerkit.aws.spot import INSTANCE_ACTION
from consumerkit.backends import LocalBackend
from consumerkit.clock import ManualClock
from tests.aws.standins import FakeImds, RecordedSource, iso
from tests.runtime.harness import WAIT, Gate, advance, running, send, settle, url_of


def watched_app(queue: str, gate: Gate, source: RecordedSource) -> tuple[App, SpotWatch]:
    app = App(drain_timeout=90)

    @app.handler(queue)
    async def encode(message: Message) -> None:
        await gate.enter()

    watch = spot_watch_service(source)
    app.add_service(watch)
    return app, watch


async def test_a_notice_starts_the_graceful_drain(
    local: LocalBackend, clock: ManualClock, imds: FakeImds, queue_name: str
) -> None:
    gate = Gate()
    source = RecordedSource(ImdsClient(imds.url), clock)
    app, watch = watched_app(queue_name, gate, source)
    with structlog.testing.capture_logs() as logs:
        async with running(app, local, clock=clock) as (supervisor, outcomes):
            start = clock.now()
            await source.calls.wait(1)  # the first look, at start
            await send(local, url_of(supervisor, queue_name), "a 40 minute encode")
            await gate.wait_started(1)
            for looks in (2, 3):
                await advance(clock, 5)
                await source.calls.wait(looks)
            imds.instance_action = {"action": "terminate", "time": iso(start + 12 + 120)}
            await advance(clock, 4)
            assert supervisor.ready  # not seen before the next look
            await advance(clock, 1)
            await source.calls.wait(4)
            await settle()
            assert supervisor.draining and supervisor.in_progress == 1  # receiving stopped; the job runs on
            gate.open.set()
            with anyio.fail_after(WAIT):
                await supervisor.wait_stopped()
    assert outcomes.kinds() == ["success"]  # it finished inside the drain, and was deleted
    token, *gets = imds.requests.items
    assert token.path == "/latest/api/token" and token.headers["X-aws-ec2-metadata-token-ttl-seconds"] == "21600"
    assert [(g.at - start, g.path) for g in gets] == [(t, INSTANCE_ACTION) for t in (0, 5, 10, 15)]
    assert all(g.headers["X-aws-ec2-metadata-token"] == "token-1" for g in gets)
    assert watch.statistics().notice == SpotNotice("terminate", iso(start + 132))
    notice = next(e for e in logs if e["event"] == "spot interruption scheduled: draining")
    assert (notice["action"], notice["seconds_left"], notice["running"]) == ("terminate", 117, 1)


async def test_a_failed_look_is_logged_and_the_next_one_comes_5_s_later(
    local: LocalBackend, clock: ManualClock, imds: FakeImds, queue_name: str
) -> None:
    source = RecordedSource(ImdsClient(imds.url), clock)
    app, watch = watched_app(queue_name, Gate(), source)
    with structlog.testing.capture_logs() as logs:
        async with running(app, local, clock=clock) as (supervisor, _):
            start = clock.now()
            await source.calls.wait(1)
            imds.fail_next = 1
            for looks in (2, 3):
                await advance(clock, 5)
                await source.calls.wait(looks)
            assert supervisor.ready
    assert [(c.at - start, c.error is not None) for c in source.calls.items] == [(0, False), (5, True), (10, False)]
    assert watch.statistics().errors == 1 and watch.statistics().notice is None
    warning = next(e for e in logs if e["log_level"] == "warning")
    assert "HTTP 500" in warning["error"] and warning["retry_in"] == 5


def test_notices_parse_and_settings_are_checked() -> None:
    assert SpotNotice.parse('{"action": "stop", "time": "2017-09-18T08:22:00Z"}') == SpotNotice(
        "stop", "2017-09-18T08:22:00Z"
    )
    assert SpotNotice.parse("not json") == SpotNotice("unknown", "")  # a 200 there drains anyway
    assert SpotNotice("stop", "2017-09-18T08:22:00Z").seconds_left(1505722800.0) == 120
    assert SpotNotice("stop", "soon").seconds_left(0) is None
    with pytest.raises(ConfigError, match="every=0 is out of range"):
        spot_watch_service(every=0)
    assert repr(spot_watch_service()).startswith("SpotWatch(ImdsClient('http://127.0.0.1:")
