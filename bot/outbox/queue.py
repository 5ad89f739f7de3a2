"""The outbox as a queue: leasing due entries, marking outcomes, retrying, giving up.

Any number of processes drain one outbox: an entry is leased in one statement (`SKIP
LOCKED` on PostgreSQL), and a lease that runs out hands it to whoever looks next.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiosmtplib
from slack_sdk.errors import SlackApiError
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import utc_now
from bot.deliveries import (
    KINDS,
    Delivery,
    DeliveryKind,
    delivery_from_row,
)
from bot.i18n import N_
from bot.metrics import Metrics
from bot.outbox.mark_writes import write_marks
from bot.slack_clients import DISCONNECTED, WorkspaceNotInstalled
from storage.models import OutboxEntry

logger = logging.getLogger(__name__)

BATCH_SIZE = 250
FIRST_RETRY_SECONDS = 5.0
MAX_RETRY_SECONDS = 600.0
GIVE_UP_AFTER = timedelta(hours=48)
# A claimed entry is hidden from other processes this long; if the claimer dies mid-send, it
# comes back after that (the stable Message-ID lets mail programs drop a second copy).
LEASE = timedelta(minutes=2)
# No claimed entry is begun this close to its lease's end (more than an SMTP exchange may
# take); the rest of the batch is handed back for the next round.
LEASE_MARGIN = timedelta(seconds=60)
# Delivered entries are marked sent together, but soon: a crash in between resends at most
# these few (with the same Message-ID, so mail programs drop the copies).
MARK_EVERY = 25
MARK_WITHIN_SECONDS = 0.05
# Marks not written after this long (a write takes milliseconds) mean the database is not
# answering: sending stops, as when a write fails, so what cannot be recorded is not sent.
MARK_STALLED_SECONDS = 1.0
# A failed write of marks is tried again, less and less often, until the lease runs out.
MARK_RETRY_FIRST_SECONDS = 0.1
MARK_RETRY_MAX_SECONDS = 2.0
# Slack errors no retry can mend: the person or channel is gone, the token is revoked.
PERMANENT_SLACK_ERRORS = frozenset(
    {
        "user_not_found",
        "channel_not_found",
        "is_archived",
        "account_inactive",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "cannot_dm_bot",
        "user_disabled",
        "invalid_blocks",
        "invalid_arguments",
    }
)


def describe_failure(error: Exception, *, by_mail: bool = True) -> str:
    """Return why a delivery failed, in words an organizer can act on."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused) and error.recipients:
        refusal = error.recipients[0]
        return f"{refusal.code} {refusal.message}"
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return f"{error.code} {error.message}"
    if isinstance(error, SlackApiError):
        return f"Slack answered {error.response.get('error')}"
    if isinstance(error, WorkspaceNotInstalled):
        return DISCONNECTED
    if isinstance(error, aiosmtplib.SMTPException) or (isinstance(error, OSError) and by_mail):
        return N_("the mail server could not be reached for two days")
    if isinstance(error, OSError):
        return N_("Slack could not be reached for two days")
    return str(error) or type(error).__name__


class PermanentFailure(Exception):
    """A delivery that will never succeed; it is given up at once."""


def retry_delay(attempts: int) -> timedelta:
    """Return how long to wait before the next try: doubling from seconds to ten minutes."""
    return timedelta(
        seconds=min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS)
    )


def is_permanent(error: Exception) -> bool:
    """Tell whether retrying could ever help: not for a refused recipient or a revoked token."""
    if isinstance(error, PermanentFailure | WorkspaceNotInstalled):
        return True
    if isinstance(error, SlackApiError):
        return error.response.get("error") in PERMANENT_SLACK_ERRORS
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return all(refusal.code >= 500 for refusal in error.recipients)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return error.code >= 500
    return False


@dataclass(frozen=True)
class ClaimedEntry:
    """An outbox entry this process has leased, with what delivering it needs."""

    id: int
    team_id: str
    kind: str
    event_id: int | None
    attendee_id: int | None
    payload: dict[str, Any]
    redraw_key: str | None
    # An earlier lease of this entry ended with neither success nor failure recorded: its
    # process died mid-delivery, so Slack may already show what it was posting.
    maybe_posted: bool = False

    def delivery(self) -> Delivery:
        """Return what this entry owes, typed; one no one can read fails for good."""
        try:
            return delivery_from_row(self.kind, self.event_id, self.attendee_id, self.payload)
        except (KeyError, TypeError, ValueError) as error:
            raise PermanentFailure(f"unreadable {self.kind} entry: {error}") from error


@dataclass
class ClaimedBatch:
    """Due entries leased together, and which of them a newer pending redraw makes moot."""

    entries: list[ClaimedEntry]
    lease_until: datetime
    superseded: set[int] = field(default_factory=set)


class MarksNotWritten(Exception):
    """Delivered entries could not be recorded so; their lease will bring them back."""


