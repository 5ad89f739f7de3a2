"""DeliveryLedger: where each guest's e-mails stand, and the organizer's two remedies.

Reads the outbox rows Meetbot keeps for every guest e-mail (with the server's queue id
and any delivery report), and owns two changes: sending a guest's invitation again, and
replacing a guest's wrong address with the right one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import utc_now
from bot.deliveries import (
    GuestCancellation,
    GuestInvitation,
    OrganizerSummary,
    delivery_from_row,
    enqueue,
)
from bot.guests import Guest, GuestListError, parse_guest_list
from bot.i18n import N_, Language, translator
from bot.ledger import (
    GUEST_MAIL_KINDS,
    DeliverySum,
    GuestLedger,
    SentMessage,
    Stage,
    stage_of,
    sum_up,
)
from bot.meetings import notices
from bot.meetings.errors import MeetingError, NotInvited, NotOrganizer
from bot.meetings.model import Invitee, Meeting
from bot.meetings.quota import GuestQuota
from bot.meetings.rows import (
    check_organizer,
    invitee_from_row,
    load_event,
    meeting_from_row,
    new_guest,
    reinstate,
)
from bot.tokens import TokenMinter
from storage.models import Attendee, Event, GuestsViewShown, OutboxEntry

# Longest reason kept from a delivery report.
MAX_REASON = 300
# How long an open Guests view is redrawn as the ledger moves; one left open longer is
# looked at again by pressing Guests.
VIEW_KEPT = timedelta(hours=2)
# Longest note kept to show again on a redrawn Guests view.
MAX_NOTE = 500


class AddressRefused(MeetingError):
    """The corrected address cannot be invited; the message says why."""

    field = "address"

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message)
        self.message = message
        self.values = values

    def translated(self, language: Language) -> str:
        """Return why, in the reader's language."""
        return translator(language).gettext(self.message).format(**self.values)


@dataclass(frozen=True)
class ShownView:
    """A Guests view open in Slack: the meeting and page it shows, Slack's id and hash."""

    meeting_id: int
    view_id: str
    view_hash: str
    page: int
    # What the organizer's last press did, shown again when the view is redrawn.
    note: str = ""


@dataclass(frozen=True)
class AddressFixed:
    """The guest invited in place of a wrong address, and whether that one got a cancellation."""

    invited: Invitee
    wrong_address: str
    cancelled: bool


