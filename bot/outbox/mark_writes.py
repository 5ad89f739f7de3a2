"""Outcomes of delivered outbox entries written in one statement per flush.

A flush of 25 marks was an UPDATE per outcome state plus an UPDATE per queue id
(executemany) plus a SELECT for the summaries to redraw. One UPDATE over arrays
(`unnest`, PostgreSQL) or a JSON array (`json_each`, SQLite) now sets each entry's state,
its sent time and attempts, and the mail server's queue id, and returns which meetings'
guest mail went out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.deliveries import OrganizerSummary, enqueue
from bot.ledger import GUEST_MAIL_KINDS
from storage.types import UTCDateTime

_PG_MARKS = text(
    """
    UPDATE outbox AS o
    SET state = v.state, sent_at = :now, attempts = o.attempts + 1,
        queue_id = coalesce(v.queue_id, o.queue_id)
    FROM unnest(CAST(:ids AS INTEGER[]), CAST(:states AS VARCHAR[]),
                CAST(:queue_ids AS VARCHAR[])) AS v(id, state, queue_id)
    WHERE o.id = v.id
    RETURNING o.team_id, o.event_id, o.kind, o.state
    """
).bindparams(bindparam("now", type_=UTCDateTime()))

_SQLITE_MARKS = text(
    """
    UPDATE outbox
    SET state = v.state, sent_at = :now, attempts = outbox.attempts + 1,
        queue_id = coalesce(v.queue_id, outbox.queue_id)
    FROM (SELECT json_extract(value, '$[0]') AS id,
                 json_extract(value, '$[1]') AS state,
                 json_extract(value, '$[2]') AS queue_id
          FROM json_each(:marks)) AS v
    WHERE outbox.id = v.id
    RETURNING outbox.team_id, outbox.event_id, outbox.kind, outbox.state
    """
).bindparams(bindparam("now", type_=UTCDateTime()))


async def write_marks(
    session: AsyncSession,
    marks: Sequence[tuple[int, str]],
    queue_ids: Mapping[int, str],
    now: datetime,
) -> None:
    """Record outcomes, keep the servers' queue ids, and redraw the summaries concerned.

    The organizer's summary counts what was delivered; each redraw reads fresh state, and
    of several pending ones only the newest is sent.
    """
    # An entry noted twice (never, but harmless) keeps its last outcome.
    last = dict(marks)
    if session.get_bind().dialect.name == "postgresql":
        rows = await session.execute(
            _PG_MARKS,
            {
                "now": now,
                "ids": list(last),
                "states": list(last.values()),
                "queue_ids": [queue_ids.get(entry_id) for entry_id in last],
            },
        )
    else:
        items = [[entry_id, state, queue_ids.get(entry_id)] for entry_id, state in last.items()]
        rows = await session.execute(_SQLITE_MARKS, {"now": now, "marks": json.dumps(items)})
    meetings = {
        (team_id, event_id)
        for team_id, event_id, kind, state in rows
        if state == "sent" and kind in GUEST_MAIL_KINDS and event_id is not None
    }
    for team_id, event_id in sorted(meetings):
        enqueue(session, team_id, OrganizerSummary(event_id))
