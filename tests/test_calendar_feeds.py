"""Members connect their own calendar; its busy times (never its details) show in the form.

These tests run Meetbot as a deployment with its calendar server on the premises
(MEETBOT_FEEDS_ALLOW_PRIVATE), so it reads feeds from servers on loopback; what Meetbot
refuses without that setting is in test_feed_fetch.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.app import Meetbot
from bot.feed_busy import busy_times
from tests.conftest import ANA, ORGANIZER, TEAM_ID, make_settings
from tests.fakes.slack_api import FakeSlack
from tests.handlers.test_home import home_of
from tests.support.flows import open_create_form
from tests.support.mailbox import Mailbox
from tests.support.meetings import eventually, texts
from tests.support.network import free_port
from tests.support.signed import SlackSender, find_button

NEUTRAL = "the address did not return a calendar Meetbot can read"
TOO_BIG = "the calendar is too big for Meetbot"
# How long the app gives a feed's repeating events here: long enough for a 3 MB feed, short
# enough that a feed that would take minutes is stopped while the test watches.
EXPAND_SECONDS = 4.0


@pytest.fixture
async def meetbot(
    database_url: str, slack: FakeSlack, mailbox: Mailbox, app_port: int
) -> AsyncIterator[Meetbot]:
    """Run the real app, allowed to read calendars on the premises (here: on loopback)."""
    app = Meetbot(
        make_settings(
            database_url,
            slack,
            mailbox,
            app_port,
            MEETBOT_FEEDS_ALLOW_PRIVATE=True,
            MEETBOT_FEED_EXPAND_SECONDS=EXPAND_SECONDS,
        )
    )
    await app.start()
    yield app
    await app.stop()


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


def events(*lines: str) -> str:
    """Return an iCal feed holding the given VEVENT lines."""
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", *lines, "END:VCALENDAR", ""])


def repeating(freq: str, count: int = 3) -> str:
    """Return the attacker's feed: a few events repeating every second or minute, for ever."""
    start = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
    return events(
        *[
            line
            for n in range(count)
            for line in (
                "BEGIN:VEVENT",
                f"UID:{n}",
                f"DTSTART:{start}",
                f"RRULE:FREQ={freq}",
                "END:VEVENT",
            )
        ]
    )


def three_megabytes(last: datetime) -> str:
    """Return a 3 MB feed of long-past events whose very last event is at `last`."""
    past = []
    for n in range(100):
        when = datetime(2019, 1, 7, 9, tzinfo=UTC) - timedelta(weeks=n)
        past += [
            "BEGIN:VEVENT",
            f"UID:past-{n}",
            f"DTSTART:{when:%Y%m%dT%H%M%SZ}",
            f"DTEND:{when + timedelta(hours=1):%Y%m%dT%H%M%SZ}",
            "DESCRIPTION:" + "minutes of a long meeting " * 1150,
            "END:VEVENT",
        ]
    end = last + timedelta(hours=1)
    return events(
        *past,
        "BEGIN:VEVENT",
        "UID:last",
        f"DTSTART:{last:%Y%m%dT%H%M%SZ}",
        f"DTEND:{end:%Y%m%dT%H%M%SZ}",
        "END:VEVENT",
    )