class DeliveryLedger:
    """Show where guests' e-mails stand; resend an invitation; fix a wrong address."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        tokens: TokenMinter,
        quota: GuestQuota,
        on_deliveries: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._tokens = tokens
        self._quota = quota
        self._on_deliveries = on_deliveries

    async def of_meeting(
        self, team_id: str, user_id: str, meeting_id: int
    ) -> tuple[Meeting, list[GuestLedger]]:
        """Return a meeting and its guests' ledgers, for its organizer only."""
        async with self._sessions() as session:
            event = await load_event(session, team_id, meeting_id)
            if event.organizer_id != user_id:
                raise NotOrganizer(user_id)
            meeting = meeting_from_row(event)
            return meeting, await _ledgers(session, meeting)

    async def sum_of(self, meeting: Meeting) -> DeliverySum:
        """Return the one-line sum of a meeting's ledger, for the organizer's summary."""
        async with self._sessions() as session:
            return sum_up(await _ledgers(session, meeting))

    async def view_shown(self, team_id: str, user_id: str, shown: ShownView) -> None:
        """Remember the Guests view an organizer has open, as Slack last drew it."""
        async with self._sessions.begin() as session:
            event = await load_event(session, team_id, shown.meeting_id)
            if event.organizer_id != user_id:
                return  # only the organizer's own view is redrawn
            await session.merge(
                GuestsViewShown(
                    event_id=shown.meeting_id,
                    user_id=user_id,
                    team_id=team_id,
                    view_id=shown.view_id[:64],
                    view_hash=shown.view_hash[:128],
                    page=shown.page,
                    note=shown.note[:MAX_NOTE],
                    shown_at=utc_now(),
                )
            )

    async def open_view(self, meeting: Meeting) -> ShownView | None:
        """Return the organizer's Guests view of a meeting, if one was drawn lately."""
        async with self._sessions() as session:
            row = await session.get(GuestsViewShown, (meeting.id, meeting.organizer.user_id))
            if row is None or row.team_id != meeting.team_id:
                return None
            if utc_now() - row.shown_at > VIEW_KEPT:
                return None
            return ShownView(row.event_id, row.view_id, row.view_hash, row.page, row.note)

    async def view_gone(self, meeting: Meeting, shown: ShownView) -> None:
        """Forget a Guests view Slack no longer has (closed, or drawn over since)."""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(GuestsViewShown).where(
                    GuestsViewShown.event_id == meeting.id,
                    GuestsViewShown.user_id == meeting.organizer.user_id,
                    GuestsViewShown.view_hash == shown.view_hash,
                )
            )

    async def resend(self, team_id: str, user_id: str, meeting_id: int, attendee_id: int) -> bool:
        """Send a guest their invitation again, as a new message (same UID and SEQUENCE).

        Returns False when one is still on its way: pressing twice sends once.
        """
        async with self._sessions.begin() as session:
            event = await load_event(session, team_id, meeting_id, for_update=True)
            check_organizer(event, user_id)
            attendee = _guest(event, attendee_id)
            waiting = await session.scalar(
                select(OutboxEntry.id).where(
                    OutboxEntry.attendee_id == attendee.id,
                    OutboxEntry.kind == GuestInvitation.kind.value,
                    OutboxEntry.state == "pending",
                )
            )
            if waiting is not None:
                return False
            # A new outbox entry is a new Message-ID; the calendar is the same event.
            attendee.delivery_error = None
            notices.invite(session, event, attendee)
            enqueue(session, team_id, OrganizerSummary(event.id))
        self._on_deliveries()
        return True

    async def fix_address(
        self, team_id: str, user_id: str, meeting_id: int, attendee_id: int, typed: str
    ) -> AddressFixed:
        """Take a wrong address off the meeting and invite the right one in its place.

        The wrong address gets a cancellation only if a message to it was delivered.
        """
        guest = _one_guest(typed)
        async with self._sessions.begin() as session:
            event = await load_event(session, team_id, meeting_id, for_update=True)
            check_organizer(event, user_id)
            wrong = _guest(event, attendee_id)
            if guest.key == wrong.email_key:
                raise AddressRefused(N_("That is the address already invited."))
            by_key = {a.email_key: a for a in event.attendees if a.kind == "guest"}
            right = by_key.get(guest.key)
            if right is not None and right.removed_at is None:
                raise AddressRefused(N_("{address} is invited already."), address=guest.email)
            if right is None:
                await self._quota.count(session, team_id, 1)
                right = new_guest(guest, self._tokens)
                event.attendees.append(right)
            else:
                reinstate(right)  # invited once before: back on the list, answer forgotten
            right.display_name = guest.name or wrong.display_name
            wrong.removed_at = utc_now()
            event.version += 1
            await session.flush()
            taken_back = await _was_delivered(session, wrong)
            if taken_back:
                enqueue(
                    session,
                    team_id,
                    GuestCancellation(
                        event.id, wrong.id, sequence=event.sequence, reason="removed"
                    ),
                )
            notices.invite(session, event, right)
            notices.edited(session, event)
            fixed = AddressFixed(invitee_from_row(right), wrong.email or "", taken_back)
        self._on_deliveries()
        return fixed


def _guest(event: Event, attendee_id: int) -> Attendee:
    """Return a guest invited now, or refuse."""
    attendee = next((a for a in event.attendees if a.id == attendee_id), None)
    if attendee is None or attendee.kind != "guest" or attendee.removed_at is not None:
        raise NotInvited(attendee_id)
    return attendee


def _one_guest(typed: str) -> Guest:
    try:
        guests = parse_guest_list(typed, limit=1)
    except GuestListError as error:
        raise AddressRefused(error.template, **error.values) from error
    if not guests:
        raise AddressRefused(N_("Type the guest's right e-mail address."))
    return guests[0]


async def _was_delivered(session: AsyncSession, attendee: Attendee) -> bool:
    """Tell whether any message to this guest was accepted and not reported bounced."""
    found = await session.scalar(
        select(OutboxEntry.id).where(
            OutboxEntry.attendee_id == attendee.id,
            OutboxEntry.kind.in_(GUEST_MAIL_KINDS),
            OutboxEntry.state == "sent",
            OutboxEntry.report.is_distinct_from("bounced"),
        )
    )
    return found is not None and attendee.delivery_error is None


