"""What a meeting is: the vocabulary every layer speaks, plain frozen dataclasses.

Nothing here touches the database, Slack or mail; builders (Block Kit, iCalendar, e-mail)
and the service all read these.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cached_property

from bot.i18n import DEFAULT_LANGUAGE, N_, Language


class Answer(StrEnum):
    """An invitee's answer, spelled as iCalendar's PARTSTAT in lower case."""

    NEEDS_ACTION = "needs-action"
    ACCEPTED = "accepted"
    TENTATIVE = "tentative"
    DECLINED = "declined"


PARTSTAT_ANSWERS = {
    "ACCEPTED": Answer.ACCEPTED,
    "TENTATIVE": Answer.TENTATIVE,
    "DECLINED": Answer.DECLINED,
    "DELEGATED": Answer.DECLINED,
}


@dataclass(frozen=True)
class MailedAnswer:
    """An answer a guest's mail program sent: a REPLY, or a COUNTER proposing a new time."""

    method: str
    uid: str
    sequence: int
    attendee: str
    sender: str
    partstat: str | None
    comment: str
    proposed_start: datetime | None = None
    proposed_end: datetime | None = None
    # The sender's domain vouched for the message (DKIM, or a trusted Authentication-Results).
    authenticated: bool = False
    sender_name: str = ""
    # Recipient hashes of our Message-IDs for this event the reply refers to (In-Reply-To,
    # References): whose invitation was answered, when the answer comes from another address.
    answered_for: tuple[str, ...] = ()
    # The occurrence of a series answered (its RECURRENCE-ID); None: the whole series.
    recurrence_id: datetime | None = None


@dataclass(frozen=True)
class Bounce:
    """A report that mail to a guest could not be delivered."""

    reason: str
    # (event uid before the @, recipient hash) pairs from our Message-IDs quoted in the report
    messages: tuple[tuple[str, str], ...] = ()
    recipients: tuple[str, ...] = ()
    # Attendee ids named by a verified return path (VERP) the report was sent to.
    attendee_ids: tuple[int, ...] = ()
    # (event uid before the @, recipient hash, outbox entry) from quoted Message-IDs: which
    # e-mail it is about, believed only for a guest the report is proven to be about.
    entries: tuple[tuple[str, str, int], ...] = ()


class HeldReason(StrEnum):
    """Why an e-mailed answer waits for the organizer instead of being recorded."""

    # From the invited address, but nothing vouches that the guest really sent it.
    UNVERIFIED = "unverified"
    # From another address than the invited one (an alias, an assistant, a co-guest).
    OTHER_SENDER = "other-sender"
    # For a person not on the guest list (a forwarded invitation, an alias in the calendar).
    NOT_INVITED = "not-invited"


@dataclass(frozen=True)
class HeldAnswer:
    """An e-mailed answer the organizer is asked to record, add its sender, or ignore."""

    id: int
    meeting_id: int
    # The guest it may be recorded for, if Meetbot can tell who.
    attendee_id: int | None
    reason: HeldReason
    sender: str
    # The address the calendar answered for (its ATTENDEE line).
    address: str
    name: str
    method: str
    partstat: str | None
    comment: str
    proposed_start: datetime | None
    proposed_end: datetime | None
    status: str


@dataclass(frozen=True)
class Proposal:
    """A guest's proposal of another time for a meeting."""

    id: int
    meeting_id: int
    attendee_id: int
    start: datetime
    end: datetime
    comment: str
    status: str


