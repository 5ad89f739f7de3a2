"""A feed's repeating events are worked out apart from the bot, within a count and a time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.feed_busy import NotACalendar, TooManyEvents, busy_times, busy_times_apart
from tests.test_calendar_feeds import repeating, weekly_calendar

FIRST = datetime(2026, 12, 1, 10, tzinfo=UTC)


async def test_the_child_process_finds_what_the_bot_itself_would() -> None:
    feed = weekly_calendar(FIRST).encode()
    start, end = FIRST - timedelta(days=1), FIRST + timedelta(days=15)

    assert await busy_times_apart(feed, start, end, seconds=10) == busy_times(feed, start, end)


async def test_a_feed_with_more_occurrences_than_the_cap_is_refused() -> None:
    feed = weekly_calendar(FIRST).encode()
    start, end = FIRST - timedelta(days=1), FIRST + timedelta(days=60)

    with pytest.raises(TooManyEvents, match="more than 5 occurrences"):
        await busy_times_apart(feed, start, end, seconds=10, limit=5)
    with pytest.raises(TooManyEvents, match="more than 5000 occurrences"):
        now = datetime.now(UTC)
        await busy_times_apart(
            repeating("MINUTELY").encode(), now, now + timedelta(days=31), seconds=10
        )


async def test_a_feed_that_takes_too_long_is_stopped_while_the_bot_keeps_answering() -> None:
    now = datetime.now(UTC)
    loop = asyncio.get_running_loop()
    late: list[float] = []
    stop = asyncio.Event()

    async def tick() -> None:
        while not stop.is_set():
            due = loop.time() + 0.05
            await asyncio.sleep(0.05)
            late.append(loop.time() - due)

    ticker = asyncio.create_task(tick())
    started = loop.time()
    with pytest.raises(TooManyEvents, match=r"not worked out within 1\.5 s"):
        await busy_times_apart(
            repeating("SECONDLY").encode(), now, now + timedelta(days=31), seconds=1.5
        )
    took = loop.time() - started
    stop.set()
    await ticker

    assert 1.5 <= took < 2.5
    assert len(late) > 20 and max(late) < 0.2


async def test_bytes_that_are_no_calendar_are_said_to_be_so() -> None:
    with pytest.raises(NotACalendar):
        await busy_times_apart(
            b"<html>Sign in</html>", FIRST, FIRST + timedelta(days=1), seconds=10
        )
