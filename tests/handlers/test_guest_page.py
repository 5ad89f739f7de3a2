"""The guest's answer page as a browser shows it: their own time, live links, no double posts."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import aiohttp
import pytest

from bot.app import Meetbot
from tests.conftest import ORGANIZER
from tests.fakes.slack_api import FakeSlack
from tests.support.flows import in_days, send_invitations
from tests.support.mailbox import Mailbox
from tests.support.meetings import answer_link, fetch, wait_for_mails
from tests.support.signed import SlackSender

GUEST = "bob@client.example"
SCRIPT = Path(__file__).resolve().parents[2] / "handlers" / "static" / "localtime.js"


async def invite_bob(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, location: str = "Room 4"
) -> str:
    """Invite Bob and return his answer link."""
    await send_invitations(
        sender, slack, ORGANIZER, start=in_days(4, hour=14), guests=GUEST, location=location
    )
    [invitation] = await wait_for_mails(mailbox, GUEST, 1)
    return answer_link(invitation)


async def test_an_answer_is_posted_once_then_the_page_is_shown_by_a_redirect(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    link = await invite_bob(sender, slack, mailbox)
    path = link.split("127.0.0.1", 1)[1].split("/", 1)[1]

    async with (
        aiohttp.ClientSession() as session,
        session.post(link, data={"answer": "tentative"}, allow_redirects=False) as posted,
    ):
        assert posted.status == 303
        assert posted.headers["Location"] == f"/{path}?answered=tentative"

    # What a reload shows: the answer stands, and nothing is sent again.
    status, page = await fetch("GET", f"{link}?answered=tentative")
    assert status == 200 and "You answered maybe." in page
    # A confirmation the guest's answer no longer matches is not shown.
    status, page = await fetch("GET", f"{link}?answered=accepted")
    assert "You accepted" not in page and "You answered maybe." not in page


async def test_the_page_names_the_organizers_time_and_carries_the_guests_own(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    link = await invite_bob(sender, slack, mailbox)

    status, page = await fetch("GET", link)

    assert status == 200
    assert 'id="local-time"' in page and 'data-zone="Europe/Warsaw"' in page
    assert '<time datetime="20' in page and "+00:00" in page
    assert '<script src="/assets/localtime.js" defer></script>' in page
    origin = link.split("/rsvp/")[0]
    status, script = await fetch("GET", f"{origin}/assets/localtime.js")
    assert status == 200 and "resolvedOptions().timeZone" in script


async def test_a_link_in_the_place_is_clickable_and_nothing_else_is(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    link = await invite_bob(
        sender, slack, mailbox, location="Video: https://meet.example/abc?x=1&y=2 or javascript:x()"
    )

    _, page = await fetch("GET", link)

    assert (
        '<a href="https://meet.example/abc?x=1&amp;y=2" rel="noopener noreferrer nofollow"' in page
    )
    assert 'href="javascript' not in page and "javascript:x()" in page


def _run_script(zone: str, start: str, end: str, page_zone: str) -> dict[str, object]:
    """Run localtime.js in node, in a time zone, against the page's element; return the line."""
    harness = f"""
const line = {{
  hidden: true,
  attrs: {{"data-start": {json.dumps(start)}, "data-end": {json.dumps(end)},
           "data-zone": {json.dumps(page_zone)}}},
  getAttribute(name) {{ return this.attrs[name]; }},
  time: {{ textContent: "" }},
  querySelector() {{ return this.time; }},
}};
global.document = {{
  getElementById() {{ return line; }},
  documentElement: {{ lang: "en" }},
}};
require({json.dumps(str(SCRIPT))});
console.log(JSON.stringify({{hidden: line.hidden, text: line.time.textContent}}));
"""
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run(  # noqa: S603 - node running our own script
        [node, "-e", harness],
        capture_output=True,
        text=True,
        check=True,
        env={"TZ": zone, "PATH": "/usr/bin:/bin"},
    )
    shown: dict[str, object] = json.loads(result.stdout)
    return shown


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node (apt install nodejs)")
def test_a_guest_in_new_york_sees_the_time_in_new_york() -> None:
    shown = _run_script(
        "America/New_York",
        "2026-12-05T13:00:00+00:00",
        "2026-12-05T14:00:00+00:00",
        "Europe/Warsaw",
    )
    assert shown["hidden"] is False
    assert shown["text"] == "Sat, Dec 5, 08:00 AM–09:00 AM EST"


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node (apt install nodejs)")
def test_a_guest_in_the_organizers_zone_sees_no_second_line() -> None:
    shown = _run_script(
        "Europe/Warsaw", "2026-12-05T13:00:00+00:00", "2026-12-05T14:00:00+00:00", "Europe/Warsaw"
    )
    assert shown == {"hidden": True, "text": ""}
