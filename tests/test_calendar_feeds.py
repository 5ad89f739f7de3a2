"""Members connect their own calendar; its busy times (never its details) show in the form."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from bot.app import Meetbot
from bot.feeds import busy_times
from tests.conftest import ANA, ORGANIZER, TEAM_ID
from tests.fakes.slack_api import FakeSlack
from tests.support.flows import open_create_form
from tests.support.meetings import eventually, texts
from tests.support.network import free_port
from tests.support.signed import SlackSender, find_button


def weekly_calendar(first: datetime) -> str:
    """Return an iCal feed: a weekly private appointment, a free-time hold, a cancelled event."""
    stamp = first.strftime("%Y%m%dT%H%M%SZ")
    end = (first + timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
    later = (first + timedelta(hours=3)).strftime("%Y%m%dT%H%M%SZ")
    later_end = (first + timedelta(hours=4)).strftime("%Y%m%dT%H%M%SZ")
    return "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Google Inc//Google Calendar 70.9054//EN",
            "BEGIN:VEVENT",
            "UID:dentist@google.com",
            f"DTSTART:{stamp}",
            f"DTEND:{end}",
            "RRULE:FREQ=WEEKLY;COUNT=10",
            "SUMMARY:Dentist - private",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "UID:focus@google.com",
            f"DTSTART:{later}",
            f"DTEND:{later_end}",
            "TRANSP:TRANSPARENT",
            "SUMMARY:Maybe focus time",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "UID:gone@google.com",
            f"DTSTART:{later}",
            f"DTEND:{later_end}",
            "STATUS:CANCELLED",
            "SUMMARY:Called off",
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )


@dataclass
class CalendarServer:
    """A calendar provider's feed endpoint, honouring ETag as Google and Outlook do."""

    body: str
    port: int = field(default_factory=free_port)
    failing: bool = False
    requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Return the secret address a member would paste."""
        return f"http://127.0.0.1:{self.port}/calendar/ical/ana%40acme.example/private-abc123/basic.ics"

    async def handle(self, request: web.Request) -> web.Response:
        """Serve the feed, or 304 when the client already has this version."""
        self.requests.append(dict(request.headers))
        if self.failing:
            return web.Response(status=500, text="Internal error")
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304)
        return web.Response(
            text=self.body,
            content_type="text/calendar",
            headers={"ETag": '"v1"', "Cache-Control": "max-age=300"},
        )


@pytest.fixture
async def calendar_server() -> AsyncIterator[CalendarServer]:
    """Serve Ana's calendar feed on loopback."""
    first = (datetime.now(UTC) + timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    server = CalendarServer(weekly_calendar(first))
    app = web.Application()
    app.router.add_get("/{path:.*}", server.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", server.port).start()
    yield server
    await runner.cleanup()


async def wait_until_read(meetbot: Meetbot, *, failed: bool = False) -> None:
    """Wait until Meetbot has finished reading Ana's calendar (or failing to)."""
    assert meetbot.services is not None
    for _ in range(100):
        status = await meetbot.services.feeds.status(TEAM_ID, ANA)
        if status is not None and (status.last_error if failed else status.fetched_at):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the calendar was not read")


def homes(slack: FakeSlack, user_id: str) -> list[dict[str, Any]]:
    """Return the Home tabs published for a person."""
    return [c.args["view"] for c in slack.calls_to("views.publish") if c.args["user_id"] == user_id]


async def connect(sender: SlackSender, slack: FakeSlack, address: str) -> dict[str, Any]:
    """Have Ana connect a calendar from her Home tab; return the app's answer to the form."""
    await sender.open_home(ANA)
    await eventually(lambda: bool(homes(slack, ANA)))
    await sender.click_on_home(ANA, homes(slack, ANA)[-1], "connect_calendar")
    opened = await slack.wait_for(
        "views.open", lambda c: c.args["view"]["callback_id"] == "calendar_feed"
    )
    response = await sender.submit_view(ANA, opened.args["view"], feed_url=address)
    return response.json()


def test_busy_times_expand_repeats_and_skip_free_and_cancelled_events() -> None:
    first = datetime(2026, 12, 1, 10, tzinfo=UTC)
    periods = busy_times(
        weekly_calendar(first).encode(), first - timedelta(days=1), first + timedelta(days=15)
    )

    assert periods == [
        (first + timedelta(weeks=n), first + timedelta(weeks=n, hours=1)) for n in range(3)
    ]


async def test_a_connected_calendar_makes_its_owner_busy_without_revealing_what(
    sender: SlackSender, slack: FakeSlack, meetbot: Meetbot, calendar_server: CalendarServer
) -> None:
    assert await connect(sender, slack, calendar_server.url) == {}
    await eventually(lambda: "connected (127.0.0.1)" in texts(homes(slack, ANA)[-1]))
    await wait_until_read(meetbot)

    first = (datetime.now(UTC) + timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    await open_create_form(sender, slack, ORGANIZER)
    form = [v for v in slack.opened_views() if v["view"]["type"] == "modal"][-1]
    await sender.change_in_view(
        ORGANIZER,
        form,
        "members",
        start=int((first + timedelta(weeks=1)).timestamp()),
        end=int((first + timedelta(weeks=1, minutes=30)).timestamp()),
        members=[ANA],
    )
    update = await slack.wait_for("views.update")
    line = next(b for b in update.args["view"]["blocks"] if b.get("block_id") == "availability")
    assert line["text"]["text"].startswith(f":red_circle: <@{ANA}> is busy")
    assert "Dentist" not in str(update.args["view"])


async def test_the_feed_is_fetched_again_only_when_changed(
    sender: SlackSender, slack: FakeSlack, meetbot: Meetbot, calendar_server: CalendarServer
) -> None:
    await connect(sender, slack, calendar_server.url)
    await wait_until_read(meetbot)
    assert meetbot.services is not None
    feeds = meetbot.services.feeds
    assert len(calendar_server.requests) == 1

    await feeds.refresh_due(datetime.now(UTC) + timedelta(minutes=6))
    assert (
        len(calendar_server.requests) == 1
    )  # the feed said max-age=300 and 15 minutes have not passed
    await feeds.refresh_due(datetime.now(UTC) + timedelta(minutes=16))

    assert calendar_server.requests[-1].get("If-None-Match") == '"v1"'


async def test_a_failing_feed_is_reported_to_its_owner_once(
    sender: SlackSender, slack: FakeSlack, meetbot: Meetbot, calendar_server: CalendarServer
) -> None:
    calendar_server.failing = True
    await connect(sender, slack, calendar_server.url)
    await wait_until_read(meetbot, failed=True)
    assert meetbot.services is not None
    assert len(calendar_server.requests) == 1
    for minutes in (31, 62, 93):
        await meetbot.services.feeds.refresh_due(datetime.now(UTC) + timedelta(minutes=minutes))
    assert len(calendar_server.requests) == 4

    await meetbot.services.outbox.drain()
    failures = [
        m
        for m in slack.messages(slack.dm_channel(ANA))
        if "could not read your connected calendar" in m["text"]
    ]
    assert len(failures) == 1
    assert "500" in failures[0]["text"]


async def test_an_address_that_is_no_calendar_link_is_refused_in_the_form(
    sender: SlackSender, slack: FakeSlack, meetbot: Meetbot
) -> None:
    answer = await connect(sender, slack, "my calendar please")

    assert answer["response_action"] == "errors"
    assert "secret iCal address" in answer["errors"]["feed_url"]
    assert find_button(homes(slack, ANA)[-1], "connect_calendar")
