"""The runner serves a real app on the engine and moves the shared clock: retries, delays and dead-lettering
happen in simulated time, handlers in real time, and a run that cannot finish says why."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import anyio
import pytest

from consumerkit import App, FixedBackoff, Message, Reject
from consumerkit.backends import LocalBackend, OutgoingMessage
from consumerkit.clock import ManualClock
from consumerkit.engine import Engine
from consumerkit.errors import ConfigError, QueueNotFoundError
from consumerkit.testing import NotIdleError, Runner, run_until_idle


def jobs_app(retry_seconds: int = 60, max_receives: int = 3) -> App:
    app = App()
    app.queue("jobs", dead_letter="jobs-dlq", max_receives=max_receives)

    @app.handler("jobs", retry=FixedBackoff(retry_seconds))
    async def work(message: Message) -> None:
        if message.body == "poison":
            raise ValueError("cannot work on poison")
        if message.body == "refuse":
            raise Reject("not for us")

    return app


async def test_failures_are_retried_then_dead_lettered_in_simulated_time() -> None:
    clock = ManualClock()
    async with Runner(jobs_app(retry_seconds=600), clock) as runner:
        await runner.send("jobs", "a", "poison", "b")
        began, real = clock.now(), time.perf_counter()
        result = await runner.run_until_idle()
    assert sorted(result.succeeded) == ["a", "b"]
    assert result.failed == ["poison"]
    assert result.dead_lettered == ("poison",)
    assert [(o.outcome, o.receive_count) for o in result.outcomes_of("poison")] == [("error", n) for n in (1, 2, 3)]
    assert clock.now() - began >= 2 * 600  # two back-offs of ten minutes passed on the clock...
    assert time.perf_counter() - real < 5  # ...and not in real time


async def test_a_rejected_message_goes_straight_to_the_dead_letter_queue() -> None:
    async with Runner(jobs_app()) as runner:
        await runner.send("jobs", "refuse")
        result = await runner.run_until_idle()
    assert result.outcome("refuse").outcome == "rejected"
    assert result.outcome("refuse").receive_count == 1
    assert result.dead_lettered == ("refuse",)


async def test_a_delayed_message_is_handled_once_its_delay_has_passed_on_the_clock() -> None:
    clock = ManualClock()
    async with Runner(jobs_app(), clock) as runner:
        await runner.send("jobs", "later", delay=900)
        sent_at = clock.now()
        result = await runner.run_until_idle()
    assert result.succeeded == ["later"]
    assert result.outcome("later").queue_wait == pytest.approx(900, abs=1)
    assert clock.now() - sent_at >= 900


async def test_runs_again_after_more_sends_and_reports_only_the_new_run() -> None:
    async with Runner(jobs_app()) as runner:
        await runner.send("jobs", "first")
        first = await runner.run_until_idle()
        await runner.send("jobs", "second", "poison")
        second = await runner.run_until_idle()
    assert first.succeeded == ["first"]
    assert second.succeeded == ["second"]
    assert second.dead_lettered == ("poison",)


async def test_a_handler_that_never_returns_fails_the_run_naming_it() -> None:
    app = App()

    @app.handler("stuck", name="hangs")
    async def hangs(message: Message) -> None:
        await anyio.Event().wait()

    async with Runner(app) as runner:
        await runner.send("stuck", "forever")
        with pytest.raises(NotIdleError, match=r"handler 'hangs' holds message .* \('forever'\) of queue 'stuck'"):
            await runner.run_until_idle(timeout=0.2)
        # the worker was stopped and the message released: a fixed handler would now get it
        stats = await runner.engine.queue_stats(await runner.backend.get_queue_url("stuck"))
        assert (stats.visible, stats.in_flight) == (1, 0)


async def test_a_sync_handler_that_overruns_is_abandoned_at_the_timeout() -> None:
    app = App()
    release = threading.Event()

    @app.handler("blocking")
    def blocks(message: Message) -> None:
        release.wait(10)

    try:
        async with Runner(app) as runner:
            await runner.send("blocking", "x")
            started = time.perf_counter()
            with pytest.raises(NotIdleError, match="handler 'blocks' holds message"):
                await runner.run_until_idle(timeout=0.2)
            assert time.perf_counter() - started < 5  # stopped without waiting for the thread
    finally:
        release.set()


async def test_a_failing_service_fails_the_run_with_its_own_error() -> None:
    app = jobs_app()

    async def broken(supervisor: object) -> None:
        raise OSError("port 9750 is taken")

    app.add_service(broken)
    with pytest.raises(OSError, match="port 9750 is taken"):
        async with Runner(app):
            pass


async def test_an_app_without_handlers_is_refused_on_entry() -> None:
    with pytest.raises(ConfigError, match="the app has no handlers"):
        async with Runner(App()):
            pass


async def test_messages_retried_forever_fail_the_run_and_the_error_says_why() -> None:
    app = App()

    @app.handler("no-dlq", retry=FixedBackoff(1))
    async def fails(message: Message) -> None:
        raise ValueError("always")

    async with Runner(app) as runner:
        await runner.send("no-dlq", "x")
        with pytest.raises(NotIdleError, match="retried forever"):
            await runner.run_until_idle(timeout=0.2)


async def test_a_handler_timeout_falls_in_real_time_while_the_handler_runs() -> None:
    app = App()
    app.queue("slow", dead_letter="slow-dlq", max_receives=2)

    @app.handler("slow", timeout=0.05, retry=FixedBackoff(0))
    async def too_slow(message: Message) -> None:
        await anyio.sleep(30)

    async with Runner(app) as runner:
        await runner.send("slow", "job")
        result = await runner.run_until_idle()
    assert [o.outcome for o in result.outcomes] == ["timeout", "timeout"]
    assert result.dead_lettered == ("job",)


async def test_sync_handlers_run_in_their_threads() -> None:
    app = App()
    seen: list[str] = []

    @app.handler("sync", concurrency=2)
    def work(message: Message) -> None:
        time.sleep(0.01)
        seen.append(message.body)

    async with Runner(app) as runner:
        await runner.send("sync", *(f"m{n}" for n in range(5)))
        result = await runner.run_until_idle()
    assert sorted(result.succeeded) == sorted(seen) == [f"m{n}" for n in range(5)]


async def test_messages_a_handler_sends_are_handled_and_named_in_the_result() -> None:
    app = App()

    @app.handler("orders")
    async def split(message: Message) -> None:
        url = await runner.backend.get_queue_url("lines")
        lines = [OutgoingMessage(json.dumps({"line": n}), str(n)) for n in range(2)]
        await runner.backend.send_message_batch(url, lines)

    @app.handler("lines")
    async def line(message: Message) -> None:
        pass

    async with Runner(app) as runner:
        await runner.send("orders", {"order": 1})
        result = await runner.run_until_idle()
    assert sorted(result.succeeded) == ['{"line": 0}', '{"line": 1}', '{"order": 1}']
    assert result.outcome({"line": 1}).queue == "lines"


async def test_a_dead_letter_queue_with_a_handler_is_worked_through_too() -> None:
    app = jobs_app(max_receives=1)
    reported: list[str] = []

    @app.handler("jobs-dlq")
    async def report(message: Message) -> None:
        reported.append(message.body)

    async with Runner(app) as runner:
        await runner.send("jobs", "poison")
        result = await runner.run_until_idle()
    assert reported == ["poison"]
    assert result.dead_lettered == ()  # handled there, and deleted
    assert [(o.queue, o.outcome) for o in result.outcomes] == [("jobs", "error"), ("jobs-dlq", "success")]


async def test_send_encodes_bodies_and_passes_options() -> None:
    app = App()
    got: list[Message] = []

    @app.handler("events.fifo")
    async def keep(message: Message) -> None:
        got.append(message)

    async with Runner(app) as runner:
        await runner.send("events.fifo", {"n": 1}, [2], "three", attributes={"kind": "test", "size": 3})
        await runner.send("events.fifo", "other group", group_id="g2")
        await runner.run_until_idle()
    assert [m.body for m in got if m.group_id == "default"] == ['{"n": 1}', "[2]", "three"]  # FIFO order
    assert [m.body for m in got if m.group_id == "g2"] == ["other group"]
    attributes = got[0].message_attributes
    assert (attributes["kind"].string_value, attributes["size"].data_type) == ("test", "Number")


async def test_send_errors_name_what_is_wrong() -> None:
    async with Runner(jobs_app()) as runner:
        with pytest.raises(QueueNotFoundError, match=r"queue 'nope' does not exist; the app's queues are \['jobs'"):
            await runner.send("nope", "x")
        with pytest.raises(TypeError, match="body: bytes"):
            await runner.send("jobs", b"raw")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"attributes\['flag'\]: True is a bool"):
            await runner.send("jobs", "x", attributes={"flag": True})
        with pytest.raises(ConfigError, match="timeout=0 must be more than 0"):
            await runner.run_until_idle(timeout=0)


async def test_an_engine_lent_to_the_runner_stays_open_and_keeps_its_clock() -> None:
    clock = ManualClock()
    async with Engine.open("memory://", clock) as engine:
        with pytest.raises(ConfigError, match="clock must be the engine's own"):
            Runner(jobs_app(), ManualClock(), engine=engine)
        async with Runner(jobs_app(), engine=engine) as runner:
            assert runner.clock is clock
            await runner.send("jobs", "a")
            await runner.run_until_idle()
        assert await engine.list_queues()  # still usable: the runner did not close it
        url = await LocalBackend(engine).get_queue_url("jobs")
        assert (await engine.queue_stats(url)).visible == 0


async def test_the_apps_own_settings_are_left_as_they_were() -> None:
    app = jobs_app()
    app.settings = app.settings.replace(create_queues=False)
    before = app.settings
    async with Runner(app) as runner:  # queues created anyway: a test's engine starts empty
        await runner.send("jobs", "a")
        assert (await runner.run_until_idle()).succeeded == ["a"]
    assert app.settings is before


def test_a_runner_made_outside_an_event_loop_can_be_entered_twice() -> None:
    runner = Runner(jobs_app())  # as a plain fixture would make it

    async def use() -> list[str]:
        async with runner:
            await runner.send("jobs", "a")
            return (await runner.run_until_idle()).succeeded

    assert anyio.run(use) == ["a"]
    assert anyio.run(use) == ["a"]  # a fresh engine the second time
    with pytest.raises(RuntimeError, match="enter it first"):
        runner.engine  # noqa: B018


def test_run_until_idle_in_one_call() -> None:
    result = run_until_idle(jobs_app(), {"jobs": ["a", "poison"]})
    assert (result.succeeded, result.dead_lettered) == (["a"], ("poison",))


def test_run_until_idle_on_a_sqlite_store_that_already_holds_messages(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/queues.db"
    run_until_idle(jobs_app(), {"jobs": ["poison"]}, url=url)
    again = run_until_idle(jobs_app(), {"jobs": ["b"]}, url=url)
    assert again.succeeded == ["b"]
    assert again.dead_lettered == ("poison",)  # still there from the first run
