"""The pytest plugin as a user's suite meets it: loaded from the entry point, with pytest-asyncio in auto or
strict mode, or with anyio's plugin instead, and with the store chosen by overriding one fixture."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SUITE = """
import pytest

from consumerkit import App, FixedBackoff, Message
from consumerkit.clock import ManualClock

app = App()
app.queue("jobs", dead_letter="jobs-dlq", max_receives=2)


@app.handler("jobs", retry=FixedBackoff(60))
async def work(message: Message) -> None:
    if message.body == "poison":
        raise ValueError("poison")


{mark}
async def test_the_runner_drives_the_app_on_the_fixtures_clock(consumerkit_runner, consumerkit_clock):
    start = consumerkit_clock.now()
    async with consumerkit_runner(app) as runner:
        await runner.send("jobs", "ok", "poison")
        result = await runner.run_until_idle()
    assert result.succeeded == ["ok"]
    assert result.dead_lettered == ("poison",)
    assert consumerkit_clock.now() - start >= 60


{mark}
async def test_the_backend_reaches_the_same_engine(consumerkit_backend, consumerkit_engine):
    url = await consumerkit_backend.create_queue("direct")
    assert await consumerkit_engine.get_queue_url("direct") == url


def test_the_fixtures_share_one_manual_clock(consumerkit_clock, consumerkit_engine, consumerkit_backend):
    assert isinstance(consumerkit_clock, ManualClock)
    assert consumerkit_engine.clock is consumerkit_clock
    assert consumerkit_backend.engine is consumerkit_engine
"""

MODES = {
    "asyncio-auto": ("", ["-o", "asyncio_mode=auto", "-o", "asyncio_default_fixture_loop_scope=function"]),
    "asyncio-strict": (
        "@pytest.mark.asyncio",
        ["-o", "asyncio_mode=strict", "-o", "asyncio_default_fixture_loop_scope=function"],
    ),
    "anyio": ("@pytest.mark.anyio", ["-p", "no:asyncio"]),
}


@pytest.mark.parametrize("mode", MODES)
def test_the_fixtures_work_in_every_async_mode(pytester: pytest.Pytester, mode: str) -> None:
    mark, options = MODES[mode]
    pytester.makepyfile(test_user=SUITE.format(mark=mark))
    if mode == "anyio":
        pytester.makeconftest("import pytest\n\n@pytest.fixture\ndef anyio_backend():\n    return 'asyncio'\n")
    result = pytester.runpytest("-p", "no:cacheprovider", *options)
    result.assert_outcomes(passed=3)


def test_a_conftest_chooses_the_store(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        "import pytest\n\n"
        "@pytest.fixture\n"
        "def consumerkit_engine_url(tmp_path):\n"
        "    return f'sqlite:///{tmp_path}/queues.db'\n"
    )
    pytester.makepyfile(
        test_store="def test_sqlite(consumerkit_engine):\n    assert 'Sqlite' in repr(consumerkit_engine)\n"
    )
    pytester.runpytest("-p", "no:cacheprovider", "-p", "no:asyncio").assert_outcomes(passed=1)


def test_the_plugin_comes_from_the_entry_point_named_consumerkit(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_off="def test_off(consumerkit_clock):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:asyncio", "-p", "no:consumerkit")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'consumerkit_clock' not found*"])