def recipient_hash(address: str) -> str:
    """Return the short hash of a guest's address that our Message-IDs carry."""
    return hashlib.sha256(address.lower().encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Organizer:
    """The workspace member who sets up a meeting, as their profile describes them."""

    user_id: str
    name: str
    email: str | None
    timezone: str


@dataclass(frozen=True)
class Invitee:
    """One invited person and their answer so far."""

    id: int
    kind: str
    slack_user_id: str | None
    email: str | None
    name: str
    answer: Answer
    comment: str
    token_salt: str | None
    removed: bool = False
    delivery_error: str | None = None
    token_hash: str | None = None
    # How a guest's answer reached Meetbot: mail, page or organizer (None: not answered).
    answered_via: str | None = None

    @property
    def is_member(self) -> bool:
        """Tell whether this is a workspace member (answers in Slack) rather than a guest."""
        return self.kind == "member"

    def guest_label(self) -> str:
        """Return a guest as people read them: `Name <addr>` or the bare address."""
        if self.name and self.name != self.email:
            return f"{self.name} <{self.email}>"
        return self.email or ""


@dataclass(frozen=True)
class AttachedFile:
    """A file attached to a meeting (its content is loaded only when sent)."""

    id: int
    name: str
    mimetype: str
    size: int
    public_key: str


@dataclass(frozen=True)
class OccurrenceChange:
    """One occurrence of a series the organizer cancelled or changed, named by its first start.

    `recurrence_id` is the start the series' rule gives it (UTC), as RECURRENCE-ID names it.
    """

    recurrence_id: datetime
    cancelled: bool
    start: datetime | None = None
    end: datetime | None = None
    # The SEQUENCE this occurrence's own REQUEST or CANCEL went out with.
    sequence: int = 0
    # The organizer's message to everyone when they cancelled or moved it.
    note: str = ""
    # Its own title and place, when the organizer changed them for it alone.
    title: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class OccurrenceEdit:
    """What the organizer asks of one occurrence of a series: its time, title and place."""

    start: datetime
    end: datetime
    title: str
    location: str


@dataclass(frozen=True)
class OccurrenceAnswer:
    """An invitee's answer to one occurrence of a series, apart from their answer to it all."""

    attendee_id: int
    recurrence_id: datetime
    answer: Answer
    comment: str = ""


@dataclass(frozen=True)
class Series:
    """How a meeting repeats: its normalised RRULE and the occurrences changed one by one."""

    rule: str
    changes: tuple[OccurrenceChange, ...] = ()
    answers: tuple[OccurrenceAnswer, ...] = ()

    @property
    def cancelled_starts(self) -> tuple[datetime, ...]:
        """Return the starts of the occurrences taken out of the series (its EXDATEs)."""
        return tuple(c.recurrence_id for c in self.changes if c.cancelled)

    @property
    def moved(self) -> tuple[OccurrenceChange, ...]:
        """Return the occurrences given another time (sent as their own RECURRENCE-ID)."""
        return tuple(c for c in self.changes if not c.cancelled)


@dataclass(frozen=True)
class Meeting:
    """A read-only picture of a meeting and everyone ever invited to it."""

    id: int
    uid: str
    team_id: str
    organizer: Organizer
    title: str
    start: datetime
    end: datetime
    location: str
    description: str
    notify_on_decision: bool
    sequence: int
    version: int
    status: str
    created_at: datetime
    attendees: tuple[Invitee, ...]
    files: tuple[AttachedFile, ...] = ()
    reminder_minutes: int | None = None
    remind_guests: bool = False
    cancel_message: str = ""
    # Address of the sending mailbox guests' mail comes from; None means the default one.
    mailbox: str | None = None
    # The language of the guests' e-mails and pages.
    language: Language = DEFAULT_LANGUAGE
    # The video room Meetbot made for the meeting, or "" (a link in "Where" is the organizer's).
    video_url: str = ""
    # How the meeting repeats (bot/meetings/recurrence.py); None for a single meeting.
    series: Series | None = None
    # Set when this picture is one occurrence of a series: the start its rule gives it.
    recurrence_id: datetime | None = None

    @property
    def cancelled(self) -> bool:
        """Tell whether the organizer cancelled the meeting."""
        return self.status == "cancelled"

    @property
    def invitees(self) -> list[Invitee]:
        """Return the people invited now (not those taken off the list)."""
        return [i for i in self.attendees if not i.removed]

    @property
    def members(self) -> list[Invitee]:
        """Return the workspace members invited."""
        return [i for i in self.invitees if i.is_member]

    @property
    def guests(self) -> list[Invitee]:
        """Return the outside guests invited."""
        return [i for i in self.invitees if not i.is_member]

    def invitee(self, invitee_id: int) -> Invitee:
        """Return the attendee with this id, even one taken off the list (KeyError if none)."""
        return self._attendees_by_id[invitee_id]

    @cached_property
    def _attendees_by_id(self) -> dict[int, Invitee]:
        # A fan-out looks up each of a thousand guests: by id, not by walking the list.
        return {i.id: i for i in self.attendees}

    def member(self, user_id: str) -> Invitee | None:
        """Return a workspace member's invitation, if they are invited now."""
        return next((i for i in self.members if i.slack_user_id == user_id), None)

    def tally(self) -> dict[Answer, int]:
        """Count the invitees by answer."""
        counts = dict.fromkeys(Answer, 0)
        for invitee in self.invitees:
            counts[invitee.answer] += 1
        return counts


class ChangedField(StrEnum):
    """What an edit can change, named as the English words shown (translated on display)."""

    TIME = N_("Time")
    TITLE = N_("Title")
    PLACE = N_("Place")
    DESCRIPTION = N_("Description")
    FILES = N_("Files")
    VIDEO = N_("Video call")
    REPEATS = N_("Repeats")


@dataclass(frozen=True)
class Change:
    """One thing an edit changed, in words: `Time: Tue 14:00 → Tue 15:00`.

    A time change keeps `start/end` as ISO text (`time_change_text`).
    """

    field: ChangedField
    before: str
    after: str


@dataclass(frozen=True)
class Decision:
    """The outcome of recording an answer."""

    meeting: Meeting
    invitee: Invitee
    changed: bool


@dataclass(frozen=True)
class Revision:
    """The outcome of an edit: the meeting as it is now and what changed."""

    meeting: Meeting
    changes: tuple[Change, ...]
    settings_changed: bool
    # Who the edit invited and who it took off the list.
    added: tuple[Invitee, ...] = ()
    removed: tuple[Invitee, ...] = ()

    @property
    def changed(self) -> bool:
        """Tell whether anything at all was saved."""
        return bool(self.changes or self.added or self.removed) or self.settings_changed


@dataclass(frozen=True)
class SeriesSplit:
    """A series changed from one occurrence on: the old one ended before it, a new one from it."""

    ended: Meeting
    started: Meeting


@dataclass(frozen=True)
class Agenda:
    """A person's upcoming meetings: those they organize and those they are invited to."""

    organizing: list[Meeting]
    invited: list[tuple[Meeting, Invitee]]


def time_change_text(start: datetime, end: datetime) -> str:
    """Return a start and end as a time change stores them."""
    return f"{start.isoformat()}/{end.isoformat()}"


def parse_time_text(text: str) -> tuple[datetime, datetime]:
    """Return the start and end stored in a time change."""
    start, _, end = text.partition("/")
    return datetime.fromisoformat(start), datetime.fromisoformat(end)
