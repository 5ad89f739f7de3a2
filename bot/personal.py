"""A member's own things, as every layer reads them: settings, working hours, free/busy.

Plain frozen dataclasses; the services that store and compute them live in preferences.py,
availability.py and feeds.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

from bot.drafts import DEFAULT_REMINDER

# The languages guests' e-mails and pages can be written in.
GUEST_LANGUAGES = ("en", "pl")


@dataclass(frozen=True)
class WorkingHours:
    """When a member works, in their own time zone."""

    start: time = time(9, 0)
    end: time = time(18, 0)
    days: frozenset[int] = frozenset(range(5))  # Monday to Friday

    def covers(self, start: datetime, end: datetime, zone: ZoneInfo) -> bool:
        """Tell whether a span lies inside one working day in a zone."""
        local_start, local_end = start.astimezone(zone), end.astimezone(zone)
        if local_start.weekday() not in self.days or local_start.date() != local_end.date():
            return False
        return local_start.time() >= self.start and local_end.time() <= self.end


@dataclass(frozen=True)
class PersonalSettings:
    """What one member chose, or the defaults while they chose nothing."""

    reminder_minutes: int | None = DEFAULT_REMINDER
    notify_on_decision: bool = False
    working_hours: WorkingHours = field(default_factory=WorkingHours)
    # Language of the person's guests' e-mails and pages; None: the person's Slack language.
    guest_language: str | None = None
    # The sending mailbox the person confirmed; None until they saw the question once.
    mailbox: str | None = None
    # New meetings start with "Add a video call" ticked.
    video_default: bool = False


@dataclass(frozen=True)
class Busy:
    """A time someone is taken; the title only where the person asking may see it."""

    start: datetime
    end: datetime
    title: str | None = None


@dataclass(frozen=True)
class BusyAsked:
    """Whose busy times are asked for, within which span, and by whom.

    Titles are shown only to a `viewer` who organizes or is invited to the meeting (none
    for ""); `ignore_meeting` is the one being edited, which keeps no one from itself.
    """

    team_id: str
    user_ids: tuple[str, ...]
    start: datetime
    end: datetime
    viewer: str = ""
    ignore_meeting: int | None = None


@dataclass(frozen=True)
class MemberStatus:
    """One member at the time being planned: free or busy, and their own local time."""

    user_id: str
    clashes: tuple[Busy, ...]
    local_start: datetime
    outside_hours: bool

    @property
    def free(self) -> bool:
        """Tell whether nothing clashes."""
        return not self.clashes


@dataclass(frozen=True)
class FeedStatus:
    """A member's connected calendar as the Home tab shows it."""

    host: str
    fetched_at: datetime | None
    last_error: str | None
