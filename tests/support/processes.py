"""Real `meetbot run` processes for tests about crashes, signals and several processes."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from storage.models import Attendee, OutboxEntry
from tests.conftest import SECRET_KEY, SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack
from tests.support.mailbox import Mailbox
from tests.test_cli import clean_environment, wait_until_healthy

CHECKOUT = Path(__file__).resolve().parents[2]


def meetbot_environment(
    database_url: str, slack: FakeSlack, mailbox: Mailbox, port: int, **extra: str
) -> dict[str, str]:
    """Return the environment of a process serving HTTP on `port` against the test's servers."""
    settings = {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "MEETBOT_SECRET_KEY": SECRET_KEY,
        "SLACK_API_URL": slack.api_url,
        "MEETBOT_DATABASE_URL": database_url,
        "MEETBOT_SMTP_URL": mailbox.url,
        "MEETBOT_MAIL_FROM": "invites@meetbot.example",
        "MEETBOT_PORT": str(port),
        "MEETBOT_HOST": "127.0.0.1",
        "MEETBOT_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "MEETBOT_OUTBOX_INTERVAL": "0.1",
    }
    return clean_environment(**(settings | extra))


@dataclass
class RunningMeetbot:
    """One `meetbot run` process; its log goes to a file so a chatty run never blocks."""

    process: asyncio.subprocess.Process
    log_path: Path
    port: int
    exit_seconds: float | None = field(default=None)

    @property
    def url(self) -> str:
        """Return the address the process serves on."""
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        """Return what the process has logged so far."""
        return self.log_path.read_text(errors="replace")

    async def kill(self) -> None:
        """End the process at once, as a crash or an out-of-memory kill would (SIGKILL)."""
        self.process.kill()
        await self.process.wait()

    async def terminate(self, timeout: float = 30.0) -> int:  # noqa: ASYNC109
        """Ask the process to stop (SIGTERM), wait for it, and return its exit status."""
        loop = asyncio.get_running_loop()
        asked = loop.time()
        self.process.send_signal(signal.SIGTERM)
        status = await asyncio.wait_for(self.process.wait(), timeout)
        self.exit_seconds = loop.time() - asked
        return status


async def start_meetbot(env: dict[str, str], cwd: Path, port: int, name: str) -> RunningMeetbot:
    """Start `meetbot run` and wait until it answers /healthz."""
    log_path = cwd / f"{name}.log"
    # This checkout's code, whichever checkout `pip install -e` last pointed at.
    env = {**env, "PYTHONPATH": str(CHECKOUT)}
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", env=env, cwd=cwd, stderr=log
        )
    running = RunningMeetbot(process, log_path, port)
    try:
        await wait_until_healthy(running.url, process)
    except AssertionError as error:
        if process.returncode is None:
            await running.kill()
        raise AssertionError(f"{error}; its log:\n{running.log()}") from None
    return running


@dataclass(frozen=True)
class OwedMessage:
    """One outbox row as the database holds it, with whom it is for."""

    kind: str
    state: str
    email: str | None
    slack_user_id: str | None


async def owed_messages(database_url: str, kind: str | None = None) -> list[OwedMessage]:
    """Read the outbox straight from the database, as an operator would."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            query = select(
                OutboxEntry.kind, OutboxEntry.state, Attendee.email, Attendee.slack_user_id
            ).outerjoin(Attendee, Attendee.id == OutboxEntry.attendee_id)
            if kind is not None:
                query = query.where(OutboxEntry.kind == kind)
            rows = await connection.execute(query.order_by(OutboxEntry.id))
            return [OwedMessage(*row) for row in rows]
    finally:
        await engine.dispose()


async def nothing_owed(database_url: str) -> bool:
    """Tell whether the outbox owes nothing more (each row sent, superseded or given up)."""
    return all(row.state != "pending" for row in await owed_messages(database_url))


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Wait until `await check()` is true, failing after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the condition did not come true within {timeout} s")
        await asyncio.sleep(0.05)
