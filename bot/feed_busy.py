"""When a calendar feed says its owner is busy, worked out in a child process with a budget.

A feed is anyone's text: three events repeating every second make millions of occurrences,
and the library that expands them does so in one go. So the expansion runs in a child
process (`python -m bot.feed_busy`) that is killed when its time is up, with its memory
capped, and stops counting past MAX_OCCURRENCES.
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
import traceback
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import recurring_ical_events
from icalendar import Calendar

from bot.child_process import child_environment, limit_this_process

MAX_OCCURRENCES = 5000
MEMORY_LIMIT = 1024 * 1024 * 1024
EXIT_TOO_MANY = 3
EXIT_NOT_A_CALENDAR = 4

Period = tuple[datetime, datetime]


class TooManyEvents(Exception):
    """A calendar has more occurrences than Meetbot reads, or takes too long to work out."""


class NotACalendar(Exception):
    """The bytes are not an iCalendar Meetbot can read."""


def busy_times(
    data: bytes, start: datetime, end: datetime, limit: int = MAX_OCCURRENCES
) -> list[Period]:
    """Return when a calendar says its owner is busy between two moments; nothing else."""
    try:
        query = recurring_ical_events.of(Calendar.from_ical(data))
    except ValueError as error:
        raise NotACalendar(str(error)) from error
    periods = []
    seen = 0
    # Series by series, occurrence by occurrence, so counting stops at the limit rather than
    # after turning every occurrence into an event.
    for series in query.series:
        for occurrence in series.between(start, end):
            seen += 1
            if seen > limit:
                raise TooManyEvents(f"more than {limit} occurrences")
            period = _busy(occurrence.as_component(False))
            if period is not None:
                periods.append(period)
    return sorted(periods)


def _busy(event: Any) -> Period | None:
    if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return None
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        return None
    begin, finish = _moment(event.get("DTSTART")), _moment(event.get("DTEND"))
    if begin is None:
        return None
    if finish is None or finish <= begin:
        finish = begin + timedelta(days=1 if _is_day(event.get("DTSTART")) else 0, hours=1)
    return begin, finish


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


async def busy_times_apart(
    data: bytes, start: datetime, end: datetime, *, seconds: float, limit: int = MAX_OCCURRENCES
) -> list[Period]:
    """Return busy_times worked out in a child process, which is killed after `seconds`."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.feed_busy",
        start.isoformat(),
        end.isoformat(),
        str(limit),
        str(math.ceil(seconds)),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_environment(),
    )
    try:
        async with asyncio.timeout(seconds):
            out, err = await child.communicate(data)
    except TimeoutError:
        raise TooManyEvents(f"not worked out within {seconds:g} s") from None
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    code = await child.wait()
    said = err.decode(errors="replace").strip()[-500:]
    if code == 0:
        return [
            (datetime.fromisoformat(begin), datetime.fromisoformat(finish))
            for begin, finish in json.loads(out)
        ]
    if code == EXIT_NOT_A_CALENDAR:
        raise NotACalendar(said)
    if code == EXIT_TOO_MANY or code < 0:
        # Killed by a signal: over its CPU time (SIGXCPU) or out of memory.
        raise TooManyEvents(f"the reader stopped ({code}) {said}".strip())
    raise RuntimeError(f"the busy-time reader failed ({code}): {said}")


def main(arguments: list[str]) -> int:
    """Read a feed on stdin, write its busy times as JSON on stdout; the exit code says why not."""
    start, end = datetime.fromisoformat(arguments[0]), datetime.fromisoformat(arguments[1])
    limit, cpu_seconds = int(arguments[2]), int(arguments[3])
    limit_this_process(cpu_seconds, MEMORY_LIMIT)
    try:
        periods = busy_times(sys.stdin.buffer.read(), start, end, limit)
    except (TooManyEvents, MemoryError, RecursionError) as error:
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_TOO_MANY
    except NotACalendar as error:
        print(error, file=sys.stderr)
        return EXIT_NOT_A_CALENDAR
    except Exception:  # anything else in a stranger's file means we cannot read it
        traceback.print_exc()
        return EXIT_NOT_A_CALENDAR
    json.dump([[begin.isoformat(), finish.isoformat()] for begin, finish in periods], sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
