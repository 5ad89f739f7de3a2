"""Two `meetbot run` processes on one PostgreSQL send every message once."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest

from tests.conftest import ANA, ORGANIZER, SECRET_KEY, SIGNING_SECRET, TEAM_ID
from tests.fakes.slack_api import FakeSlack
from tests.support.flows import in_days, send_invitations
from tests.support.mailbox import Mailbox
from tests.support.meetings import (
    answer_link,
    calendar_of,
    dm_of,
    eventually,
    fetch,
    open_form_from,
    summary,
    texts,
    wait_for_mails,
)
from tests.support.network import free_port
from tests.support.processes import meetbot_environment, nothing_owed, start_meetbot, wait_until
from tests.support.signed import SlackSender
from tests.test_cli import clean_environment, wait_until_healthy


@pytest.fixture
def shared_database(postgres_database: str) -> str:
    """Return a fresh PostgreSQL database for the processes to share (not a SQLite file)."""
    return postgres_database


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
            MEETBOT_SECRET_KEY=SECRET_KEY,
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


async def test_behind_a_load_balancer_either_process_serves_any_step(
    shared_database: str, slack: FakeSlack, mailbox: Mailbox, tmp_path: Path
) -> None:
    first_port, second_port = free_port(), free_port()
    # Both hand out the same public address, as processes behind one balancer do.
    processes = [
        await start_meetbot(
            meetbot_environment(
                shared_database,
                slack,
                mailbox,
                port,
                MEETBOT_PUBLIC_URL=f"http://127.0.0.1:{first_port}",
            ),
            tmp_path,
            port,
            name,
        )
        for port, name in ((first_port, "first"), (second_port, "second"))
    ]
    first, second = (SlackSender(p.url, SIGNING_SECRET, slack, TEAM_ID) for p in processes)
    try:
        start = in_days(3, hour=9)
        await send_invitations(
            first, slack, ORGANIZER, start=start, members=[ANA], guests="bob@client.example"
        )
        await wait_for_mails(mailbox, "bob@client.example", 1)
        await eventually(lambda: dm_of(slack, ANA), timeout=20)

        # Ana's Accept and Bob's answer land on the second process.
        await second.click(ANA, dm_of(slack, ANA), slack.dm_channel(ANA), "answer_accepted")
        path = answer_link(mailbox.to("bob@client.example")[0]).split("/rsvp/", 1)[1]
        status, page = await fetch(
            "POST", f"{processes[1].url}/rsvp/{path}", {"answer": "tentative"}
        )
        assert status == 200 and "Design review" in page
        await eventually(
            lambda: all(n in texts(summary(slack)) for n in ("1 accepted", "1 maybe")), timeout=20
        )

        # The organizer's Edit goes to the second process, the submitted form to the first.
        form = await open_form_from(second, slack, ORGANIZER, summary(slack), "edit_meeting")
        assert (await first.submit_view(ORGANIZER, form, location="Room 7")).json() == {}
        _, update = await wait_for_mails(mailbox, "bob@client.example", 2)
        await wait_until(lambda: nothing_owed(shared_database), timeout=20)
    finally:
        statuses = [await p.terminate() for p in processes]
    assert statuses == [0, 0]
    assert str(calendar_of(update).walk("VEVENT")[0]["LOCATION"]) == "Room 7"
    assert int(calendar_of(update).walk("VEVENT")[0]["SEQUENCE"]) == 1
    assert len(mailbox.to("bob@client.example")) == 2
    assert "Room 7" in texts(dm_of(slack, ANA))
    decisions = [
        m for m in slack.messages(ORGANIZER)[1:] if "accepted" in texts(m) or "maybe" in texts(m)
    ]
    assert len(decisions) == 2
    for process in processes:
        assert "Traceback" not in process.log()
