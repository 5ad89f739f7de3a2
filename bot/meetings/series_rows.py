"""Writing how a meeting repeats onto its event row, keeping what still means something."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clock import utc_now
from bot.meetings.recurrence import occurrences, series_end, zone_named
from bot.meetings.series_reminders import next_series_reminder
from storage.models import Event


def set_series(event: Event, rule: str | None, *, moved: bool = False) -> None:
    """Write how the event repeats, after its start and end were written.

    Occurrences are named by the start the rule gives them (RECURRENCE-ID): once the rule or
    the first start changes, those names point at nothing. Moves and answers of single
    meetings are then forgotten; a cancelled meeting stays cancelled when the new series
    still meets that day. The reminder is due before the next occurrence whose reminder is
    still to come: a series starting sooner than its reminder is reminded from the second.
    """
    renamed = bool(event.rrule) and (moved or rule != event.rrule)
    if renamed:
        for change in [c for c in event.occurrence_changes if not c.cancelled]:
            event.occurrence_changes.remove(change)
        event.occurrence_answers.clear()
    event.rrule = rule
    event.series_end_at = None
    if not rule:
        event.occurrence_changes.clear()
        return
    zone = zone_named(event.timezone)
    event.series_end_at = series_end(rule, event.start_at, event.end_at, zone)
    if renamed:
        # Kept rows are renamed in place: a delete and an insert of one name may be flushed
        # in the wrong order for the unique constraint.
        clock = event.start_at.astimezone(zone).time()
        for change in list(event.occurrence_changes):
            day = change.recurrence_id.astimezone(zone).date()
            same_day = datetime.combine(day, clock, zone).astimezone(UTC)
            found = occurrences(
                rule, event.start_at, zone, after=same_day, before=same_day + timedelta(seconds=1)
            )
            if found:
                change.recurrence_id = found[0]
            else:
                event.occurrence_changes.remove(change)
    event.reminder_due_at = next_series_reminder(event, utc_now())
