"""Guests' answers from their pages, written together: one writer, one transaction per batch.

A guest's press waits in a queue; one writer task takes every press waiting, records them
all in one transaction and one commit, and only then tells each guest how it went. So a
guest never sees "recorded" for an answer a crash could still lose, and a hundred guests
answering at once cost one commit instead of a hundred fights for the write lock.

Each answer is one `UPDATE ... RETURNING` that checks the link, that the guest is still
invited and the meeting not cancelled, and that the answer changes something: the same
press delivered twice at once is one decision on either database (SQLite serialises
writers; PostgreSQL re-checks the row once the first one's lock is gone). On PostgreSQL
the whole batch is one statement over arrays (`unnest`); on SQLite a connection of its
own takes the write lock first (`BEGIN IMMEDIATE`), runs the batch's statements on the
loop (microseconds each) and commits in a thread: one thread hop per batch.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, bindparam, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import utc_now
from bot.deliveries import Delivery, outbox_values
from bot.ledger import Via
from bot.meetings import notices
from bot.meetings.errors import MeetingCancelled, NotInvited, UnknownLink
from bot.meetings.model import Answer, Invitee
from bot.meetings.rows import invitee_from_row
from storage.database import begin_immediate, sqlite_batch_engine
from storage.models import Attendee, Event, OutboxEntry
from storage.types import UTCDateTime

# A result row (typed loosely: its columns are _INVITEE_COLUMNS, and more for a look-up).
_Row = Any
# Enough to take a whole burst of guests in one commit, small enough to keep it short.
MAX_BATCH = 256

_INVITEE_COLUMNS = (
    Attendee.id,
    Attendee.event_id,
    Attendee.token_hash,
    Attendee.kind,
    Attendee.slack_user_id,
    Attendee.email,
    Attendee.display_name,
    Attendee.response,
    Attendee.comment,
    Attendee.token_salt,
    Attendee.removed_at,
    Attendee.delivery_error,
    Attendee.answered_via,
)

# The whole batch in one statement: each (link, answer, comment) joined to its attendee,
# marked as answered on the page for the organizer's delivery ledger.
_PG_BATCH_UPDATE = text(
    """
    UPDATE attendees AS a
    SET response = v.answer, comment = v.comment, responded_at = :now, answered_via = :via
    FROM unnest(CAST(:hashes AS VARCHAR[]), CAST(:answers AS VARCHAR[]),
                CAST(:comments AS TEXT[])) AS v(token_hash, answer, comment)
    WHERE a.token_hash = v.token_hash
      AND a.kind = 'guest'
      AND a.removed_at IS NULL
      AND (a.response <> v.answer OR a.comment <> v.comment)
      AND a.event_id IN (SELECT id FROM events WHERE status = 'confirmed')
    RETURNING a.id, a.event_id, a.token_hash, a.kind, a.slack_user_id, a.email,
              a.display_name, a.response, a.comment, a.token_salt, a.removed_at,
              a.delivery_error, a.answered_via
    """
).bindparams(bindparam("now", type_=UTCDateTime()), via=Via.PAGE.value)


# The same on SQLite, the batch handed over as one JSON array of [hash, answer, comment].
_SQLITE_BATCH_UPDATE = text(
    """
    UPDATE attendees
    SET response = v.answer, comment = v.comment, responded_at = :now, answered_via = :via
    FROM (SELECT json_extract(value, '$[0]') AS token_hash,
                 json_extract(value, '$[1]') AS answer,
                 json_extract(value, '$[2]') AS comment
          FROM json_each(:items)) AS v
    WHERE attendees.token_hash = v.token_hash
      AND attendees.kind = 'guest'
      AND attendees.removed_at IS NULL
      AND (attendees.response <> v.answer OR attendees.comment <> v.comment)
      AND attendees.event_id IN (SELECT id FROM events WHERE status = 'confirmed')
    RETURNING id, event_id, token_hash, kind, slack_user_id, email, display_name, response,
              comment, token_salt, removed_at, delivery_error, answered_via
    """
).bindparams(bindparam("now", type_=UTCDateTime()), via=Via.PAGE.value)


@dataclass(frozen=True)
class Recorded:
    """What a guest's press came to, once it is stored: their row, and whether it changed."""

    invitee: Invitee
    meeting_id: int
    meeting_version: int
    changed: bool


Press = tuple[str, Answer, str]  # a link's token hash, the answer, the comment
Outcome = TypeVar("Outcome")


