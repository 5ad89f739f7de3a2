"""SeriesChanges: cancelling or moving one occurrence of a series, or this one and those after.

What guests' calendars receive, and why this shape (RFC 5545/5546):

- One occurrence cancelled: a METHOD:CANCEL naming it by RECURRENCE-ID to everyone, with a
  SEQUENCE of its own (one above the series'); every later REQUEST of the series carries it
  as an EXDATE. The series' own SEQUENCE is not raised, so invitations still queued for
  the series are not made moot by it.
- One occurrence moved or renamed, or given another place: a METHOD:REQUEST of that
  occurrence alone (RECURRENCE-ID, its own DTSTART, DTEND, SUMMARY and LOCATION) to
  everyone; answers to it are asked again when its time or place changed.
- This one and those after cancelled: the series ends just before it (RRULE with UNTIL)
  and its REQUEST goes to everyone at a new SEQUENCE, which takes the rest out of their
  calendars.
- This one and those after changed (as Google Calendar and Outlook do it): the series
  ends before it in the same way, and a new series (a new UID, its own meeting, the same
  members and guests, answers asked again) starts at it with the changes, its invitations
  sent to everyone. Calendars know no "from here on" for one UID, so two UIDs it is.
  Meetings after it that were cancelled or changed one by one stay so in the new series
  (its EXDATEs and RECURRENCE-ID VEVENTs): see series_split.py.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import utc_now
from bot.deliveries import GuestCancellation, GuestInvitation, MemberInvitation, MemberNotice
from bot.deliveries import enqueue as _enqueue
from bot.drafts import MAX_LENGTH, PAST_GRACE, MeetingDraft
from bot.i18n import N_, language_of
from bot.meetings import notices
from bot.meetings.errors import (
    OccurrenceNotFound,
    OccurrenceTimeRefused,
    ReplyRefused,
)
from bot.meetings.files import MeetingFiles
from bot.meetings.model import (
    Answer,
    Change,
    ChangedField,
    Decision,
    Meeting,
    OccurrenceEdit,
    Organizer,
    Revision,
    SeriesSplit,
    time_change_text,
)
from bot.meetings.occurrences import occurrence_of, one_occurrence, series_occurrences
from bot.meetings.recurrence import series_end, truncated_before, zone_named
from bot.meetings.rows import (
    check_organizer,
    load_event,
    load_for_edit,
    meeting_from_row,
    sync_busy,
)
from bot.meetings.series_reminders import next_series_reminder
from bot.meetings.series_split import keep_single_meetings
from bot.meetings.service import RECONFIRMED, Meetings
from storage.models import Attendee, Event, EventFile, OccurrenceAnswerRow, OccurrenceChangeRow


class SeriesChanges:
    """Change one occurrence of a series, or the series from one occurrence on."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        meetings: Meetings,
        files: MeetingFiles,
        on_deliveries: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._meetings = meetings
        self._files = files
        self._on_deliveries = on_deliveries

    async def cancel_occurrence(
        self, team_id: str, user_id: str, meeting_id: int, recurrence_id: datetime, message: str
    ) -> Meeting:
        """Cancel one occurrence in everyone's calendar; the rest of the series stays."""
        async with self._sessions.begin() as session:
            event = await load_event(session, team_id, meeting_id, for_update=True)
            check_organizer(event, user_id)
            wanted = _occurrence(event, recurrence_id)
            change = _change_row(event, wanted)
            change.cancelled = True
            change.start_at = change.end_at = None
            change.sequence = max(change.sequence, event.sequence) + 1
            change.note = message.strip()[:1000]
            for answer in [a for a in event.occurrence_answers if a.recurrence_id == wanted]:
                event.occurrence_answers.remove(answer)
            event.version += 1
            event.reminder_due_at = next_series_reminder(event, utc_now())
            _occurrence_cancelled(session, event, wanted, change.sequence)
            meeting = meeting_from_row(event)
        self._on_deliveries()
        return meeting

    async def cancel_following(
        self, team_id: str, user_id: str, meeting_id: int, recurrence_id: datetime, message: str
    ) -> Meeting:
        """End the series before this occurrence; from its first one, cancel it whole."""
        first = await self._first_occurrence(team_id, meeting_id)
        if first is not None and first == recurrence_id.astimezone(UTC):
            return await self._meetings.cancel(team_id, user_id, meeting_id, message)
        async with self._sessions.begin() as session:
            event = await load_event(session, team_id, meeting_id, for_update=True)
            check_organizer(event, user_id)
            await _end_before(session, event, _occurrence(event, recurrence_id))
            meeting = meeting_from_row(event)
        self._on_deliveries()
        return meeting

    async def edit_following(
        self,
        team_id: str,
        user_id: str,
        meeting_id: int,
        expected_version: int,
        recurrence_id: datetime,
        draft: MeetingDraft,
    ) -> Revision | SeriesSplit:
        """Change the series from this occurrence on: end it before, go on as a new series.

        From its first occurrence on, that is the whole series, edited as one.
        """
        first = await self._first_occurrence(team_id, meeting_id)
        if first is not None and first == recurrence_id.astimezone(UTC):
            return await self._meetings.update(
                team_id, user_id, meeting_id, expected_version, draft
            )
        uploads = await self._files.download(team_id, draft.new_files)
        async with self._sessions.begin() as session:
            event = await load_for_edit(session, team_id, meeting_id, user_id, expected_version)
            wanted = _occurrence(event, recurrence_id)
            kept = draft.kept_file_ids
            copies = [
                await _file_copy(session, attached)
                for attached in event.files
                if kept is None or attached.id in kept
            ]
            # The meetings after it changed one by one, read before the old series forgets them.
            before = meeting_from_row(event)
            await _end_before(session, event, wanted)
            organizer = Organizer(
                event.organizer_id, event.organizer_name, event.organizer_email, event.timezone
            )
            started = await self._meetings.add_event(
                session,
                team_id,
                organizer,
                draft,
                copies + uploads,
                mailbox=event.mailbox,
                guest_language=language_of(event.language),
                invited_before=frozenset(a.email_key for a in event.attendees if a.email_key),
            )
            keep_single_meetings(before, started, wanted)
            split = SeriesSplit(meeting_from_row(event), meeting_from_row(started))
        self._on_deliveries()
        return split

    async def change_occurrence(
        self,
        team_id: str,
        user_id: str,
        meeting_id: int,
        recurrence_id: datetime,
        edit: OccurrenceEdit,
    ) -> Meeting:
        """Give one occurrence another time, title or place; everyone gets its own REQUEST."""
        _check_edit(edit)
        async with self._sessions.begin() as session:
            event = await load_event(session, team_id, meeting_id, for_update=True)
            check_organizer(event, user_id)
            wanted = _occurrence(event, recurrence_id)
            changes = _occurrence_changes(one_occurrence(meeting_from_row(event), wanted), edit)
            if not changes:
                return meeting_from_row(event)
            change = _change_row(event, wanted)
            change.cancelled = False
            change.start_at, change.end_at = edit.start, edit.end
            change.title = edit.title if edit.title != event.title else None
            change.location = edit.location if edit.location != event.location else None
            change.sequence = max(change.sequence, event.sequence) + 1
            if any(c.field in RECONFIRMED for c in changes):
                # A new time or place: answers to this occurrence are asked again.
                for answer in [a for a in event.occurrence_answers if a.recurrence_id == wanted]:
                    event.occurrence_answers.remove(answer)
            event.version += 1
            event.reminder_due_at = next_series_reminder(event, utc_now())
            _occurrence_changed(session, event, wanted, change.sequence, tuple(changes))
            meeting = meeting_from_row(event)
        self._on_deliveries()
        return meeting

    async def _first_occurrence(self, team_id: str, meeting_id: int) -> datetime | None:
        meeting = await self._meetings.get(team_id, meeting_id)
        found = series_occurrences(meeting, limit=1)
        return found[0].recurrence_id if found and meeting.series else None


