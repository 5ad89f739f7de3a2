"""Members' own calendars, connected by a secret iCal address and read for free/busy only."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import utc_now
from bot.config import Settings
from bot.deliveries import FeedFailure, enqueue
from bot.feed_busy import NotACalendar, Period, TooManyEvents, busy_times_apart
from bot.feed_fetch import FeedFetcher, FeedTooLarge, FeedUnreadable, FetchLimits, for_log
from bot.i18n import N_, TranslatableError
from bot.personal import FeedStatus
from bot.sealing import SEALED_PREFIX, CannotOpen, Sealer
from storage.models import CalendarFeed, ExternalBusy

logger = logging.getLogger(__name__)

REFRESH_EVERY = timedelta(minutes=15)
FETCH_LEASE = timedelta(minutes=2)
RETRY_FAILED_AFTER = timedelta(minutes=30)
LOOK_BACK = timedelta(days=1)
LOOK_AHEAD = timedelta(days=31)
EXPAND_SECONDS = 20.0
MAX_AGE = re.compile(r"max-age=(\d+)")
# What the owner is told. One text for every way a download fails (a refused address, an
# error status, no calendar, no answer): different texts would let anyone who can paste an
# address map what answers inside the network. The details go to the log.
UNREADABLE = N_("the address did not return a calendar Meetbot can read")
TOO_BIG = N_(
    "the calendar is too big for Meetbot: it has more events in the coming month than "
    "Meetbot reads (often one repeating every minute or every second)"
)


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


class CalendarFeeds:
    """Connect, refresh and forget members' calendar feeds."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        sealer: Sealer,
        fetcher: FeedFetcher | None = None,
        on_deliveries: Callable[[], None] = lambda: None,
        expand_seconds: float = EXPAND_SECONDS,
    ) -> None:
        self._sessions = sessions
        self._sealer = sealer
        self._fetcher = fetcher or FeedFetcher()
        self._on_deliveries = on_deliveries
        self._expand_seconds = expand_seconds
        # Long enough for the slowest read, so no other process takes the feed meanwhile.
        self._lease = FETCH_LEASE + timedelta(seconds=expand_seconds)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        sealer: Sealer,
        on_deliveries: Callable[[], None] = lambda: None,
    ) -> CalendarFeeds:
        """Return the feeds service with the deployment's limits and address rules."""
        fetcher = FeedFetcher(
            FetchLimits(max_bytes=settings.feed_max_bytes),
            allow_private=settings.feeds_allow_private,
        )
        return cls(sessions, sealer, fetcher, on_deliveries, settings.feed_expand_seconds)

    async def connect(self, team_id: str, user_id: str, address: str) -> None:
        """Remember a member's calendar address and fetch it right away."""
        # Sealed: the address is a password to the member's calendar.
        url = self._sealer.seal(check_feed_address(address), _place(team_id, user_id))
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
            url = self._sealer.open(feed.url, _place(team_id, user_id))
            return FeedStatus(urlsplit(url).hostname or "", feed.fetched_at, feed.last_error)

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

    async def seal_stored(self) -> int:
        """Seal feed addresses earlier versions stored in plaintext; return how many.

        A row is rewritten only if it still holds the address read, so processes starting
        side by side may both run this.
        """
        async with self._sessions.begin() as session:
            plain = (
                await session.execute(
                    select(
                        CalendarFeed.id,
                        CalendarFeed.team_id,
                        CalendarFeed.user_id,
                        CalendarFeed.url,
                    ).where(CalendarFeed.url.not_like(f"{SEALED_PREFIX}%"))
                )
            ).all()
            for feed_id, team_id, user_id, url in plain:
                await session.execute(
                    update(CalendarFeed)
                    .where(CalendarFeed.id == feed_id, CalendarFeed.url == url)
                    .values(url=self._sealer.seal(url, _place(team_id, user_id)))
                )
        return len(plain)

    async def _refresh(self, feed_id: int, now: datetime) -> None:
        async with self._sessions.begin() as session:
            # Claim the feed for a while, so processes side by side fetch it once.
            claimed = await session.execute(
                update(CalendarFeed)
                .where(CalendarFeed.id == feed_id, CalendarFeed.next_fetch_at <= now)
                .values(next_fetch_at=now + self._lease)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return
            feed = await session.get(CalendarFeed, feed_id)
            if feed is None:
                return
            stored, place = feed.url, _place(feed.team_id, feed.user_id)
            etag, modified = feed.etag, feed.last_modified
        try:
            url = self._sealer.open(stored, place)
        except CannotOpen:
            # Altered, or moved from another member's row: never fetched, told as unreadable.
            logger.error("calendar feed %s holds an address sealed for another row", feed_id)
            await self._failed(feed_id, now, UNREADABLE)
            return
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if modified:
            headers["If-Modified-Since"] = modified
        try:
            fetched = await self._fetcher.fetch(url, headers)
            periods = (
                None  # unchanged since the version we have
                if fetched.body is None
                else await busy_times_apart(
                    fetched.body, now - LOOK_BACK, now + LOOK_AHEAD, seconds=self._expand_seconds
                )
            )
        except Exception as error:  # any failure of a feed is told to its owner, once
            await self._failed(feed_id, now, _reason(feed_id, url, error))
            return
        await self._fetched(feed_id, now, periods, fetched.headers)

    async def _fetched(
        self,
        feed_id: int,
        now: datetime,
        periods: list[Period] | None,
        headers: Mapping[str, str],
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


def _place(team_id: str, user_id: str) -> str:
    """Return what a member's feed address is sealed for."""
    return f"calendar_feeds.url:{team_id}:{user_id}"


def _reason(feed_id: int, url: str, error: Exception) -> str:
    """Log why a feed could not be read, in full; return what its owner is told."""
    where = for_log(url)  # never the path or query: the feed's secret is there
    if isinstance(error, FeedTooLarge | TooManyEvents):
        logger.warning("calendar feed %s (%s) is too big: %s", feed_id, where, error)
        return TOO_BIG
    if isinstance(error, FeedUnreadable | NotACalendar):
        logger.warning("could not read calendar feed %s (%s): %s", feed_id, where, error)
        return UNREADABLE
    logger.error("reading calendar feed %s (%s) failed", feed_id, where, exc_info=error)
    return UNREADABLE


async def _feed_of(session: AsyncSession, team_id: str, user_id: str) -> CalendarFeed | None:
    return await session.scalar(
        select(CalendarFeed).where(CalendarFeed.team_id == team_id, CalendarFeed.user_id == user_id)
    )