class _Batches(Generic[Outcome]):
    """Items that arrive while a batch runs wait, and go together in the next one."""

    def __init__(
        self,
        run: Callable[[list[Any]], Awaitable[list[Outcome | Exception]]],
        key: Callable[[Any], str],
    ) -> None:
        self._run = run
        self._key = key
        self._waiting: list[tuple[Any, asyncio.Future[Outcome]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: Any) -> Outcome:
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run_while_waiting())
        # Shielded: a guest who leaves does not cancel the batch others wait on.
        return await asyncio.shield(done)

    async def _run_while_waiting(self) -> None:
        while self._waiting:
            batch = self._take()
            try:
                outcomes = await self._run([item for item, _ in batch])
            except Exception as error:  # each one waiting hears of it; nothing was stored
                outcomes = [error] * len(batch)
            for (_, done), outcome in zip(batch, outcomes, strict=True):
                if done.done():
                    continue
                if isinstance(outcome, Exception):
                    done.set_exception(outcome)
                else:
                    done.set_result(outcome)

    def _take(self) -> list[tuple[Any, asyncio.Future[Outcome]]]:
        """Take what waits, one per key: a second press of a link waits for the next batch."""
        batch: list[tuple[Any, asyncio.Future[Outcome]]] = []
        seen: set[str] = set()
        later: list[tuple[Any, asyncio.Future[Outcome]]] = []
        for waiting in self._waiting:
            key = self._key(waiting[0])
            if key in seen or len(batch) >= MAX_BATCH:
                later.append(waiting)
            else:
                seen.add(key)
                batch.append(waiting)
        self._waiting = later
        return batch


class GuestAnswers:
    """Guests' presses recorded in batches, each in one transaction; their links read alike."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        on_deliveries: Callable[[], None] = lambda: None,
    ) -> None:
        engine = sessions.kw.get("bind")
        assert isinstance(engine, AsyncEngine)
        self._engine = engine
        self._on_deliveries = on_deliveries
        # SQLite: connections of our own, used on the loop (see sqlite_batch_engine). An
        # in-memory database has no second connection: it keeps the engine's.
        database = engine.url.database or ""
        own = engine.dialect.name == "sqlite" and database not in ("", ":memory:")
        self._sqlite = sqlite_batch_engine(engine.url) if own else None
        self._presses: _Batches[Recorded] = _Batches(self._write, lambda press: press[0])
        self._links: _Batches[Recorded] = _Batches(self._read, str)

    async def record(self, token_hash: str, answer: Answer, comment: str) -> Recorded:
        """Record a press and return what it came to, once it is committed.

        Raises UnknownLink, MeetingCancelled or NotInvited, having recorded nothing.
        """
        return await self._presses.submit((token_hash, answer, comment))

    async def look_up(self, token_hash: str) -> Recorded:
        """Return the guest a link belongs to and their meeting's version; raise UnknownLink."""
        return await self._links.submit(token_hash)

    def close(self) -> None:
        """Let go of the dedicated SQLite connections (the next batch opens them again)."""
        if self._sqlite is not None:
            self._sqlite.dispose()

    async def _write(self, items: list[Press]) -> list[Recorded | Exception]:
        if self._sqlite is not None:
            outcomes = await self._write_sqlite(items)
        else:
            async with self._engine.begin() as connection:
                outcomes = await connection.run_sync(write_batch, items, utc_now())
        if any(isinstance(o, Recorded) and o.changed for o in outcomes):
            self._on_deliveries()
        return outcomes

    async def _write_sqlite(self, items: list[Press]) -> list[Recorded | Exception]:
        assert self._sqlite is not None
        with self._sqlite.connect() as connection:
            await begin_immediate(connection)
            try:
                outcomes = write_batch(connection, items, utc_now())
                # Nothing is told before it is on disk; the disk is waited for in a thread.
                await asyncio.to_thread(connection.commit)
            except BaseException:
                connection.rollback()
                raise
        return outcomes

    async def _read(self, token_hashes: list[str]) -> list[Recorded | Exception]:
        if self._sqlite is not None:
            with self._sqlite.connect() as connection:
                return read_batch(connection, token_hashes, utc_now())
        async with self._engine.connect() as connection:
            return await connection.run_sync(read_batch, token_hashes, utc_now())


def read_batch(
    connection: Connection, token_hashes: Sequence[str], now: datetime
) -> list[Recorded | Exception]:
    """Return each link's guest and meeting version, or UnknownLink, in one query."""
    rows = _look_up(connection, list(token_hashes))
    return [
        UnknownLink()
        if (row := rows.get(h)) is None
        else _recorded(row, row.version, changed=False)
        for h in token_hashes
    ]