async def _end_before(session: AsyncSession, event: Event, wanted: datetime) -> None:
    """End the series the day before an occurrence and send everyone the shortened series."""
    assert event.rrule is not None
    before = event.rrule
    zone = zone_named(event.timezone)
    event.rrule = truncated_before(before, wanted, zone)
    event.series_end_at = series_end(event.rrule, event.start_at, event.end_at, zone)
    for change in [c for c in event.occurrence_changes if c.recurrence_id >= wanted]:
        event.occurrence_changes.remove(change)
    for answer in [a for a in event.occurrence_answers if a.recurrence_id >= wanted]:
        event.occurrence_answers.remove(answer)
    event.sequence += 1
    event.version += 1
    event.reminder_due_at = next_series_reminder(event, utc_now())
    sync_busy(event)
    await session.flush()
    changes = [Change(ChangedField.REPEATS, before, event.rrule)]
    notices.revised(session, event, changes, [], [], time_moved=False)
    notices.edited(session, event)


async def _file_copy(session: AsyncSession, attached: EventFile) -> EventFile:
    """Return a copy of an attached file for the new series (its own download link)."""
    content = await session.scalar(select(EventFile.content).where(EventFile.id == attached.id))
    return EventFile(
        slack_file_id=attached.slack_file_id,
        name=attached.name,
        mimetype=attached.mimetype,
        size=attached.size,
        public_key=secrets.token_urlsafe(24),
        content=content or b"",
    )


def _occurrence(event: Event, recurrence_id: datetime) -> datetime:
    """Return the RECURRENCE-ID of a live occurrence of the event's series, or refuse."""
    meeting = meeting_from_row(event)
    occurrence = occurrence_of(meeting, recurrence_id) if meeting.series else None
    if occurrence is None:
        raise OccurrenceNotFound(recurrence_id)
    return occurrence.recurrence_id