class DeliveryMarks:
    """Entries delivered and not yet recorded so, written together within a few ms.

    A write that fails is kept and tried again by `flush`; meanwhile `failing` tells the
    sender to begin nothing more, so an outage of the database costs at most the few
    deliveries whose outcome it swallowed, never the rest of a batch.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._waiting: list[tuple[int, str]] = []
        self._timer: asyncio.TimerHandle | None = None
        # Writes under way in the background; `flush` waits for them.
        self._writes: list[asyncio.Task[None]] = []
        self._last_write: asyncio.Task[None] | None = None
        # Outcomes whose write failed, and the last failure.
        self._unwritten: list[tuple[int, str]] = []
        self._failure: Exception | None = None
        # When each outcome not yet written was noted (the event loop's clock).
        self._noted_at: dict[int, float] = {}
        # The receiving server's queue id of each e-mail handed over, until it is written.
        self._queue_ids: dict[int, str] = {}

    @property
    def failing(self) -> bool:
        """Tell whether outcomes are not being recorded: a write failed, or one hangs."""
        if self._failure is not None:
            return True
        if not self._noted_at:
            return False
        oldest = min(self._noted_at.values())
        return asyncio.get_running_loop().time() - oldest > MARK_STALLED_SECONDS

    async def add(self, entry_id: int, state: str, queue_id: str | None = None) -> None:
        """Note an entry's outcome (and the mail server's queue id for it); write the notes
        when enough have gathered.

        The write runs beside the sending: a send waits only when the write before is still
        under way, so the database never falls more than two writes behind.
        """
        if queue_id is not None:
            self._queue_ids[entry_id] = queue_id
        self._waiting.append((entry_id, state))
        self._noted_at.setdefault(entry_id, asyncio.get_running_loop().time())
        if len(self._waiting) >= MARK_EVERY:
            earlier = self._last_write
            self._write_in_background(self._take())
            if earlier is not None and not earlier.done():
                await asyncio.wait([earlier])
        elif self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(MARK_WITHIN_SECONDS, self._flush_in_background)

    def _flush_in_background(self) -> None:
        self._timer = None
        self._write_in_background(self._take())

    def _write_in_background(self, marks: list[tuple[int, str]]) -> None:
        """Write marks after the write under way, one at a time (no two fight for a lock)."""
        earlier = self._last_write

        async def after_earlier() -> None:
            if earlier is not None:
                await asyncio.wait([earlier])
            await self._write(marks)

        self._last_write = asyncio.create_task(after_earlier())
        self._writes.append(self._last_write)

    def _take(self) -> list[tuple[int, str]]:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiting, self._waiting = self._waiting, []
        return waiting

    async def flush(self, retry_until: datetime | None = None) -> None:
        """Write every outcome noted so far; retry failed writes until then, else raise."""
        retry_until = retry_until or utc_now()
        self._write_in_background(self._take())
        writes, self._writes = self._writes, []
        await asyncio.gather(*writes)
        pause = MARK_RETRY_FIRST_SECONDS
        while self._unwritten:
            if utc_now() + timedelta(seconds=pause) >= retry_until:
                raise MarksNotWritten(
                    f"{len(self._unwritten)} delivered outbox entries could not be marked sent"
                ) from self._failure
            await asyncio.sleep(pause)
            pause = min(pause * 2, MARK_RETRY_MAX_SECONDS)
            retrying, self._unwritten = self._unwritten, []
            await self._write(retrying)
        if self._failure is not None:
            logger.info("the outbox records deliveries again after a failed write")
            self._failure = None

    async def _write(self, marks: list[tuple[int, str]]) -> None:
        """Record outcomes; on failure keep them for `flush` (raising here would lose them)."""
        if not marks:
            return
        try:
            async with self._sessions.begin() as session:
                await write_marks(session, marks, self._queue_ids, utc_now())
        except Exception as error:  # any failure leaves the outcomes unrecorded; kept to retry
            if self._failure is None:
                logger.warning(
                    "could not record %s outbox deliveries (%s); sending stops until they are",
                    len(marks),
                    type(error).__name__,
                    exc_info=error,
                )
            self._failure = error
            self._unwritten.extend(marks)
            return
        for entry_id, _ in marks:
            self._noted_at.pop(entry_id, None)
            self._queue_ids.pop(entry_id, None)


class OutboxQueue:
    """Lease due entries, hand back what was not begun, and record what failed."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        metrics: Metrics,
        lease: timedelta = LEASE,
    ) -> None:
        self._sessions = sessions
        self._metrics = metrics
        self.lease = lease
        # A short lease (set for tests of crashes) keeps half of itself for the sending.
        self.lease_margin = min(LEASE_MARGIN, lease / 2)

    def marks(self) -> DeliveryMarks:
        """Return a fresh collector of delivered entries, written together."""
        return DeliveryMarks(self._sessions)

    async def claim_batch(self) -> ClaimedBatch:
        """Lease the next due entries in one statement, so no other process sends them too."""
        now = utc_now()
        lease_until = now + self.lease
        due = (
            select(OutboxEntry.id)
            .where(OutboxEntry.state == "pending", OutboxEntry.available_at <= now)
            .order_by(OutboxEntry.id)
            .limit(BATCH_SIZE)
            .with_for_update(skip_locked=True)
        )
        async with self._sessions.begin() as session:
            rows = await session.execute(
                update(OutboxEntry)
                .where(
                    OutboxEntry.id.in_(due),
                    OutboxEntry.state == "pending",
                    OutboxEntry.available_at <= now,
                )
                .values(available_at=lease_until, claims=OutboxEntry.claims + 1)
                .returning(
                    OutboxEntry.claims,
                    OutboxEntry.attempts,
                    OutboxEntry.id,
                    OutboxEntry.team_id,
                    OutboxEntry.kind,
                    OutboxEntry.event_id,
                    OutboxEntry.attendee_id,
                    OutboxEntry.payload,
                    OutboxEntry.redraw_key,
                )
                .execution_options(synchronize_session=False)
            )
            entries = sorted(
                (
                    ClaimedEntry(
                        row.id,
                        row.team_id,
                        row.kind,
                        row.event_id,
                        row.attendee_id,
                        dict(row.payload or {}),
                        row.redraw_key,
                        # Died mid-delivery, or failed after Slack may have taken the post
                        # (an answer lost to a timeout): look before posting again.
                        maybe_posted=row.claims > row.attempts + 1 or row.attempts > 0,
                    )
                    for row in rows
                ),
                key=lambda entry: entry.id,
            )
            batch = ClaimedBatch(entries, lease_until)
            keys = {entry.redraw_key for entry in entries if entry.redraw_key is not None}
            if keys:
                # Only the newest pending redraw of a thing needs sending: it reads fresh state.
                newest_rows = await session.execute(
                    select(OutboxEntry.redraw_key, func.max(OutboxEntry.id))
                    .where(OutboxEntry.redraw_key.in_(keys), OutboxEntry.state == "pending")
                    .group_by(OutboxEntry.redraw_key)
                )
                newest = {str(key): int(last) for key, last in newest_rows}
                # One cut off mid-post is not skipped: it looks for, and adopts, what it posted.
                batch.superseded = {
                    entry.id
                    for entry in entries
                    if entry.redraw_key is not None
                    and newest.get(entry.redraw_key, 0) > entry.id
                    and not entry.maybe_posted
                }
            return batch

    async def release(self, entries: list[ClaimedEntry], lease_until: datetime) -> None:
        """Hand leased entries back at once, while the lease is still this process's own."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutboxEntry)
                .where(
                    OutboxEntry.id.in_([entry.id for entry in entries]),
                    OutboxEntry.state == "pending",
                    OutboxEntry.available_at == lease_until,
                )
                # Never begun: this lease must not count as one that died mid-delivery.
                .values(available_at=utc_now(), claims=OutboxEntry.claims - 1)
            )

    async def pending_count(self) -> int:
        """Return how many deliveries are still owed."""
        async with self._sessions() as session:
            count = await session.scalar(
                select(func.count()).select_from(OutboxEntry).where(OutboxEntry.state == "pending")
            )
            return int(count or 0)

    async def record_failure(self, entry_id: int, error: Exception) -> UndeliveredInvitee | None:
        """Schedule a retry, or give up; return whom the organizer must hear about."""
        permanent = is_permanent(error)
        async with self._sessions.begin() as session:
            entry = await session.get(OutboxEntry, entry_id)
            if entry is None or entry.state != "pending":
                return None  # settled meanwhile (by another process, or the workspace left)
            reason = describe_failure(error, by_mail=entry.kind.startswith("guest_"))
            entry.attempts += 1
            entry.last_error = f"{type(error).__name__}: {error}"[:2000]
            self._metrics.send_failures.labels(entry.kind).inc()
            given_up = permanent or entry.created_at < utc_now() - GIVE_UP_AFTER
            ids = {"team_id": entry.team_id, "event_id": entry.event_id, "entry_id": entry_id}
            if not given_up:
                entry.available_at = utc_now() + retry_delay(entry.attempts)
                logger.warning(
                    "delivery of outbox entry %s (%s) failed, attempt %s; retrying",
                    entry_id,
                    entry.kind,
                    entry.attempts,
                    exc_info=error,
                    extra=ids,
                )
                return None
            entry.state = "failed"
            logger.error(
                "gave up delivering outbox entry %s (%s)",
                entry_id,
                entry.kind,
                exc_info=error,
                extra=ids,
            )
            if not _reaches_invitee(entry.kind) or entry.attendee_id is None:
                return None
            return UndeliveredInvitee(entry.team_id, entry.attendee_id, reason)


def _reaches_invitee(kind: str) -> bool:
    try:
        return KINDS[DeliveryKind(kind)].reaches_invitee
    except ValueError:
        return False


@dataclass(frozen=True)
class UndeliveredInvitee:
    """Someone invited who never got what was owed them, and why, for the organizer."""

    team_id: str
    attendee_id: int
    reason: str
