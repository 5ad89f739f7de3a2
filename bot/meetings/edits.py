"""What an organizer's edit changes: fields in words, and who joins or leaves the list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.clock import utc_now
from bot.drafts import MeetingDraft, reminder_due
from bot.guests import Guest
from bot.meetings.model import Change, ChangedField, Meeting, time_change_text
from storage.models import Event, EventFile


@dataclass(frozen=True)
class Membership:
    """Who an edit adds to and takes off the list (members by Slack id, guests by address)."""

    added_members: tuple[str, ...]
    removed_members: tuple[str, ...]
    added_guests: tuple[Guest, ...]
    removed_guests: tuple[str, ...]

    @property
    def any(self) -> bool:
        """Tell whether the list changes at all."""
        return bool(
            self.added_members or self.removed_members or self.added_guests or self.removed_guests
        )


def membership_changes(before: Meeting, draft: MeetingDraft) -> Membership:
    """Return who the draft adds and takes off, compared with the meeting as it is."""
    current_members = [m.slack_user_id for m in before.members if m.slack_user_id]
    current_guests = [(g.email or "").lower() for g in before.guests]
    wanted_guest_keys = {g.key for g in draft.guests}
    return Membership(
        added_members=tuple(m for m in draft.member_ids if m not in current_members),
        removed_members=tuple(m for m in current_members if m not in draft.member_ids),
        added_guests=tuple(g for g in draft.guests if g.key not in current_guests),
        removed_guests=tuple(k for k in current_guests if k not in wanted_guest_keys),
    )


def describe_changes(
    before: Meeting, draft: MeetingDraft, uploads: Sequence[EventFile]
) -> list[Change]:
    """Return what the draft changes that every attendee is told about, field by field."""
    changes: list[Change] = []
    if (before.start, before.end) != (draft.start, draft.end):
        changes.append(
            Change(
                ChangedField.TIME,
                time_change_text(before.start, before.end),
                time_change_text(draft.start, draft.end),
            )
        )
    for label, old, new in (
        (ChangedField.TITLE, before.title, draft.title),
        (ChangedField.PLACE, before.location, draft.location),
        (ChangedField.DESCRIPTION, before.description, draft.description),
    ):
        if old != new:
            changes.append(Change(label, old, new))
    rule_before = before.series.rule if before.series else ""
    if rule_before != (draft.rrule or ""):
        # Both rules as RRULE text; shown in words where the change is read.
        changes.append(Change(ChangedField.REPEATS, rule_before, draft.rrule or ""))
    kept = set(draft.kept_file_ids) if draft.kept_file_ids is not None else None
    dropped = [f.name for f in before.files if kept is not None and f.id not in kept]
    if dropped or uploads:
        # No files reads as "none" in the reader's language, where the change is shown.
        old_names = ", ".join(f.name for f in before.files)
        remaining = [f.name for f in before.files if kept is None or f.id in kept]
        new_names = ", ".join(remaining + [u.name for u in uploads])
        changes.append(Change(ChangedField.FILES, old_names, new_names))
    return changes


def apply_fields(event: Event, draft: MeetingDraft, uploads: list[EventFile]) -> None:
    """Write the edited fields and files onto the event row."""
    event.title = draft.title
    event.start_at = draft.start
    event.end_at = draft.end
    event.location = draft.location
    event.description = draft.description
    event.notify_on_decision = draft.notify
    event.reminder_minutes = draft.reminder_minutes
    event.remind_guests = draft.remind_guests
    event.reminder_due_at = reminder_due(draft.start, draft.reminder_minutes, utc_now())
    event.version += 1
    kept_files = set(draft.kept_file_ids or ())
    for attached in list(event.files):
        if draft.kept_file_ids is not None and attached.id not in kept_files:
            event.files.remove(attached)
    event.files.extend(uploads)