def _check_edit(edit: OccurrenceEdit) -> None:
    """Refuse a time in the past, ending before it starts or longer than a meeting; no title."""
    if not edit.title.strip():
        raise OccurrenceTimeRefused(N_("Give the meeting a title."), "title")
    if edit.start < utc_now() - PAST_GRACE:
        raise OccurrenceTimeRefused(
            N_("That time has already passed; pick a time in the future."), "start"
        )
    if edit.end <= edit.start:
        raise OccurrenceTimeRefused(N_("The end must be after the start."), "end")
    if edit.end - edit.start > MAX_LENGTH:
        raise OccurrenceTimeRefused(N_("A meeting can last at most 24 hours."), "end")


def _occurrence_changes(pictured: Meeting, edit: OccurrenceEdit) -> list[Change]:
    """Return what the edit changes in one occurrence as it is now, in words."""
    changes = []
    if (pictured.start, pictured.end) != (edit.start, edit.end):
        was, now = (pictured.start, pictured.end), (edit.start, edit.end)
        changes.append(Change(ChangedField.TIME, time_change_text(*was), time_change_text(*now)))
    if pictured.title != edit.title:
        changes.append(Change(ChangedField.TITLE, pictured.title, edit.title))
    if pictured.location != edit.location:
        changes.append(Change(ChangedField.PLACE, pictured.location, edit.location))
    return changes


def _change_row(event: Event, recurrence_id: datetime) -> OccurrenceChangeRow:
    """Return the occurrence's change row, added if it has none yet."""
    for change in event.occurrence_changes:
        if change.recurrence_id == recurrence_id:
            return change
    change = OccurrenceChangeRow(recurrence_id=recurrence_id, sequence=0, note="")
    event.occurrence_changes.append(change)
    return change


def _occurrence_changed(
    session: AsyncSession,
    event: Event,
    recurrence_id: datetime,
    sequence: int,
    changes: tuple[Change, ...],
) -> None:
    """Tell everyone one occurrence changed: members in Slack, guests by its own REQUEST."""
    occurrence = recurrence_id.isoformat()
    for attendee in event.attendees:
        if attendee.removed_at is not None:
            continue
        if attendee.kind == "member":
            notice = MemberNotice(
                event.id, attendee.id, reason="changed", changes=changes, occurrence=occurrence
            )
            _enqueue(session, event.team_id, notice)
            _enqueue(session, event.team_id, MemberInvitation(event.id, attendee.id))
        else:
            invitation = GuestInvitation(
                event.id, attendee.id, sequence=sequence, changes=changes, occurrence=occurrence
            )
            _enqueue(session, event.team_id, invitation)
    notices.edited(session, event)


def _occurrence_cancelled(
    session: AsyncSession, event: Event, recurrence_id: datetime, sequence: int
) -> None:
    """Tell everyone one occurrence is off: members in Slack, guests' calendars by CANCEL."""
    occurrence = recurrence_id.isoformat()
    for attendee in event.attendees:
        if attendee.removed_at is not None:
            continue
        if attendee.kind == "member":
            if attendee.response != Answer.DECLINED.value:
                _enqueue(
                    session,
                    event.team_id,
                    MemberNotice(event.id, attendee.id, reason="cancelled", occurrence=occurrence),
                )
            _enqueue(session, event.team_id, MemberInvitation(event.id, attendee.id))
        else:
            _enqueue(
                session,
                event.team_id,
                GuestCancellation(
                    event.id,
                    attendee.id,
                    sequence=sequence,
                    reason="cancelled",
                    occurrence=occurrence,
                ),
            )
    notices.edited(session, event)


def record_occurrence_answer(
    session: AsyncSession,
    event: Event,
    attendee: Attendee,
    recurrence_id: datetime,
    answer: Answer,
    comment: str,
) -> Decision:
    """Store a guest's answer to one occurrence (a REPLY naming RECURRENCE-ID) beside theirs.

    Their answer to the series stays as it was; the organizer's summary shows both.
    """
    meeting = meeting_from_row(event)
    occurrence = occurrence_of(meeting, recurrence_id)
    if occurrence is None:
        raise ReplyRefused(f"RECURRENCE-ID {recurrence_id.isoformat()} is no occurrence")
    row = next(
        (
            a
            for a in event.occurrence_answers
            if a.attendee_id == attendee.id and a.recurrence_id == occurrence.recurrence_id
        ),
        None,
    )
    changed = row is None or (row.response, row.comment) != (answer.value, comment)
    if row is None:
        row = OccurrenceAnswerRow(
            event_id=event.id, attendee_id=attendee.id, recurrence_id=occurrence.recurrence_id
        )
        event.occurrence_answers.append(row)
    row.response, row.comment, row.responded_at = answer.value, comment, utc_now()
    if changed:
        notices.edited(session, event)
    meeting = meeting_from_row(event)
    return Decision(meeting=meeting, invitee=meeting.invitee(attendee.id), changed=changed)
