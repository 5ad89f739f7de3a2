"""Guest links that outsiders hold: what a removed guest still sees, who may flood, what leaks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.app import Meetbot
from tests.conftest import ORGANIZER, SIGNING_SECRET, TEAM_ID, make_settings
from tests.fakes.slack_api import FakeSlack
from tests.support.flows import send_invitations
from tests.support.mailbox import Mailbox
from tests.support.meetings import (
    answer_link,
    open_form_from,
    summary,
    wait_for_mails,
    wait_for_summary,
)
from tests.support.signed import SlackSender

BOB = "bob@client.example"
IVY = "ivy@partner.example"


async def request(
    method: str, url: str, data: dict[str, str] | None = None, **headers: str
) -> tuple[int, str, Any]:
    """Load a page as a browser behind the given headers would; return status, body, headers."""
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, data=data, headers=headers) as response,
    ):
        return response.status, await response.text(), response.headers


async def test_a_removed_guest_sees_nothing_of_what_the_meeting_became(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await send_invitations(sender, slack, ORGANIZER, guests=f"{BOB}, {IVY}", location="Room 4")
    await wait_for_summary(slack)
    ivy_link = answer_link((await wait_for_mails(mailbox, IVY, 1))[0])

    form = await open_form_from(sender, slack, ORGANIZER, summary(slack), "edit_meeting")
    await sender.submit_view(ORGANIZER, form, guests=BOB)
    await wait_for_mails(mailbox, IVY, 2)
    form = await open_form_from(sender, slack, ORGANIZER, summary(slack), "edit_meeting")
    await sender.submit_view(ORGANIZER, form, title="Secret merger talk", location="Board room")
    await wait_for_mails(mailbox, BOB, 2)

    status, page, _ = await request("GET", ivy_link)
    assert status == 200 and "no longer invited" in page
    for later in ("Secret merger talk", "Board room", "Design review", "Room 4", "<form"):
        assert later not in page


async def test_guest_pages_are_private_unframed_and_name_no_server_version(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await send_invitations(sender, slack, ORGANIZER, guests=BOB)
    link = answer_link((await wait_for_mails(mailbox, BOB, 1))[0])

    for url in (link, f"{link}/invite.ics", f"{meetbot.settings.base_url}/rsvp/not-a-link"):
        _, _, headers = await request("GET", url)
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["Server"] == "Meetbot"


@pytest.fixture
async def proxied_meetbot(
    database_url: str, slack: FakeSlack, mailbox: Mailbox, app_port: int
) -> AsyncIterator[Meetbot]:
    """Run the app behind a reverse proxy on this machine, with a low per-address limit."""
    app = Meetbot(
        make_settings(
            database_url,
            slack,
            mailbox,
            app_port,
            MEETBOT_TRUSTED_PROXIES="127.0.0.1, ::1",
            MEETBOT_RSVP_RATE_PER_ADDRESS=5,
        )
    )
    await app.start()
    yield app
    await app.stop()


async def test_someone_guessing_links_behind_the_proxy_does_not_lock_out_a_real_guest(
    slack: FakeSlack, mailbox: Mailbox, proxied_meetbot: Meetbot
) -> None:
    sender = SlackSender(proxied_meetbot.settings.base_url, SIGNING_SECRET, slack, TEAM_ID)
    await send_invitations(sender, slack, ORGANIZER, guests=BOB)
    link = answer_link((await wait_for_mails(mailbox, BOB, 1))[0])
    base = proxied_meetbot.settings.base_url
    attacker = {"X-Forwarded-For": "203.0.113.9"}

    guesses = [
        (await request("POST", f"{base}/rsvp/guess{n}", {"answer": "declined"}, **attacker))[0]
        for n in range(8)
    ]
    assert guesses[:5] == [404] * 5 and set(guesses[5:]) == {429}

    # Bob comes through the same proxy, from his own address: his link still works.
    status, page, _ = await request(
        "POST", link, {"answer": "accepted"}, **{"X-Forwarded-For": "198.51.100.7"}
    )
    assert status == 200 and "You accepted" in page
    # The attacker cannot borrow Bob's address by writing it further left in the header.
    status, _, _ = await request(
        "POST",
        f"{base}/rsvp/guess-again",
        {"answer": "declined"},
        **{"X-Forwarded-For": "198.51.100.7, 203.0.113.9"},
    )
    assert status == 429


async def test_a_real_guest_is_not_locked_out_by_guesses_from_the_same_address(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await send_invitations(sender, slack, ORGANIZER, guests=BOB)
    link = answer_link((await wait_for_mails(mailbox, BOB, 1))[0])
    base = meetbot.settings.base_url
    limit = meetbot.settings.rsvp_rate_per_address

    async with aiohttp.ClientSession() as session:
        for n in range(limit + 5):
            async with session.post(f"{base}/rsvp/guess{n}", data={"answer": "declined"}):
                pass
    # Forwarded headers from a peer that is not a trusted proxy are ignored.
    status, _, _ = await request(
        "POST", f"{base}/rsvp/guess", {"answer": "declined"}, **{"X-Forwarded-For": "192.0.2.1"}
    )
    assert status == 429

    status, page, _ = await request("POST", link, {"answer": "tentative"})
    assert status == 200 and "You answered maybe." in page


@pytest.fixture
async def many_workspaces_meetbot(
    database_url: str, slack: FakeSlack, mailbox: Mailbox, app_port: int
) -> AsyncIterator[Meetbot]:
    """Run the app as it serves many workspaces, with a metrics token."""
    app = Meetbot(
        make_settings(
            database_url,
            slack,
            mailbox,
            app_port,
            SLACK_BOT_TOKEN=None,
            SLACK_CLIENT_ID="1234.5678",
            SLACK_CLIENT_SECRET="a-client-secret-of-some-length",
            MEETBOT_SECRET_KEY="k" * 40,
            MEETBOT_METRICS_TOKEN="metrics-token-0123456789",
        )
    )
    await app.start()
    yield app
    await app.stop()


async def test_shared_by_many_workspaces_metrics_need_a_token_and_guests_have_a_cap(
    many_workspaces_meetbot: Meetbot,
) -> None:
    metrics = f"{many_workspaces_meetbot.settings.base_url}/metrics"

    assert (await request("GET", metrics))[0] == 401
    wrong = {"Authorization": "Bearer nope"}
    assert (await request("GET", metrics, **wrong))[0] == 401
    status, body, _ = await request(
        "GET", metrics, **{"Authorization": "Bearer metrics-token-0123456789"}
    )
    assert status == 200 and "meetbot_" in body
    assert many_workspaces_meetbot.settings.guest_cap == 500