async def _ledgers(session: AsyncSession, meeting: Meeting) -> list[GuestLedger]:
    rows = await session.execute(
        select(
            OutboxEntry.id,
            OutboxEntry.attendee_id,
            OutboxEntry.kind,
            OutboxEntry.payload,
            OutboxEntry.state,
            OutboxEntry.attempts,
            OutboxEntry.report,
            OutboxEntry.report_reason,
            OutboxEntry.queue_id,
            OutboxEntry.last_error,
            OutboxEntry.created_at,
            OutboxEntry.sent_at,
        )
        .where(
            OutboxEntry.event_id == meeting.id,
            OutboxEntry.kind.in_(GUEST_MAIL_KINDS),
            OutboxEntry.state != "superseded",
        )
        .order_by(OutboxEntry.id)
    )
    sent: dict[int, list[SentMessage]] = defaultdict(list)
    for row in rows:
        stage = stage_of(row.state, row.attempts, row.report)
        sent[row.attendee_id].append(
            SentMessage(
                entry_id=row.id,
                kind=row.kind,
                stage=stage,
                at=row.sent_at or row.created_at,
                queue_id=row.queue_id,
                reason=(row.report_reason or _error_words(row.last_error, stage))[:MAX_REASON],
                update=_is_update(row.kind, row.payload),
            )
        )
    return [_with_error(GuestLedger(g, tuple(sent.get(g.id, ())))) for g in meeting.guests]


def _with_error(ledger: GuestLedger) -> GuestLedger:
    """Show a guest marked undeliverable as bounced, even when no report named the e-mail.

    A report can arrive before the server's 250 was noted, or name only the guest (its
    return path); unless it named the e-mail it was about, the guest's mark is the word
    that counts until the invitation is resent.
    """
    error = ledger.guest.delivery_error
    if error is None or not ledger.messages or ledger.stage is not Stage.ACCEPTED:
        return ledger
    if any(m.stage is Stage.BOUNCED for m in ledger.messages):
        return ledger  # the report named the e-mail it was about
    latest = replace(ledger.messages[-1], stage=Stage.BOUNCED, reason=error[:MAX_REASON])
    return replace(ledger, messages=(*ledger.messages[:-1], latest))


def _is_update(kind: str, payload: dict[str, object] | None) -> bool:
    """Tell whether an invitation carried changes (an update), read as the outbox reads it."""
    try:
        delivery = delivery_from_row(kind, None, 0, dict(payload or {}))
    except (KeyError, TypeError, ValueError):
        return False
    return isinstance(delivery, GuestInvitation) and bool(delivery.changes)


def _error_words(last_error: str | None, stage: Stage) -> str:
    """Return what the mail server said about a retried or refused message."""
    if not last_error or stage not in (Stage.RETRYING, Stage.BOUNCED):
        return ""
    return last_error.partition(": ")[2] or last_error


async def record_report(
    session: AsyncSession,
    attendee_ids: Sequence[int],
    report: str,
    reason: str,
    named: Mapping[int, Sequence[int]] | None = None,
) -> list[int]:
    """Note a delivery report on the e-mails it names; return the meetings concerned.

    `named` maps a guest to the outbox entries whose Message-IDs the report quotes; only
    those that are really e-mails sent to that guest count. A report that names none of
    them is noted on the guest's latest e-mail. A delay never overwrites a bounce: the
    later word on a message that failed is not news.
    """
    events: list[int] = []
    for attendee_id in attendee_ids:
        sent = (
            select(OutboxEntry.id, OutboxEntry.event_id, OutboxEntry.report)
            .where(
                OutboxEntry.attendee_id == attendee_id,
                OutboxEntry.kind.in_(GUEST_MAIL_KINDS),
                OutboxEntry.state == "sent",
            )
            .order_by(OutboxEntry.id.desc())
        )
        entries = (named or {}).get(attendee_id, ())
        rows = []
        if entries:
            rows = list(await session.execute(sent.where(OutboxEntry.id.in_(entries))))
        if not rows:
            rows = list(await session.execute(sent.limit(1)))
        for row in rows:
            if report == "delayed" and row.report == "bounced":
                continue
            await session.execute(
                update(OutboxEntry)
                .where(OutboxEntry.id == row.id)
                .values(report=report, report_reason=reason[:MAX_REASON])
            )
            if row.event_id is not None:
                events.append(row.event_id)
    return list(dict.fromkeys(events))
