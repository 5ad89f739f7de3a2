#!/usr/bin/env python
"""How fast is Meetbot's free/busy lookup, next to one raw SQL query per source?

    python bench/availability.py [--events 100000] [--members 50] [--runs 30]
                                 [--postgres URL] [--seed N] [--analyze-sqlite]

Seeds a fresh database with `--events` meetings of a ~500-person workspace spread over
60 days either side of now (1-4 member attendees each, some declined or taken off the
list, some outside guests) plus connected-calendar busy times for some members, then
times, for `--members` members over the next two weeks:

  floor         the same answer from raw indexed SQL (`sqlalchemy.text`) in the shape
                Meetbot's own query had before issue 14: one UNION ALL of organized and
                invited meetings (attendees joined to events, the workspace compared
                through coalesce()), one query of connected-calendar busy times, no ORM;
  ideal floor   the ideal shape: plain equality on the workspace, attendees read from
                their covering index alone (no join), titles read for the viewer's own
                meetings only, connected-calendar busy times; raw SQL, no ORM;
  busy()        `bot.availability.Availability.busy`, what the form's free/busy uses;
  find_slots()  `Availability.find_slots` for 30 minutes ("Find a time"), with a stand-in
                for Slack's users.info that answers Europe/Warsaw for everyone.

Runs on a SQLite file in a temp folder and, when `--postgres URL` is given or
MEETBOT_TEST_POSTGRES_URL is set, on a fresh PostgreSQL database created next to the
one in the URL and dropped afterwards. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import shared  # noqa: E402  (bench/shared.py, beside this script)
from sqlalchemy import Integer, String, Table, bindparam, insert, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from bot.availability import SEARCH_DAYS, Availability  # noqa: E402
from bot.drafts import MAX_LENGTH  # noqa: E402
from bot.heap import freeze_start_up_objects  # noqa: E402
from bot.people import Person  # noqa: E402
from bot.personal import Busy  # noqa: E402
from bot.preferences import Preferences  # noqa: E402
from storage.database import (  # noqa: E402
    create_engine,
    create_session_factory,
    upgrade_database,
)
from storage.models import Attendee, CalendarFeed, Event, ExternalBusy  # noqa: E402
from storage.types import UTCDateTime  # noqa: E402

TEAM_ID = "TBENCH0001"
WORKSPACE_SIZE = 500
SPREAD_DAYS = 60
FEED_SHARE = 0.3  # members with a connected calendar
EXTERNAL_PER_FEED_DAY = 1.5  # busy times per working day on a connected calendar
CHUNK = 5_000
WARMUP = 3
TARGET_MS = 50.0
SLOT_LENGTH = timedelta(minutes=30)
STANDIN_TIMEZONE = "Europe/Warsaw"

Answer = list[tuple[str, datetime, datetime, str | None]]


# --- seeding -------------------------------------------------------------------------------


def user_id(number: int) -> str:
    """Return the Slack-like id of workspace member number `number`."""
    return f"U{number:08d}"


@dataclass
class Seeded:
    events: int
    attendees: int
    feeds: int
    external: int
    seconds: float


def _meeting_start(rng: random.Random, now: datetime) -> datetime:
    """Return a start within ±SPREAD_DAYS of now, mostly on weekdays, 06:00-17:45 UTC."""
    day = (now - timedelta(days=SPREAD_DAYS)).replace(hour=0, minute=0, second=0, microsecond=0)
    day += timedelta(days=rng.randrange(2 * SPREAD_DAYS))
    while day.weekday() >= 5 and rng.random() < 0.9:
        day += timedelta(days=rng.choice((-2, -1, 1, 2)))
    return day + timedelta(hours=rng.randrange(6, 18), minutes=15 * rng.randrange(4))


async def seed(
    engine: AsyncEngine, events: int, rng: random.Random, now: datetime, *, analyze: bool = False
) -> Seeded:
    """Fill the database with meetings, attendees and connected-calendar busy times.

    PostgreSQL is always ANALYZEd afterwards (autovacuum would soon do it on a live server);
    SQLite only when asked, since Meetbot never runs ANALYZE on its SQLite file.
    """
    began = time.perf_counter()
    users = [user_id(n) for n in range(WORKSPACE_SIZE)]
    event_rows: list[dict[str, Any]] = []
    attendee_rows: list[dict[str, Any]] = []
    attendee_id = 0
    created = now - timedelta(days=SPREAD_DAYS + 1)
    for event_id in range(1, events + 1):
        organizer = rng.randrange(WORKSPACE_SIZE)
        start = _meeting_start(rng, now)
        event_rows.append(
            {
                "id": event_id,
                "uid": f"{uuid.UUID(int=rng.getrandbits(128))}@bench.meetbot",
                "team_id": TEAM_ID,
                "organizer_id": users[organizer],
                "organizer_name": f"Member {organizer}",
                "organizer_email": f"member{organizer}@acme.example",
                "timezone": "Europe/Warsaw",
                "title": f"Meeting {event_id}",
                "location": "",
                "description": "",
                "start_at": start,
                "end_at": start + timedelta(minutes=rng.choice((15, 30, 30, 45, 60, 60, 90, 120))),
                "notify_on_decision": rng.random() < 0.5,
                "sequence": 0,
                "version": 0,
                "status": "confirmed" if rng.random() < 0.95 else "cancelled",
                "reminder_minutes": None,
                "remind_guests": False,
                "reminder_due_at": None,
                "cancel_message": "",
                "summary_channel": None,
                "summary_ts": None,
                "created_at": created,
                "updated_at": created,
            }
        )
        invited = rng.sample(range(WORKSPACE_SIZE), rng.randint(1, 4) + 1)
        invited = [n for n in invited if n != organizer][:4]
        for member in invited:
            attendee_id += 1
            roll = rng.random()
            removed = rng.random() < 0.02
            event = event_rows[-1]
            keeps_busy = not removed and roll < 0.9 and event["status"] == "confirmed"
            attendee_rows.append(
                {
                    "id": attendee_id,
                    "event_id": event_id,
                    "team_id": TEAM_ID,
                    "kind": "member",
                    "slack_user_id": users[member],
                    "email": None,
                    "email_key": None,
                    "display_name": "",
                    "response": (
                        "needs-action"
                        if roll < 0.75
                        else "accepted"
                        if roll < 0.85
                        else "tentative"
                        if roll < 0.9
                        else "declined"
                    ),
                    "comment": "",
                    "responded_at": None if roll < 0.75 else created,
                    "removed_at": created if removed else None,
                    # Meetbot copies the meeting's time onto members it keeps busy.
                    "busy_from": event["start_at"] if keeps_busy else None,
                    "busy_until": event["end_at"] if keeps_busy else None,
                }
            )
        if rng.random() < 0.2:  # an outside guest: an attendees row no member query should see
            attendee_id += 1
            attendee_rows.append(
                {
                    "id": attendee_id,
                    "event_id": event_id,
                    "team_id": TEAM_ID,
                    "kind": "guest",
                    "slack_user_id": None,
                    "email": f"guest{event_id}@partner.example",
                    "email_key": f"guest{event_id}@partner.example",
                    "display_name": "Guest",
                    "response": "needs-action",
                    "comment": "",
                    "responded_at": None,
                    "removed_at": None,
                    "busy_from": None,
                    "busy_until": None,
                }
            )

    feed_rows: list[dict[str, Any]] = []
    external_rows: list[dict[str, Any]] = []
    first_day = (now - timedelta(days=SPREAD_DAYS)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    for feed_id, member in enumerate(
        sorted(rng.sample(range(WORKSPACE_SIZE), int(WORKSPACE_SIZE * FEED_SHARE))), start=1
    ):
        feed_rows.append(
            {
                "id": feed_id,
                "team_id": TEAM_ID,
                "user_id": users[member],
                "url": f"https://calendar.example/ical/{member}/basic.ics",
                "etag": None,
                "last_modified": None,
                "fetched_at": now,
                "next_fetch_at": now + timedelta(minutes=15),
                "last_error": None,
                "error_reported": False,
            }
        )
        for offset in range(2 * SPREAD_DAYS):
            day = first_day + timedelta(days=offset)
            if day.weekday() >= 5:
                continue
            for _ in range(int(EXTERNAL_PER_FEED_DAY) + (rng.random() < EXTERNAL_PER_FEED_DAY % 1)):
                start = day + timedelta(hours=rng.randrange(6, 18), minutes=30 * rng.randrange(2))
                external_rows.append(
                    {
                        "feed_id": feed_id,
                        "team_id": TEAM_ID,
                        "user_id": users[member],
                        "start_at": start,
                        "end_at": start + timedelta(minutes=rng.choice((30, 60, 90))),
                    }
                )

    async with engine.begin() as connection:
        for table, rows in (
            (Event.__table__, event_rows),
            (Attendee.__table__, attendee_rows),
            (CalendarFeed.__table__, feed_rows),
            (ExternalBusy.__table__, external_rows),
        ):
            for at in range(0, len(rows), CHUNK):
                await connection.execute(insert(cast(Table, table)), rows[at : at + CHUNK])
    if engine.dialect.name == "postgresql" or analyze:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("ANALYZE"))
    return Seeded(
        events=len(event_rows),
        attendees=len(attendee_rows),
        feeds=len(feed_rows),
        external=len(external_rows),
        seconds=time.perf_counter() - began,
    )


# --- the floor: one raw indexed query per source -------------------------------------------

MEETINGS_SQL = text(
    """
    SELECT e.organizer_id AS user_id, e.start_at, e.end_at,
           CASE WHEN e.organizer_id = :viewer OR EXISTS (
               SELECT 1 FROM attendees v
               WHERE v.event_id = e.id AND v.slack_user_id = :viewer AND v.removed_at IS NULL
           ) THEN e.title END AS title
    FROM events e
    WHERE e.organizer_id IN :user_ids
      AND e.start_at >= :earliest AND e.start_at < :end AND e.end_at > :start
      AND coalesce(e.team_id, '') = :team_id AND e.status = 'confirmed'
    UNION ALL
    SELECT a.slack_user_id AS user_id, e.start_at, e.end_at,
           CASE WHEN e.organizer_id = :viewer OR EXISTS (
               SELECT 1 FROM attendees v
               WHERE v.event_id = e.id AND v.slack_user_id = :viewer AND v.removed_at IS NULL
           ) THEN e.title END AS title
    FROM attendees a JOIN events e ON e.id = a.event_id
    WHERE a.slack_user_id IN :user_ids
      AND a.busy_from >= :earliest AND a.busy_from < :end AND a.busy_until > :start
      AND coalesce(e.team_id, '') = :team_id
    """
)
EXTERNAL_SQL = text(
    """
    SELECT user_id, start_at, end_at
    FROM external_busy
    WHERE team_id = :team_id AND user_id IN :user_ids
      AND start_at < :end AND end_at > :start
    """
)


def _typed(statement: Any, with_title: bool) -> Any:
    columns: dict[str, Any] = {"user_id": String, "start_at": UTCDateTime, "end_at": UTCDateTime}
    if with_title:
        columns["title"] = String
    return statement.bindparams(
        bindparam("user_ids", expanding=True),
        bindparam("start", type_=UTCDateTime),
        bindparam("end", type_=UTCDateTime),
        *([bindparam("earliest", type_=UTCDateTime)] if with_title else []),
    ).columns(**columns)


IDEAL_BUSY_SQL = (
    text(
        """
    SELECT e.id AS event_id, e.organizer_id AS user_id, e.start_at, e.end_at
    FROM events e
    WHERE e.team_id = :team_id AND e.organizer_id IN :user_ids
      AND e.start_at >= :earliest AND e.start_at < :end AND e.end_at > :start
      AND e.status = 'confirmed'
    UNION ALL
    SELECT a.event_id, a.slack_user_id AS user_id, a.busy_from AS start_at,
           a.busy_until AS end_at
    FROM attendees a
    WHERE a.slack_user_id IN :user_ids AND a.team_id = :team_id
      AND a.busy_from >= :earliest AND a.busy_from < :end AND a.busy_until > :start
    """
    )
    .bindparams(
        bindparam("user_ids", expanding=True),
        bindparam("start", type_=UTCDateTime),
        bindparam("end", type_=UTCDateTime),
        bindparam("earliest", type_=UTCDateTime),
    )
    .columns(event_id=Integer, user_id=String, start_at=UTCDateTime, end_at=UTCDateTime)
)
IDEAL_TITLES_SQL = text(
    """
    SELECT e.id, e.title FROM events e
    WHERE e.team_id = :team_id AND e.organizer_id = :viewer
      AND e.start_at >= :earliest AND e.start_at < :end
    UNION
    SELECT e.id, e.title FROM attendees a JOIN events e ON e.id = a.event_id
    WHERE a.slack_user_id = :viewer AND a.team_id = :team_id AND a.removed_at IS NULL
      AND e.start_at >= :earliest AND e.start_at < :end
    """
).bindparams(bindparam("end", type_=UTCDateTime), bindparam("earliest", type_=UTCDateTime))


async def ideal_floor_answer(
    engine: AsyncEngine,
    team_id: str,
    user_ids: Sequence[str],
    start: datetime,
    end: datetime,
    viewer: str,
) -> Answer:
    """Return the same answer as floor_answer from queries of the ideal shape."""
    params = {"team_id": team_id, "user_ids": list(user_ids), "start": start, "end": end}
    earliest = start - MAX_LENGTH
    async with engine.connect() as connection:
        busy = list(await connection.execute(IDEAL_BUSY_SQL, {**params, "earliest": earliest}))
        titles = dict(
            (
                await connection.execute(
                    IDEAL_TITLES_SQL,
                    {"team_id": team_id, "viewer": viewer, "earliest": earliest, "end": end},
                )
            ).all()
        )
        external = await connection.execute(FLOOR_EXTERNAL, params)
        rows: Answer = [
            (user, row_start, row_end, titles.get(event_id))
            for event_id, user, row_start, row_end in busy
        ]
        rows.extend((user, row_start, row_end, None) for user, row_start, row_end in external)
    return rows


FLOOR_MEETINGS = _typed(MEETINGS_SQL, with_title=True)
FLOOR_EXTERNAL = _typed(EXTERNAL_SQL, with_title=False)


async def floor_answer(
    engine: AsyncEngine,
    team_id: str,
    user_ids: Sequence[str],
    start: datetime,
    end: datetime,
    viewer: str,
) -> Answer:
    """Return (user, start, end, title) of every busy period, straight from SQL."""
    params = {"team_id": team_id, "user_ids": list(user_ids), "start": start, "end": end}
    async with engine.connect() as connection:
        # Meetbot caps meetings at a day, so only starts that close before can reach the span.
        earliest = start - MAX_LENGTH
        meetings = await connection.execute(
            FLOOR_MEETINGS, {**params, "viewer": viewer, "earliest": earliest}
        )
        rows: Answer = [tuple(row) for row in meetings]
        external = await connection.execute(FLOOR_EXTERNAL, params)
        rows.extend((user, row_start, row_end, None) for user, row_start, row_end in external)
    return rows


def flatten(periods: dict[str, list[Busy]]) -> Answer:
    """Return busy()'s answer as (user, start, end, title) tuples."""
    return [(user, b.start, b.end, b.title) for user, busy in periods.items() for b in busy]


