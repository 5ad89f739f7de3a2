"""Meetbot's tables: events, their attendees, the delivery outbox and instance secrets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import UTCDateTime


def utc_now() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every Meetbot table."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


class Event(Base):
    """A meeting one organizer set up in one workspace."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("team_id", "source_view", name="uq_events_source_view"),
        # Free/busy: a workspace's organizers' meetings in a span, from the index alone.
        Index("ix_events_team_organizer", "team_id", "organizer_id", "start_at", "end_at"),
        Index("ix_events_organizer_time", "organizer_id", "start_at", "end_at"),
        # Free/busy: a workspace's series still running; single meetings have no end of
        # series (NULL), which no "ends after" range reaches.
        Index("ix_events_team_series_end", "team_id", "series_end_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(255), unique=True)
    team_id: Mapped[str] = mapped_column(String(32))
    organizer_id: Mapped[str] = mapped_column(String(32))
    organizer_name: Mapped[str] = mapped_column(String(255))
    organizer_email: Mapped[str | None] = mapped_column(String(320))
    timezone: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(255))
    location: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    notify_on_decision: Mapped[bool] = mapped_column(default=False)
    # iCalendar's SEQUENCE: bumped by changes guests' calendars must follow.
    sequence: Mapped[int] = mapped_column(default=0)
    # Bumped by every edit, so two people editing at once cannot overwrite each other unseen.
    version: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="confirmed")
    reminder_minutes: Mapped[int | None]
    remind_guests: Mapped[bool] = mapped_column(default=False)
    # When the next reminder is due; cleared once it is claimed for sending, or on cancel.
    reminder_due_at: Mapped[datetime | None] = mapped_column(index=True)
    cancel_message: Mapped[str] = mapped_column(Text, default="")
    # The language guests read this meeting's e-mails and pages in (an ISO 639-1 code).
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    # The Slack form it was created from: submitting the same form twice creates one meeting.
    source_view: Mapped[str | None] = mapped_column(String(64))
    # The sending mailbox guests' mail comes from (its address); empty means the default one.
    mailbox: Mapped[str | None] = mapped_column(String(320))
    summary_channel: Mapped[str | None] = mapped_column(String(32))
    summary_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    # The video room Meetbot made for this meeting (a full link), kept across edits.
    video_url: Mapped[str | None] = mapped_column(Text)
    # A repeating meeting's RRULE, normalised (bot/meetings/recurrence.py); empty: it happens
    # once. start_at/end_at are then the first occurrence's.
    rrule: Mapped[str | None] = mapped_column(Text)
    # The end of a series' last occurrence, so "not over yet" is one comparison.
    series_end_at: Mapped[datetime | None]

    attendees: Mapped[list[Attendee]] = relationship(
        back_populates="event", order_by="Attendee.id", cascade="all, delete-orphan"
    )
    # Loaded with the event wherever it is: a series is not pictured without them.
    occurrence_changes: Mapped[list[OccurrenceChangeRow]] = relationship(
        order_by="OccurrenceChangeRow.recurrence_id",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    occurrence_answers: Mapped[list[OccurrenceAnswerRow]] = relationship(
        order_by="OccurrenceAnswerRow.id", cascade="all, delete-orphan", lazy="selectin"
    )
    files: Mapped[list[EventFile]] = relationship(
        back_populates="event", order_by="EventFile.id", cascade="all, delete-orphan"
    )


class Attendee(Base):
    """One person invited to an event: a workspace member or an outside guest."""

    __tablename__ = "attendees"
    __table_args__ = (
        # Free/busy reads members' busy times from this index alone (it covers the query).
        Index(
            "ix_attendees_member_busy",
            "slack_user_id",
            "team_id",
            "busy_from",
            "busy_until",
            "event_id",
        ),
        UniqueConstraint("event_id", "slack_user_id", name="uq_attendees_event_member"),
        UniqueConstraint("event_id", "email_key", name="uq_attendees_event_guest"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    # The meeting's workspace, copied here so free/busy needs no join (set by sync_busy).
    team_id: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    slack_user_id: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(320))
    # Lower-cased address: guests are matched case-insensitively.
    email_key: Mapped[str | None] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    response: Mapped[str] = mapped_column(String(16), default="needs-action")
    comment: Mapped[str] = mapped_column(Text, default="")
    responded_at: Mapped[datetime | None]
    token_salt: Mapped[str | None] = mapped_column(String(64))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    dm_channel: Mapped[str | None] = mapped_column(String(32))
    dm_ts: Mapped[str | None] = mapped_column(String(32))
    # Set when the organizer takes the person off the list; the row stays for the cancellation.
    removed_at: Mapped[datetime | None]
    # Why mail to this guest bounced, as the receiving server put it.
    delivery_error: Mapped[str | None] = mapped_column(Text)
    # The meeting's time while it keeps this member busy (invited, not declined, not
    # cancelled), else empty: availability reads it straight from one index.
    busy_from: Mapped[datetime | None]
    busy_until: Mapped[datetime | None]
    # How the answer came: mail (their calendar), page (their link), organizer, slack.
    answered_via: Mapped[str | None] = mapped_column(String(16))

    event: Mapped[Event] = relationship(back_populates="attendees")


class OccurrenceChangeRow(Base):
    """One occurrence of a series cancelled (an EXDATE) or changed, named by its first start."""

    __tablename__ = "occurrence_changes"
    __table_args__ = (
        UniqueConstraint("event_id", "recurrence_id", name="uq_occurrence_changes_occurrence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    # The start the series' rule gives the occurrence (RECURRENCE-ID), in UTC.
    recurrence_id: Mapped[datetime]
    cancelled: Mapped[bool] = mapped_column(default=False)
    # A moved occurrence's own time; empty for a cancelled one.
    start_at: Mapped[datetime | None]
    end_at: Mapped[datetime | None]
    sequence: Mapped[int] = mapped_column(default=0)
    # This occurrence's own title and place; empty (None): the series' own.
    title: Mapped[str | None] = mapped_column(String(255))
    location: Mapped[str | None] = mapped_column(Text)
    # The organizer's message to everyone about this occurrence.
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class OccurrenceAnswerRow(Base):
    """An invitee's answer to one occurrence of a series (their REPLY named RECURRENCE-ID)."""

    __tablename__ = "occurrence_answers"
    __table_args__ = (
        UniqueConstraint("attendee_id", "recurrence_id", name="uq_occurrence_answers_attendee"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    attendee_id: Mapped[int] = mapped_column(ForeignKey("attendees.id", ondelete="CASCADE"))
    recurrence_id: Mapped[datetime]
    response: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    responded_at: Mapped[datetime] = mapped_column(default=utc_now)


class CounterProposal(Base):
    """A guest's proposal of another time, waiting for the organizer's decision."""

    __tablename__ = "counter_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    attendee_id: Mapped[int] = mapped_column(ForeignKey("attendees.id", ondelete="CASCADE"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    comment: Mapped[str] = mapped_column(Text, default="")
    # The event's SEQUENCE the guest was looking at when they proposed.
    sequence: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class HeldReply(Base):
    """An e-mailed answer Meetbot did not believe on its own, waiting for the organizer."""

    __tablename__ = "held_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    # The invited guest it may be recorded for, when Meetbot can tell who.
    attendee_id: Mapped[int | None] = mapped_column(ForeignKey("attendees.id", ondelete="CASCADE"))
    # unverified | other-sender | not-invited
    reason: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str] = mapped_column(String(320))
    # The address the calendar answered for, and the name it gave.
    address: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(255), default="")
    method: Mapped[str] = mapped_column(String(16))
    partstat: Mapped[str | None] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(Text, default="")
    sequence: Mapped[int] = mapped_column(default=0)
    proposed_start: Mapped[datetime | None]
    proposed_end: Mapped[datetime | None]
    # pending | recorded | added | ignored
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    # The occurrence of a series answered (RECURRENCE-ID); empty: the whole series.
    recurrence_id: Mapped[datetime | None]


class EventFile(Base):
    """A file the organizer attached to an event, kept so guests' e-mails can carry it."""

    __tablename__ = "event_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    slack_file_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    mimetype: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    # A random name for the download link: file ids are guessable, this is not.
    public_key: Mapped[str] = mapped_column(String(64), unique=True)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    event: Mapped[Event] = relationship(back_populates="files")


class OutboxEntry(Base):
    """A Slack message or e-mail owed to someone, written with the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "state", "available_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    attendee_id: Mapped[int | None] = mapped_column(ForeignKey("attendees.id", ondelete="CASCADE"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Entries that redraw the same thing (a summary, a Home tab) share a key; only the newest
    # pending one needs sending.
    redraw_key: Mapped[str | None] = mapped_column(String(128), index=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    # Leases taken; more than attempts + 1 means a process died while delivering it.
    claims: Mapped[int] = mapped_column(default=0, server_default="0")
    available_at: Mapped[datetime] = mapped_column(default=utc_now)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # The receiving mail server's queue id from its 250 answer to DATA ("queued as 4F2A1").
    queue_id: Mapped[str | None] = mapped_column(String(128))
    # What a delivery report said later: delayed | bounced, and the server's reason.
    report: Mapped[str | None] = mapped_column(String(16))
    report_reason: Mapped[str | None] = mapped_column(Text)


class InstanceSecret(Base):
    """A value all processes share, stored sealed: the key check, an earlier link key."""

    __tablename__ = "instance_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class CalendarFeed(Base):
    """A member's own calendar, connected by its secret iCal address, read for free/busy only."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (UniqueConstraint("team_id", "user_id", name="uq_calendar_feeds_member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(String(255))
    last_modified: Mapped[str | None] = mapped_column(String(64))
    fetched_at: Mapped[datetime | None]
    next_fetch_at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The owner hears about a failing feed once, not on every poll.
    error_reported: Mapped[bool] = mapped_column(default=False)


class ExternalBusy(Base):
    """A busy time from a member's connected calendar: when, never what."""

    __tablename__ = "external_busy"
    __table_args__ = (Index("ix_external_busy_member_time", "team_id", "user_id", "start_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(
        ForeignKey("calendar_feeds.id", ondelete="CASCADE"), index=True
    )
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]


class PersonSettings(Base):
    """One member's own defaults: reminders, notifications, working hours, guests' language."""

    __tablename__ = "person_settings"
    __table_args__ = (UniqueConstraint("team_id", "user_id", name="uq_person_settings_member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    # Minutes before a meeting; empty means "no reminder" is the person's default.
    reminder_minutes: Mapped[int | None]
    notify_on_decision: Mapped[bool] = mapped_column(default=False)
    # Working hours as minutes after local midnight, and the working weekdays (0 = Monday).
    work_start_minute: Mapped[int] = mapped_column(default=9 * 60)
    work_end_minute: Mapped[int] = mapped_column(default=18 * 60)
    work_days: Mapped[str] = mapped_column(String(7), default="01234")
    # Language of the e-mails and pages this person's guests get; empty: their Slack language.
    guest_language: Mapped[str | None] = mapped_column(String(8))
    # The sending mailbox's address, once the person has seen and confirmed the choice.
    mailbox: Mapped[str | None] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    # New meetings start with "Add a video call" ticked.
    video_default: Mapped[bool] = mapped_column(default=False, server_default=false())


class HeldForm(Base):
    """A create form waiting for its organizer to confirm the sending mailbox."""

    __tablename__ = "held_forms"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    # The form's Slack view, with what was typed into it, as Slack sent it on submit.
    view: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utc_now, index=True)


class GuestInviteCount(Base):
    """How many new guest invitations a workspace sent in one calendar month (for the cap)."""

    __tablename__ = "guest_invite_counts"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-11"
    count: Mapped[int] = mapped_column(default=0)


class GuestsViewShown(Base):
    """An organizer's Guests view of a meeting open in Slack, to redraw when the ledger moves.

    Kept briefly: Slack's id and hash of the view as last drawn, and the page it shows.
    """

    __tablename__ = "guests_views_shown"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    view_id: Mapped[str] = mapped_column(String(64))
    view_hash: Mapped[str] = mapped_column(String(128))
    page: Mapped[int] = mapped_column(default=0)
    # What the organizer's last press did ("Sent again."), kept across redraws.
    note: Mapped[str] = mapped_column(Text, default="")
    shown_at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