def write_batch(
    connection: Connection, items: Sequence[tuple[str, Answer, str]], now: datetime
) -> list[Recorded | Exception]:
    """Record presses (distinct links) and queue what they owe; the caller commits."""
    changed_rows = {row.token_hash: row for row in _update_answers(connection, items, now)}
    missed = [token_hash for token_hash, _, _ in items if token_hash not in changed_rows]
    others = _look_up(connection, missed) if missed else {}
    event_ids = {row.event_id for row in changed_rows.values()} | {
        row.event_id for row in others.values()
    }
    events = {
        row.id: row
        for row in connection.execute(
            select(
                Event.id, Event.team_id, Event.organizer_id, Event.notify_on_decision, Event.version
            ).where(Event.id.in_(event_ids))
        )
    }
    owed: list[tuple[str, Delivery]] = []
    for token_hash, answer, comment in items:
        changed = changed_rows.get(token_hash)
        if changed is not None:
            event = events[changed.event_id]
            owed += [
                (event.team_id, delivery)
                for delivery in notices.guest_answered(
                    event.id,
                    event.organizer_id,
                    changed.id,
                    answer,
                    comment,
                    notify=event.notify_on_decision,
                )
            ]
    _queue(connection, owed, now)
    outcomes: list[Recorded | Exception] = []
    for token_hash, _, _ in items:
        row = changed_rows.get(token_hash)
        if row is not None:
            outcomes.append(_recorded(row, events[row.event_id].version, changed=True))
        else:
            outcomes.append(_unchanged_or_refused(others.get(token_hash), events))
    return outcomes


def _update_answers(connection: Connection, items: Sequence[Press], now: datetime) -> list[_Row]:
    if connection.dialect.name == "postgresql":
        values = {
            "hashes": [h for h, _, _ in items],
            "answers": [a.value for _, a, _ in items],
            "comments": [c for _, _, c in items],
        }
        return list(connection.execute(_PG_BATCH_UPDATE, {"now": now, **values}))
    batch = json.dumps([[h, a.value, c] for h, a, c in items])
    return list(connection.execute(_SQLITE_BATCH_UPDATE, {"now": now, "items": batch}))


def _look_up(connection: Connection, token_hashes: list[str]) -> dict[str, _Row]:
    """Return links' guests with their meeting's state and version (not found: left out)."""
    rows = connection.execute(
        select(*_INVITEE_COLUMNS, Event.status, Event.version)
        .join(Event, Event.id == Attendee.event_id)
        .where(Attendee.token_hash.in_(token_hashes), Attendee.kind == "guest")
    )
    return {row.token_hash: row for row in rows}


def _queue(connection: Connection, owed: list[tuple[str, Delivery]], now: datetime) -> None:
    """Queue what the batch owes: redraws only where none is waiting, merged within it too."""
    redraws: dict[str, tuple[str, Delivery]] = {}
    others: list[tuple[str, Delivery]] = []
    for team_id, delivery in owed:
        key = delivery.redraw_key(team_id)
        if key is None:
            others.append((team_id, delivery))
        else:
            redraws.setdefault(key, (team_id, delivery))
    if redraws:
        # A waiting redraw will read this batch's answers when it is sent. Touching it locks
        # it until we commit, so the outbox cannot take it meanwhile and draw the old state;
        # one already taken (leased: available later) gets a new one after it.
        waiting = connection.execute(
            update(OutboxEntry)
            .where(
                OutboxEntry.state == "pending",
                OutboxEntry.available_at <= now,
                OutboxEntry.redraw_key.in_(list(redraws)),
            )
            .values(available_at=OutboxEntry.available_at)
            .returning(OutboxEntry.redraw_key)
        )
        for (key,) in waiting:
            redraws.pop(str(key), None)
    rows = [outbox_values(team_id, d) for team_id, d in [*others, *redraws.values()]]
    if rows:
        connection.execute(insert(OutboxEntry), rows)


def _recorded(row: _Row, version: int, *, changed: bool) -> Recorded:
    return Recorded(invitee_from_row(row), row.event_id, version, changed)


def _unchanged_or_refused(row: _Row | None, events: dict[int, _Row]) -> Recorded | Exception:
    if row is None:
        return UnknownLink()
    if row.status == "cancelled":
        return MeetingCancelled(row.event_id)
    if row.removed_at is not None:
        return NotInvited(row.email)
    return _recorded(row, events[row.event_id].version, changed=False)