# --- the stand-in for users.info -----------------------------------------------------------


class StandInPeople:
    """Answers every profile look-up at once with Europe/Warsaw, like a warm People cache."""

    async def get(self, team_id: str, user_id: str) -> Person:
        return Person(user_id=user_id, name=user_id, email=None, timezone=STANDIN_TIMEZONE)


# --- timing --------------------------------------------------------------------------------


def percentile(samples: Sequence[float], share: float) -> float:
    """Return the nearest-rank percentile of samples."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    began = time.perf_counter()
    await call()
    return (time.perf_counter() - began) * 1000


async def bench_database(label: str, url: str, args: argparse.Namespace) -> bool:
    """Seed one database, check busy() against the floor, time all three, print a table."""
    rng = random.Random(args.seed)
    now = datetime.now(UTC)
    engine = create_engine(url)
    try:
        await upgrade_database(engine)
        analyze = engine.dialect.name == "sqlite" and args.analyze_sqlite
        seeded = await seed(engine, args.events, rng, now, analyze=analyze)
        # What seeding built is the bench's, not a Meetbot process's: collected and frozen as
        # `meetbot run` freezes what its start-up built.
        freeze_start_up_objects()
        version = ".".join(str(part) for part in engine.dialect.server_version_info or ())
        sessions = create_session_factory(engine)
        availability = Availability(sessions, StandInPeople(), Preferences(sessions))  # type: ignore[arg-type]
        members = [user_id(n) for n in sorted(rng.sample(range(WORKSPACE_SIZE), args.members))]
        viewer = members[0]
        start = now
        end = now + timedelta(days=SEARCH_DAYS)

        floor = await floor_answer(engine, TEAM_ID, members, start, end, viewer)
        ideal = await ideal_floor_answer(engine, TEAM_ID, members, start, end, viewer)
        busy = flatten(await availability.busy(TEAM_ID, members, start, end, viewer=viewer))
        assert {row[:3] for row in busy} == {row[:3] for row in floor}, "busy() != floor"
        assert Counter(busy) == Counter(floor), "busy() != floor (titles or duplicates)"
        assert Counter(ideal) == Counter(floor), "ideal floor != floor"
        titled = sum(1 for row in busy if row[3] is not None)
        slots = await availability.find_slots(TEAM_ID, members, SLOT_LENGTH, now)

        targets: dict[str, Callable[[], Awaitable[Any]]] = {
            "floor": lambda: floor_answer(engine, TEAM_ID, members, start, end, viewer),
            "ideal floor": lambda: ideal_floor_answer(engine, TEAM_ID, members, start, end, viewer),
            "busy()": lambda: availability.busy(TEAM_ID, members, start, end, viewer=viewer),
            "find_slots()": lambda: availability.find_slots(TEAM_ID, members, SLOT_LENGTH, now),
        }
        samples: dict[str, list[float]] = {name: [] for name in targets}
        for run in range(WARMUP + args.runs):
            for name, call in targets.items():  # interleaved, so drift hits all three alike
                elapsed = await timed(call)
                if run >= WARMUP:
                    samples[name].append(elapsed)
    finally:
        await engine.dispose()

    analyzed = ", ANALYZE run after seeding" if analyze or "PostgreSQL" in label else ""
    print(f"database     {label}, version {version}{analyzed}")
    print(
        f"events       {seeded.events:,} ({seeded.attendees:,} attendees rows, "
        f"{seeded.feeds} connected calendars with {seeded.external:,} busy times; "
        f"seeded in {seeded.seconds:.1f} s)"
    )
    print(
        f"members      {len(members)} of {WORKSPACE_SIZE}, "
        f"{start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} UTC ({SEARCH_DAYS} days)"
    )
    print(
        f"answers match: {len(busy):,} busy periods "
        f"({titled:,} with the title shown to the viewer), same as the floor"
    )
    print(
        f"find_slots   {len(slots)} free 30-min slot(s) found; profiles from a stand-in for "
        f"Slack's users.info ({STANDIN_TIMEZONE} for everyone, no network)"
    )
    print(f"runs         {args.runs} measured after {WARMUP} warm-up, interleaved")
    print()
    print(f"{'':14}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for name, values in samples.items():
        print(
            f"{name:14}{percentile(values, 0.5):9.1f}{percentile(values, 0.95):9.1f}"
            f"{max(values):9.1f}"
        )
    floor_p50, floor_p95 = percentile(samples["floor"], 0.5), percentile(samples["floor"], 0.95)
    busy_p50, busy_p95 = percentile(samples["busy()"], 0.5), percentile(samples["busy()"], 0.95)
    ideal_p50 = percentile(samples["ideal floor"], 0.5)
    ideal_p95 = percentile(samples["ideal floor"], 0.95)
    slots_p95 = percentile(samples["find_slots()"], 0.95)
    print(f"busy()/floor  {busy_p50 / floor_p50:.2f}x at p50, {busy_p95 / floor_p95:.2f}x at p95")
    print(f"busy()/ideal  {busy_p50 / ideal_p50:.2f}x at p50, {busy_p95 / ideal_p95:.2f}x at p95")
    met = busy_p95 < TARGET_MS and slots_p95 < TARGET_MS
    print(
        f"goal (issue 14): p95 < {TARGET_MS:.0f} ms for busy() and find_slots() -> "
        f"{'MET' if met else 'NOT MET'}: busy() {busy_p95:.1f} ms, find_slots() "
        f"{slots_p95:.1f} ms (ideal floor {ideal_p95:.1f} ms)"
    )
    print()
    return met


async def main(args: argparse.Namespace) -> int:
    global SPREAD_DAYS
    SPREAD_DAYS = args.spread_days
    postgres = args.postgres or os.environ.get("MEETBOT_TEST_POSTGRES_URL")
    met: list[bool] = []
    with tempfile.TemporaryDirectory(prefix="meetbot-bench-") as folder:
        for url in [None, postgres] if postgres else [None]:
            async with shared.database(url, Path(folder)) as (database_url, where):
                met.append(await bench_database(where, database_url, args))
    if not postgres:
        print("PostgreSQL skipped: pass --postgres URL or set MEETBOT_TEST_POSTGRES_URL")
    return 0 if all(met) else 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="meetings to store")
    parser.add_argument("--members", type=int, default=50, help="members asked about")
    parser.add_argument(
        "--spread-days",
        type=int,
        default=SPREAD_DAYS,
        help="meetings are spread over this many days either side of now (60: dense)",
    )
    parser.add_argument("--runs", type=int, default=30, help="measured runs (after 3 warm-up)")
    parser.add_argument("--postgres", help="PostgreSQL URL to create the bench database next to")
    parser.add_argument("--seed", type=int, default=1, help="random seed for the data")
    parser.add_argument(
        "--analyze-sqlite",
        action="store_true",
        help="run ANALYZE on the SQLite file after seeding (Meetbot itself never does)",
    )
    args = parser.parse_args()
    if args.members > WORKSPACE_SIZE or args.members < 1:
        parser.error(f"--members must be 1..{WORKSPACE_SIZE}")
    if args.runs < 1 or args.events < 1:
        parser.error("--runs and --events must be positive")
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
