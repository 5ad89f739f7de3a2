"""Two `meetbot run` processes on one PostgreSQL send every message once."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import ANA, ORGANIZER, POSTGRES_URL, SIGNING_SECRET, TEAM_ID
from tests.fakes.slack_api import FakeSlack
from tests.support.flows import send_invitations
from tests.support.mailbox import Mailbox
from tests.support.meetings import answer_link, eventually, fetch
from tests.support.network import free_port
from tests.support.signed import SlackSender
from tests.test_cli import clean_environment, wait_until_healthy

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="MEETBOT_TEST_POSTGRES_URL is not set")


@pytest.fixture
async def shared_database(database_url: str) -> AsyncIterator[str]:
    """Yield a fresh PostgreSQL database for the processes to share."""
    if not database_url.startswith("postgresql"):
        pytest.skip("several processes share PostgreSQL, not a SQLite file")
    yield database_url


async def start_process(env: dict[str, str], cwd: Path, port: int) -> asyncio.subprocess.Process:
    """Start `meetbot run` and wait until it answers."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", env=env, cwd=cwd, stderr=asyncio.subprocess.PIPE
    )
    await wait_until_healthy(f"http://127.0.0.1:{port}", process)
    return process


async def test_two_processes_send_each_invitation_once(
    shared_database: str, slack: FakeSlack, mailbox: Mailbox, tmp_path: Path
) -> None:
    ports = [free_port(), free_port()]
    processes = []
    for port in ports:
        env = clean_environment(
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=slack.api_url,
            MEETBOT_DATABASE_URL=shared_database,
            MEETBOT_SMTP_URL=mailbox.url,
            MEETBOT_MAIL_FROM="invites@meetbot.example",
            MEETBOT_PORT=str(port),
            MEETBOT_HOST="127.0.0.1",
            MEETBOT_PUBLIC_URL=f"http://127.0.0.1:{port}",
            MEETBOT_OUTBOX_INTERVAL="0.05",
            MEETBOT_LOG_FORMAT="json",
        )
        processes.append(await start_process(env, tmp_path, port))
    try:
        sender = SlackSender(f"http://127.0.0.1:{ports[0]}", SIGNING_SECRET, slack, TEAM_ID)
        guests = "\n".join(f"guest{n}@client.example" for n in range(60))
        await send_invitations(sender, slack, ORGANIZER, members=[ANA], guests=guests)

        await mailbox.wait_for(60, timeout=60)
        await eventually(lambda: len(slack.messages(slack.dm_channel(ANA))) >= 1, timeout=20)
        await asyncio.sleep(1.5)  # time for any second copy to show up
        # A guest link works on either process: the key behind it lives in the database.
        link = answer_link(mailbox.received[0])
        path = link.split("/rsvp/", 1)[1]
        for port in ports:
            status, page = await fetch("GET", f"http://127.0.0.1:{port}/rsvp/{path}")
            assert status == 200 and "Design review" in page
    finally:
        logs = []
        for process in processes:
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 30)
            logs.append(stderr.decode())
    recipients = [r for m in mailbox.received for r in m.recipients]
    assert sorted(recipients) == sorted(f"guest{n}@client.example" for n in range(60))
    assert len(slack.messages(slack.dm_channel(ANA))) == 1
    invitations_to_ana = [
        c for c in slack.calls_to("chat.postMessage") if c.args["channel"] == slack.dm_channel(ANA)
    ]
    assert len(invitations_to_ana) == 1
    assert all(p.returncode == 0 for p in processes)
    for log in logs:
        lines = [line for line in log.splitlines() if line.strip()]
        assert lines and all(json.loads(line)["level"] for line in lines)