@dataclass
class CalendarServer:
    """A calendar provider's feed endpoint, honouring ETag as Google and Outlook do."""

    body: str
    port: int = field(default_factory=free_port)
    failing: bool = False
    status: int = 200
    chunked: bool = False
    requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Return the secret address a member would paste."""
        return f"http://127.0.0.1:{self.port}/calendar/ical/ana%40acme.example/private-abc123/basic.ics"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve the feed, or 304 when the client already has this version."""
        self.requests.append(dict(request.headers))
        if self.failing:
            return web.Response(status=500, text="Internal error")
        if self.status != 200:
            return web.Response(status=self.status, text="Not here")
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304)
        headers = {"ETag": '"v1"', "Cache-Control": "max-age=300"}
        if not self.chunked:
            return web.Response(text=self.body, content_type="text/calendar", headers=headers)
        response = web.StreamResponse(headers={**headers, "Content-Type": "text/calendar"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        body = self.body.encode()
        for start in range(0, len(body), 64 * 1024):
            await response.write(body[start : start + 64 * 1024])
            await asyncio.sleep(0)  # each piece its own network chunk
        await response.write_eof()
        return response


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


async def wait_until_read(meetbot: Meetbot, *, failed: bool = False, within: float = 10) -> None:
    """Wait until Meetbot has finished reading Ana's calendar (or failing to)."""
    assert meetbot.services is not None
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        status = await meetbot.services.feeds.status(TEAM_ID, ANA)
        if status is not None and (status.last_error if failed else status.fetched_at):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the calendar was not read")


def feed_failures(slack: FakeSlack) -> list[str]:
    """Return the DMs telling Ana her calendar could not be read."""
    return [
        m["text"]
        for m in slack.messages(slack.dm_channel(ANA))
        if "could not read your connected calendar" in m["text"]
    ]


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
    assert feed_failures(slack) == [f"Meetbot could not read your connected calendar: {NEUTRAL}"]


async def test_an_address_that_is_no_calendar_link_is_refused_in_the_form(
    sender: SlackSender, slack: FakeSlack, meetbot: Meetbot
) -> None:
    answer = await connect(sender, slack, "my calendar please")

    assert answer["response_action"] == "errors"
    assert "secret iCal address" in answer["errors"]["feed_url"]
    assert find_button(homes(slack, ANA)[-1], "connect_calendar")


async def test_every_failure_to_download_reads_the_same_to_the_owner(
    sender: SlackSender, slack: FakeSlack, meetbot: Meetbot, calendar_server: CalendarServer
) -> None:
    calendar_server.status = 404
    not_a_calendar = CalendarServer("<html>Sign in to see this calendar</html>")
    app = web.Application()
    app.router.add_get("/{path:.*}", not_a_calendar.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", not_a_calendar.port).start()
    nobody_listens = f"http://127.0.0.1:{free_port()}/calendar.ics"
    metadata = "http://169.254.169.254/latest/meta-data/"  # refused even on the premises
    shown = []
    try:
        for address in (calendar_server.url, not_a_calendar.url, nobody_listens, metadata):
            await connect(sender, slack, address)
            await wait_until_read(meetbot, failed=True)
            home = texts(await home_of(sender, slack, ANA))
            shown.append(home.split("*Your calendar* — ")[1].split(".'")[0])
    finally:
        await runner.cleanup()
    assert meetbot.services is not None
    await meetbot.services.outbox.drain()

    assert shown == [f"connected (127.0.0.1), :warning: {NEUTRAL}"] * 3 + [
        f"connected (169.254.169.254), :warning: {NEUTRAL}"
    ]
    assert (
        feed_failures(slack) == [f"Meetbot could not read your connected calendar: {NEUTRAL}"] * 4
    )


async def test_the_log_says_why_without_the_feeds_secret(
    sender: SlackSender,
    slack: FakeSlack,
    meetbot: Meetbot,
    calendar_server: CalendarServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    calendar_server.status = 404
    caplog.set_level(logging.WARNING, logger="bot.feeds")

    await connect(sender, slack, calendar_server.url + "?token=s3cret")
    await wait_until_read(meetbot, failed=True)

    said = [r.getMessage() for r in caplog.records if r.name == "bot.feeds"]
    assert said and f"127.0.0.1:{calendar_server.port}/… answered 404" in said[0]
    assert "private-abc123" not in caplog.text and "s3cret" not in caplog.text


async def test_a_3_mb_feed_sent_in_chunks_is_read_whole(
    sender: SlackSender, slack: FakeSlack, meetbot: Meetbot, calendar_server: CalendarServer
) -> None:
    last = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    calendar_server.body = three_megabytes(last)
    calendar_server.chunked = True
    assert len(calendar_server.body) > 3_000_000

    await connect(sender, slack, calendar_server.url)
    await wait_until_read(meetbot)

    assert meetbot.services is not None
    busy = await meetbot.services.availability.busy(
        TEAM_ID, [ANA], last - timedelta(days=1), last + timedelta(days=1), viewer=ORGANIZER
    )
    assert [(b.start, b.end) for b in busy[ANA]] == [(last, last + timedelta(hours=1))]


async def test_a_feed_repeating_every_minute_is_reported_once_in_plain_words(
    sender: SlackSender, slack: FakeSlack, meetbot: Meetbot, calendar_server: CalendarServer
) -> None:
    calendar_server.body = repeating("MINUTELY")  # 3 x 44,000 occurrences in the month

    await connect(sender, slack, calendar_server.url)
    await wait_until_read(meetbot, failed=True)
    assert meetbot.services is not None
    for minutes in (31, 62):
        await meetbot.services.feeds.refresh_due(datetime.now(UTC) + timedelta(minutes=minutes))
    assert len(calendar_server.requests) == 3
    await meetbot.services.outbox.drain()

    failures = feed_failures(slack)
    assert len(failures) == 1
    assert TOO_BIG in failures[0] and "repeating every minute or every second" in failures[0]
    status = await meetbot.services.feeds.status(TEAM_ID, ANA)
    assert status is not None and status.last_error is not None
    assert status.last_error.startswith(TOO_BIG)


async def test_healthz_answers_within_a_second_while_a_feed_repeating_every_second_is_read(
    sender: SlackSender, slack: FakeSlack, meetbot: Meetbot, calendar_server: CalendarServer
) -> None:
    calendar_server.body = repeating("SECONDLY")  # millions of occurrences; minutes to expand
    assert meetbot.services is not None
    feeds = meetbot.services.feeds
    waits = []

    await connect(sender, slack, calendar_server.url)
    async with aiohttp.ClientSession() as http:
        while True:
            started = asyncio.get_running_loop().time()
            async with http.get(f"{meetbot.settings.base_url}/healthz") as answer:
                assert answer.status == 200
            waits.append(asyncio.get_running_loop().time() - started)
            status = await feeds.status(TEAM_ID, ANA)
            if status is not None and status.last_error:
                break
            assert len(waits) < 200, "the feed was never given up"
            await asyncio.sleep(0.1)

    assert max(waits) < 1.0
    assert len(waits) >= 10  # /healthz was asked all the while the feed was being worked out
    assert status.last_error.startswith(TOO_BIG)
