"""What an operator reads in the log of a Meetbot that has nothing to do: nothing."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.logs import RoutineAtDebug
from tests.fakes.slack_api import FakeSlack
from tests.support.mailbox import Mailbox
from tests.support.network import free_port
from tests.support.processes import meetbot_environment, start_meetbot, wait_until

# The last line each way of reaching Slack writes when Meetbot has started.
LAST_START_LINE = {
    "http": "serving Slack at POST /slack/events",
    "socket-mode": "connected to Slack in Socket Mode",
}


@pytest.mark.parametrize("mode", LAST_START_LINE)
async def test_an_idle_meetbot_writes_nothing_after_its_start_up_lines(
    mode: str, slack: FakeSlack, mailbox: Mailbox, tmp_path: Path
) -> None:
    port = free_port()
    socket_mode = {"SLACK_APP_TOKEN": slack.app_token} if mode == "socket-mode" else {}
    # Every job runs ten times a second: an hour's worth of chatter in a few seconds.
    env = meetbot_environment(
        f"sqlite+aiosqlite:///{tmp_path / 'meetbot.db'}",
        slack,
        mailbox,
        port,
        MEETBOT_OUTBOX_INTERVAL="0.1",
        MEETBOT_REMINDER_INTERVAL="0.1",
        MEETBOT_FEED_INTERVAL="0.1",
        **socket_mode,
    )
    running = await start_meetbot(env, tmp_path, port, "idle")

    async def started() -> bool:
        return LAST_START_LINE[mode] in running.log()

    await wait_until(started)
    at_start = running.log()
    await asyncio.sleep(3)
    after_three_seconds = running.log()
    assert await running.terminate() == 0

    assert after_three_seconds == at_start
    lines = at_start.splitlines()
    assert [line.split()[2] for line in lines] == ["INFO"] * len(lines), at_start
    # The start-up lines are what the process did: migrations, where it serves and mails,
    # the Socket Mode session it opened...
    writers = {line.split()[3] for line in lines}
    assert writers <= {"alembic.runtime.migration:", "bot.app:", "slack_bolt.AsyncApp:"}, at_start
    # ...and not the scheduler's or Alembic's routine.
    assert "apscheduler" not in at_start and "Context impl" not in at_start
    assert lines[-1].endswith(LAST_START_LINE[mode])


class _Kept(logging.Handler):
    """Keep what a log writer with Meetbot's filter would write."""

    def __init__(self) -> None:
        super().__init__()
        self.addFilter(RoutineAtDebug())
        self.written: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.written.append(f"{record.levelname} {record.getMessage()}")


async def test_the_scheduler_speaks_up_only_when_a_job_fails_or_runs_late() -> None:
    kept = _Kept()
    scheduler_logs = logging.getLogger("apscheduler")
    scheduler_logs.addHandler(kept)
    level = scheduler_logs.level
    scheduler_logs.setLevel(logging.INFO)
    scheduler = AsyncIOScheduler(timezone=UTC)

    async def quick() -> None:
        pass

    async def slow() -> None:
        await asyncio.sleep(0.3)

    async def broken() -> None:
        raise RuntimeError("the mail server is on fire")

    now = datetime.now(UTC)
    try:
        scheduler.add_job(quick, "interval", seconds=0.05, next_run_time=now)
        # Busy when its next turn comes, as the outbox is when a change wakes it.
        scheduler.add_job(slow, "interval", seconds=0.05, max_instances=1, next_run_time=now)
        scheduler.add_job(broken, "date", run_date=now)
        scheduler.add_job(quick, "date", run_date=now - timedelta(seconds=10), misfire_grace_time=1)
        scheduler.start()
        await asyncio.sleep(0.6)
        scheduler.pause()
        await asyncio.sleep(0.5)  # the slow job ends, as Meetbot lets running work end
        scheduler.shutdown(wait=False)
    finally:
        scheduler_logs.removeHandler(kept)
        scheduler_logs.setLevel(level)

    assert len(kept.written) == 2, kept.written
    assert any(
        line.startswith("ERROR Job") and "raised an exception" in line for line in kept.written
    )
    assert any(line.startswith("WARNING Run time of job") for line in kept.written)
