"""What a series going on as a new one keeps of the old one's meetings changed one by one.

"This meeting and all after it" ends the series before the chosen meeting and starts a new
one (a new UID) at it. The meetings after it that the organizer had cancelled, moved,
renamed or given another place were decisions about those days, taken after the series'
own values; an edit of the series from an earlier meeting on does not undo them, so they
go on in the new series, named by the new series' own occurrence on the same day:

- A cancelled meeting stays cancelled, whatever the edit (its day was off, a holiday, a
  trip): an EXDATE in the new series.
- A moved meeting keeps the time it was moved to: that time was picked for that day alone.
  A meeting whose only change was its title or place (Meetbot writes its time too) was
  never moved, so it follows the new series' time; and a move to exactly the new series'
  time is no exception any more.
- Its own title and place stay, unless they are now the new series' own.
- A day the new series does not meet on has no occurrence to carry anything to: the
  exception, and the answers to that meeting, are left with the old series' end.

Answers given to one meeting follow when the meeting is at the time and place it was
answered for; where that changed, they are asked again, as after any move.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from bot.meetings.model import Invitee, Meeting, OccurrenceChange
from bot.meetings.occurrences import one_occurrence
from bot.meetings.recurrence import occurrences, zone_named
from bot.meetings.rows import meeting_from_row
from storage.models import Event, OccurrenceAnswerRow, OccurrenceChangeRow


def keep_single_meetings(old: Meeting, new: Event, split_at: datetime) -> None:
    """Carry the old series' changed meetings after `split_at`, and answers to them, to `new`.

    `new` is the series going on from `split_at`, its attendees already numbered.
    """
    if old.series is None or not new.rrule:
        return
    renamed = _same_days(old, new.rrule, new.start_at, split_at)
    for change in old.series.changes:
        if change.recurrence_id in renamed:
            row = _carried_change(old, new, change, renamed[change.recurrence_id])
            if row is not None:
                new.occurrence_changes.append(row)
    _carry_answers(old, new, renamed)


def _same_days(
    old: Meeting, rule: str, start: datetime, split_at: datetime
) -> dict[datetime, datetime]:
    """Return the new series' occurrence on the day of each changed or answered old one."""
    assert old.series is not None
    zone = zone_named(old.organizer.timezone)
    named = {c.recurrence_id for c in old.series.changes}
    named |= {a.recurrence_id for a in old.series.answers}
    renamed = {}
    for recurrence_id in sorted(r for r in named if r > split_at):
        day = recurrence_id.astimezone(zone).date()
        midnight = datetime.combine(day, time.min, zone).astimezone(UTC)
        next_midnight = datetime.combine(day + timedelta(days=1), time.min, zone).astimezone(UTC)
        # Meetbot's rules meet at most once a day: the day names the occurrence.
        found = occurrences(rule, start, zone, after=midnight, before=next_midnight, limit=1)
        if found:
            renamed[recurrence_id] = found[0]
    return renamed


def _carried_change(
    old: Meeting, new: Event, change: OccurrenceChange, recurrence_id: datetime
) -> OccurrenceChangeRow | None:
    """Return the new series' row for one changed old meeting; None if nothing is left of it."""
    # A new UID: no calendar has seen this occurrence yet, so its SEQUENCE starts over.
    row = OccurrenceChangeRow(recurrence_id=recurrence_id, sequence=0, note=change.note)
    if change.cancelled:
        row.cancelled = True
        return row
    usual = (recurrence_id, recurrence_id + (new.end_at - new.start_at))
    was_usual = (change.recurrence_id, change.recurrence_id + (old.end - old.start))
    start, end = usual
    moved_to = (change.start, change.end)
    if change.start is not None and change.end is not None and moved_to != was_usual:
        start, end = change.start, change.end
    row.cancelled = False
    row.start_at, row.end_at = start, end
    row.title = change.title if change.title not in (None, new.title) else None
    row.location = change.location if change.location not in (None, new.location) else None
    if (start, end) == usual and row.title is None and row.location is None:
        return None
    return row


def _carry_answers(old: Meeting, new: Event, renamed: dict[datetime, datetime]) -> None:
    """Keep each answer to one old meeting the new series still holds at that time and place."""
    assert old.series is not None
    going_on = meeting_from_row(new)
    people = {_person(i): i for i in going_on.invitees}
    for given in old.series.answers:
        recurrence_id = renamed.get(given.recurrence_id)
        attendee = people.get(_person(old.invitee(given.attendee_id)))
        if recurrence_id is None or attendee is None:
            continue
        was = one_occurrence(old, given.recurrence_id)
        now = one_occurrence(going_on, recurrence_id)
        if (was.start, was.end, was.location) != (now.start, now.end, now.location):
            continue
        new.occurrence_answers.append(
            OccurrenceAnswerRow(
                event_id=new.id,
                attendee_id=attendee.id,
                recurrence_id=recurrence_id,
                response=given.answer.value,
                comment=given.comment,
            )
        )


def _person(invitee: Invitee) -> tuple[str, str]:
    """Return who an invitee is across two meetings: a member's Slack id, a guest's address."""
    if invitee.is_member:
        return "member", invitee.slack_user_id or ""
    return "guest", (invitee.email or "").lower()
