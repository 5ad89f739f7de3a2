"""Members' own calendars, connected by a secret iCal address and read for free/busy only."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import aiohttp
import recurring_ical_events
from icalendar import Calendar
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import utc_now
from bot.deliveries import FeedFailure, enqueue
from bot.i18n import N_, TranslatableError
from bot.personal import FeedStatus
from storage.models import CalendarFeed, ExternalBusy

logger = logging.getLogger(__name__)

REFRESH_EVERY = timedelta(minutes=15)
FETCH_LEASE = timedelta(minutes=2)
RETRY_FAILED_AFTER = timedelta(minutes=30)
LOOK_BACK = timedelta(days=1)
LOOK_AHEAD = timedelta(days=31)
MAX_FEED_BYTES = 20 * 1024 * 1024
MAX_AGE = re.compile(r"max-age=(\d+)")


class FeedAddressError(TranslatableError):
    """What was pasted is not a calendar address Meetbot can read."""


def check_feed_address(text: str) -> str:
    """Return a pasted calendar address ready to fetch, or raise FeedAddressError."""
    url = text.strip()
    if url.lower().startswith("webcal://"):
        url = "https://" + url[len("webcal://") :]
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise FeedAddressError(
            N_(
                "Paste the secret iCal address of your calendar "
                "(it starts with https:// or webcal://)."
            )
        )
    return url


def busy_times(data: bytes, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Return when a calendar says its owner is busy between two moments; nothing else."""
    calendar = Calendar.from_ical(data)
    periods = []
    for event in recurring_ical_events.of(calendar).between(start, end):
        if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
            continue
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        begin, finish = _moment(event.get("DTSTART")), _moment(event.get("DTEND"))
        if begin is None:
            continue
        if finish is None or finish <= begin:
            finish = begin + timedelta(days=1 if _is_day(event.get("DTSTART")) else 0, hours=1)
        periods.append((begin, finish))
    return periods


def _is_day(prop: Any) -> bool:
    value = getattr(prop, "dt", None)
    return isinstance(value, date) and not isinstance(value, datetime)


def _moment(prop: Any) -> datetime | None:
    value = getattr(prop, "dt", None)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=ZoneInfo("UTC"))
    if isinstance(value, date):
        return datetime.combine(value, time(), ZoneInfo("UTC"))
    return None


