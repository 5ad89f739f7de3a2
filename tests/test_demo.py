"""`meetbot demo`: a person sees what a guest gets before setting anything up."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

import aiohttp

from tests.support.mailbox import Mailbox, calendar_part
from tests.support.network import free_port
from tests.test_cli import MEETBOT, clean_environment, run_meetbot


async def read_until(stream: asyncio.StreamReader, pattern: str) -> tuple[str, re.Match[str]]:
    """Read lines until one matches; return everything read and the match."""
    seen = ""
    while True:
        line = (await asyncio.wait_for(stream.readline(), 60)).decode()
        if not line:
            raise AssertionError(f"the demo ended before printing {pattern!r}:\n{seen}")
        seen += line
        if found := re.search(pattern, line):
            return seen, found


async def test_demo_serves_a_sample_guest_page_and_writes_its_invitation_without_slack(
    mailbox: Mailbox, tmp_path: Path
) -> None:
    port = free_port()
    # No Slack at all; a mail server set for `meetbot run` must not be used by the demo.
    env = clean_environment(MEETBOT_SMTP_URL=mailbox.url, MEETBOT_PORT=str(free_port()))
    process = await asyncio.create_subprocess_exec(
        *MEETBOT,
        "demo",
        "--port",
        str(port),
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    shown = ""
    try:
        more, title = await read_until(process.stdout, r'"(?P<title>[^"]+)", as its guest')
        shown += more
        more, link = await read_until(process.stdout, r"guest's page: +(?P<url>http\S+)")
        shown += more
        more, eml = await read_until(process.stdout, r"invitation e-mail: +(?P<path>\S+\.eml)")
        shown += more
        assert link["url"].startswith(f"http://127.0.0.1:{port}/rsvp/")

        async with aiohttp.ClientSession() as session, session.get(link["url"]) as response:
            page = await response.text()
            assert response.status == 200
        invitation = Path(eml["path"])
        raw = await asyncio.to_thread(invitation.read_bytes)
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
    finally:
        process.send_signal(signal.SIGINT)
        rest, stderr = await asyncio.wait_for(process.communicate(), 30)
        shown += rest.decode()

    assert process.returncode == 0
    assert stderr.decode() == ""
    assert title["title"] in page
    assert "Accept" in page and "Decline" in page
    assert title["title"] in str(message["Subject"])
    assert parseaddr(str(message["From"]))[0] == "Olga Organizer via Meet"
    calendar = calendar_part(message)
    assert calendar.get_param("method") == "REQUEST"
    assert "METHOD:REQUEST" in calendar.get_content()
    assert link["url"] in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert mailbox.received == []
    assert not await asyncio.to_thread(invitation.exists), "the demo's folder outlived it"
    assert 'README.md, "Create the Slack app"' in shown


async def test_demo_on_a_taken_port_says_to_choose_another(tmp_path: Path) -> None:
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]

        status, stdout, stderr = await run_meetbot(
            "demo", "--port", str(port), env=clean_environment(), cwd=tmp_path
        )

    assert status == 2
    assert stderr.splitlines() == [
        f"meetbot demo: port {port} is taken by another program; choose a free one with --port"
    ]
    assert stdout == ""
