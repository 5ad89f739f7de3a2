"""Guests' answers from their pages, written together: one writer, one transaction per batch.

A guest's press waits in a queue; one writer task takes every press waiting, records them
all in one transaction and one commit, and only then tells each guest how it went. So a
guest never sees "recorded" for an answer a crash could still lose, and a hundred guests
answering at once cost one commit instead of a hundred fights for the write lock.

Each answer is one `UPDATE ... RETURNING` that checks the link, that the guest is still
invited and the meeting not cancelled, and that the answer changes something: the same
press delivered twice at once is one decision on either database (SQLite serialises
writers; PostgreSQL re-checks the row once the first one's lock is gone). On PostgreSQL
the whole batch is one statement over arrays (`unnest`); on SQLite the batch runs in one
hop to a thread holding a dedicated connection that begins with `BEGIN IMMEDIATE`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import utc_now
from bot.deliveries import Delivery, outbox_values
from bot.meetings import notices
from bot.meetings.errors import MeetingCancelled, NotInvited, UnknownLink
from bot.meetings.model import Answer, Invitee
from storage.database import sqlite_writer_engine
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
)

# The whole batch in one statement: each (link, answer, comment) joined to its attendee.
_PG_BATCH_UPDATE = text(
    """
    UPDATE attendees AS a
    SET response = v.answer, comment = v.comment, responded_at = :now
    FROM unnest(CAST(:hashes AS VARCHAR[]), CAST(:answers AS VARCHAR[]),
                CAST(:comments AS TEXT[])) AS v(token_hash, answer, comment)
    WHERE a.token_hash = v.token_hash
      AND a.kind = 'guest'
      AND a.removed_at IS NULL
      AND (a.response <> v.answer OR a.comment <> v.comment)
      AND a.event_id IN (SELECT id FROM events WHERE status = 'confirmed')
    RETURNING a.id, a.event_id, a.token_hash, a.kind, a.slack_user_id, a.email,
              a.display_name, a.response, a.comment, a.token_salt, a.removed_at,
              a.delivery_error
    """
).bindparams(bindparam("now", type_=UTCDateTime()))


@dataclass(frozen=True)
class Recorded:
    """What a guest's press came to, once it is stored: their row, and whether it changed."""

    invitee: Invitee
    meeting_id: int
    meeting_version: int
    changed: bool


@dataclass
class _Press:
    token_hash: str
    answer: Answer
    comment: str
    done: asyncio.Future[Recorded] = field(repr=False)


class GuestAnswers:
    """Queue guests' presses and record them in batches, each batch in one transaction."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        on_deliveries: Callable[[], None] = lambda: None,
    ) -> None:
        engine = sessions.kw.get("bind")
        assert isinstance(engine, AsyncEngine)
        self._engine = engine
        self._on_deliveries = on_deliveries
        self._waiting: list[_Press] = []
        self._writer: asyncio.Task[None] | None = None
        # SQLite: a connection of our own in a thread, so a batch is one hop, not one per
        # statement. An in-memory database has no second connection; it keeps the engine's.
        database = engine.url.database or ""
        self._sqlite: Engine | None = (
            sqlite_writer_engine(engine.url)
            if engine.dialect.name == "sqlite" and database not in ("", ":memory:")
            else None
        )

    async def record(self, token_hash: str, answer: Answer, comment: str) -> Recorded:
        """Record a press and return what it came to, once it is committed.

        Raises UnknownLink, MeetingCancelled or NotInvited, having recorded nothing.
        """
        press = _Press(token_hash, answer, comment, asyncio.get_running_loop().create_future())
        self._waiting.append(press)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_while_waiting())
        # Shielded: a guest who leaves does not cancel the batch others wait on.
        return await asyncio.shield(press.done)

    def close(self) -> None:
        """Let go of the dedicated SQLite connection (the next press opens it again)."""
        if self._sqlite is not None:
            self._sqlite.dispose()

    async def _write_while_waiting(self) -> None:
        while self._waiting:
            batch = self._take_batch()
            try:
                outcomes = await self._write(batch)
            except Exception as error:  # each guest waiting hears of it; nothing was stored
                for press in batch:
                    if not press.done.done():
                        press.done.set_exception(error)
                continue
            if any(isinstance(o, Recorded) and o.changed for o in outcomes):
                self._on_deliveries()
            for press, outcome in zip(batch, outcomes, strict=True):
                if press.done.done():
                    continue
                if isinstance(outcome, Exception):
                    press.done.set_exception(outcome)
                else:
                    press.done.set_result(outcome)

    def _take_batch(self) -> list[_Press]:
        """Take waiting presses, one per link: a second press of a link waits for the next."""
        batch: list[_Press] = []
        seen: set[str] = set()
        later: list[_Press] = []
        for press in self._waiting:
            if press.token_hash in seen or len(batch) >= MAX_BATCH:
                later.append(press)
            else:
                seen.add(press.token_hash)
                batch.append(press)
        self._waiting = later
        return batch

    async def _write(self, batch: list[_Press]) -> list[Recorded | Exception]:
        items = [(p.token_hash, p.answer, p.comment) for p in batch]
        if self._sqlite is not None:
            return await asyncio.to_thread(self._write_sqlite, items)
        async with self._engine.begin() as connection:
            return await connection.run_sync(write_batch, items, utc_now())

    def _write_sqlite(self, items: list[tuple[str, Answer, str]]) -> list[Recorded | Exception]:
        assert self._sqlite is not None
        with self._sqlite.begin() as connection:
            return write_batch(connection, items, utc_now())


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


def _update_answers(
    connection: Connection, items: Sequence[tuple[str, Answer, str]], now: datetime
) -> list[_Row]:
    if connection.dialect.name == "postgresql":
        return list(
            connection.execute(
                _PG_BATCH_UPDATE,
                {
                    "now": now,
                    "hashes": [h for h, _, _ in items],
                    "answers": [a.value for _, a, _ in items],
                    "comments": [c for _, _, c in items],
                },
            )
        )
    confirmed = select(Event.id).where(Event.status == "confirmed")
    rows: list[_Row] = []
    for token_hash, answer, comment in items:
        row = connection.execute(
            update(Attendee)
            .where(
                Attendee.token_hash == token_hash,
                Attendee.kind == "guest",
                Attendee.removed_at.is_(None),
                or_(Attendee.response != answer.value, Attendee.comment != comment),
                Attendee.event_id.in_(confirmed),
            )
            .values(response=answer.value, comment=comment, responded_at=now)
            .returning(*_INVITEE_COLUMNS)
        ).first()
        if row is not None:
            rows.append(row)
    return rows


def _look_up(connection: Connection, token_hashes: list[str]) -> dict[str, _Row]:
    """Return the links that changed nothing, with their meeting's state, to say why."""
    rows = connection.execute(
        select(*_INVITEE_COLUMNS, Event.status)
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
    invitee = Invitee(
        id=row.id,
        kind=row.kind,
        slack_user_id=row.slack_user_id,
        email=row.email,
        name=row.display_name,
        answer=Answer(row.response),
        comment=row.comment,
        token_salt=row.token_salt,
        removed=row.removed_at is not None,
        delivery_error=row.delivery_error,
    )
    return Recorded(invitee, row.event_id, version, changed)


def _unchanged_or_refused(row: _Row | None, events: dict[int, _Row]) -> Recorded | Exception:
    if row is None:
        return UnknownLink()
    if row.status == "cancelled":
        return MeetingCancelled(row.event_id)
    if row.removed_at is not None:
        return NotInvited(row.email)
    return _recorded(row, events[row.event_id].version, changed=False)