class CalendarFeeds:
    """Connect, refresh and forget members' calendar feeds."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        on_deliveries: Callable[[], None] = lambda: None,
        timeout: float = 30.0,
    ) -> None:
        self._sessions = sessions
        self._on_deliveries = on_deliveries
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def connect(self, team_id: str, user_id: str, address: str) -> None:
        """Remember a member's calendar address and fetch it right away."""
        url = check_feed_address(address)
        async with self._sessions.begin() as session:
            feed = await _feed_of(session, team_id, user_id)
            if feed is None:
                feed = CalendarFeed(team_id=team_id, user_id=user_id, url=url)
                session.add(feed)
            feed.url = url
            feed.etag = feed.last_modified = feed.last_error = None
            feed.error_reported = False
            feed.next_fetch_at = utc_now()

    async def disconnect(self, team_id: str, user_id: str) -> None:
        """Forget a member's calendar and every busy time read from it."""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(CalendarFeed).where(
                    CalendarFeed.team_id == team_id, CalendarFeed.user_id == user_id
                )
            )

    async def status(self, team_id: str, user_id: str) -> FeedStatus | None:
        """Return a member's connected calendar, if any."""
        async with self._sessions() as session:
            feed = await _feed_of(session, team_id, user_id)
            if feed is None:
                return None
            return FeedStatus(urlsplit(feed.url).hostname or "", feed.fetched_at, feed.last_error)

    async def refresh_due(self, now: datetime) -> int:
        """Fetch the feeds whose time has come; return how many were fetched."""
        async with self._sessions() as session:
            due = list(
                await session.scalars(
                    select(CalendarFeed.id)
                    .where(CalendarFeed.next_fetch_at <= now)
                    .order_by(CalendarFeed.next_fetch_at)
                    .limit(20)
                )
            )
        for feed_id in due:
            await self._refresh(feed_id, now)
        return len(due)

    async def _refresh(self, feed_id: int, now: datetime) -> None:
        async with self._sessions.begin() as session:
            # Claim the feed for a while, so processes side by side fetch it once.
            claimed = await session.execute(
                update(CalendarFeed)
                .where(CalendarFeed.id == feed_id, CalendarFeed.next_fetch_at <= now)
                .values(next_fetch_at=now + FETCH_LEASE)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return
            feed = await session.get(CalendarFeed, feed_id)
            if feed is None:
                return
            url, etag, modified = feed.url, feed.etag, feed.last_modified
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if modified:
            headers["If-Modified-Since"] = modified
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as http,
                http.get(url, headers=headers) as response,
            ):
                if response.status == 304:
                    await self._fetched(feed_id, now, None, response.headers)
                    return
                response.raise_for_status()
                data = await response.content.read(MAX_FEED_BYTES + 1)
                if len(data) > MAX_FEED_BYTES:
                    raise ValueError("the calendar is larger than 20 MB")
                periods = busy_times(data, now - LOOK_BACK, now + LOOK_AHEAD)
                await self._fetched(feed_id, now, periods, response.headers)
        except Exception as error:  # any failure of a feed is reported to its owner, once
            logger.warning("could not read calendar feed %s: %s", feed_id, error)
            await self._failed(feed_id, now, _describe(error))

    async def _fetched(
        self,
        feed_id: int,
        now: datetime,
        periods: list[tuple[datetime, datetime]] | None,
        headers: Any,
    ) -> None:
        max_age = MAX_AGE.search(str(headers.get("Cache-Control", "")))
        wait = max(REFRESH_EVERY, timedelta(seconds=int(max_age.group(1)) if max_age else 0))
        async with self._sessions.begin() as session:
            feed = await session.get(CalendarFeed, feed_id)
            if feed is None:
                return
            if periods is not None:
                await session.execute(delete(ExternalBusy).where(ExternalBusy.feed_id == feed_id))
                session.add_all(
                    ExternalBusy(
                        feed_id=feed_id,
                        team_id=feed.team_id,
                        user_id=feed.user_id,
                        start_at=start,
                        end_at=end,
                    )
                    for start, end in periods
                )
                feed.etag = headers.get("ETag")
                feed.last_modified = headers.get("Last-Modified")
            feed.fetched_at = now
            feed.next_fetch_at = now + min(wait, timedelta(hours=6))
            feed.last_error = None
            feed.error_reported = False

    async def _failed(self, feed_id: int, now: datetime, reason: str) -> None:
        async with self._sessions.begin() as session:
            feed = await session.get(CalendarFeed, feed_id)
            if feed is None:
                return
            feed.last_error = reason
            feed.next_fetch_at = now + RETRY_FAILED_AFTER
            # Only the first failure since the feed last worked is told, whoever notices it.
            first = await session.execute(
                update(CalendarFeed)
                .where(CalendarFeed.id == feed_id, CalendarFeed.error_reported.is_(False))
                .values(error_reported=True)
            )
            tell = first.rowcount == 1  # type: ignore[attr-defined]
            if tell:
                enqueue(
                    session, feed.team_id, FeedFailure(None, user_id=feed.user_id, reason=reason)
                )
        if tell:
            self._on_deliveries()


def _describe(error: Exception) -> str:
    if isinstance(error, aiohttp.ClientResponseError):
        return f"the calendar server answered {error.status} {error.message}"
    if isinstance(error, aiohttp.ClientError | TimeoutError):
        return N_("the calendar server could not be reached")
    return N_("the address did not return a calendar Meetbot can read")


async def _feed_of(session: AsyncSession, team_id: str, user_id: str) -> CalendarFeed | None:
    return await session.scalar(
        select(CalendarFeed).where(CalendarFeed.team_id == team_id, CalendarFeed.user_id == user_id)
    )
