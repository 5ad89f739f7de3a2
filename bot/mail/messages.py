"""E-mail messages guests' calendars understand (iMIP, RFC 6047), built without sending."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime, formataddr

from babel.dates import format_datetime as babel_datetime

from bot.i18n import (
    DEFAULT_LANGUAGE,
    N_,
    Language,
    babel_locale,
    format_span,
    templates,
    translator,
)
from bot.ical import GuestCalendars, cancel_calendar, declinecounter_calendar, meeting_zone
from bot.mail.mime_parts import (
    POLICY,
    file_part,
    header_safe,
    multipart,
    new_boundary,
    text_part,
)
from bot.meetings.model import (
    AttachedFile,
    Change,
    ChangedField,
    Invitee,
    Meeting,
    Proposal,
    parse_time_text,
    recipient_hash,
)
from bot.meetings.recurrence_words import series_when


def describe_span(
    start: datetime, end: datetime, zone: tzinfo, language: Language = DEFAULT_LANGUAGE
) -> str:
    """Return a span of time in a zone, with the zone named, in the language's words."""
    return format_span(start, end, zone, language)


def describe_when(meeting: Meeting, language: Language | None = None) -> str:
    """Return the meeting's time in the organizer's zone, in the event's language by default."""
    first = describe_span(
        meeting.start, meeting.end, meeting_zone(meeting), language or meeting.language
    )
    return series_when(meeting, first, language or meeting.language)


def zone_abbreviation(moment: datetime) -> str:
    """Return the short name of an aware moment's zone: `CET`, `EDT`, or `UTC-03:00`.

    The abbreviation is the time zone database's (`datetime.tzname()`); where it has none
    but an offset (`-03` for São Paulo), the offset is written after `UTC`. Polish writes
    zones the same way, so this is not translated.
    """
    name = moment.tzname() or ""
    if name.isalpha():
        return name
    return "UTC" + babel_datetime(moment, "xxx", locale=babel_locale(DEFAULT_LANGUAGE))


def describe_start(meeting: Meeting, language: Language | None = None) -> str:
    """Return the meeting's start as a subject line names it: `Sat 5 Dec 14:00 CET`."""
    language = language or meeting.language
    start = meeting.start.astimezone(meeting_zone(meeting))
    day_and_time = babel_datetime(start, "EEE d MMM HH:mm", locale=babel_locale(language))
    return f"{day_and_time} {zone_abbreviation(start)}"


def describe_change(change: Change, zone: tzinfo, language: Language = DEFAULT_LANGUAGE) -> str:
    """Return one change as a line people read: `Time: Tue 14:00 → Tue 15:00`."""
    t = translator(language)
    field = t.gettext(change.field)
    if change.field is ChangedField.TIME:
        before = describe_span(*parse_time_text(change.before), zone, language)
        after = describe_span(*parse_time_text(change.after), zone, language)
        return f"{field}: {before} → {after}"
    if change.field is ChangedField.DESCRIPTION:
        return f"{field}: " + t.gettext("changed (see below)")
    if change.field is ChangedField.REPEATS:
        return f"{field}: " + t.gettext("changed")
    none = t.gettext("none")
    return f"{field}: {change.before or none} → {change.after or none}"


# What follows the organizer's name in From unless the mailbox has a name of its own.
DEFAULT_SENDER_NAME = "Meet"


@dataclass(frozen=True)
class Sender:
    """The mailbox invitations go out from."""

    address: str
    name: str = DEFAULT_SENDER_NAME

    def display_for(self, meeting: Meeting) -> str:
        """Return the From line naming the organizer, e.g. `"Olga via Meet" <invites@...>`."""
        return from_line(meeting.organizer.name, self.address, self.name)


def from_line(organizer_name: str, address: str, via: str = DEFAULT_SENDER_NAME) -> str:
    """Return the From line guests see: `Olga Organizer via Meet <invites@acme.example>`."""
    return formataddr((f"{header_safe(organizer_name)} via {header_safe(via)}", address))


@dataclass(frozen=True)
class Files:
    """The meeting's files for one e-mail: attached when small enough, else linked."""

    attached: list[tuple[AttachedFile, bytes]] = field(default_factory=list)
    linked: list[tuple[AttachedFile, str]] = field(default_factory=list)


def message_id(meeting: Meeting, guest: Invitee, sender: Sender, kind: str, entry_id: int) -> str:
    """Return the Message-ID of one outbox entry's e-mail: a resend of it is the same message.

    `<event.sequence.kind.recipient.entry@domain>`: the event (its UID before the @) and the
    recipient's hash let a bounce that quotes the ID be matched to the guest (see
    mail.delivery_reports.OUR_MESSAGE_ID); the outbox entry makes every message sent its own, so a
    second reminder or a second declined proposal is not taken for a copy of the first.
    """
    assert guest.email is not None
    recipient = recipient_hash(guest.email)
    event = meeting.uid.partition("@")[0]
    return f"<{event}.{meeting.sequence}.{kind}.{recipient}.{entry_id}@{_domain(sender)}>"


def thread_id(meeting: Meeting, sender: Sender) -> str:
    """Return the ID every e-mail about a meeting names as its parent, so they share a thread.

    No message carries it as its own Message-ID; mail programs that thread by References
    and In-Reply-To (Thunderbird, Apple Mail) put the meeting's messages together under it
    all the same. (Gmail also wants the subjects to match, which ours do not.)
    """
    return f"<{meeting.uid.partition('@')[0]}@{_domain(sender)}>"


def _domain(sender: Sender) -> str:
    return sender.address.rpartition("@")[2]


class _Envelope:
    """The headers one meeting's e-mails of one kind share, parsed once for every guest."""

    def __init__(
        self,
        meeting: Meeting,
        sender: Sender,
        subject: str,
        stamp: datetime,
        kind: str,
        *,
        automatic: bool = False,
    ) -> None:
        self._meeting = meeting
        self._sender = sender
        self._kind = kind
        shared = EmailMessage(policy=POLICY)
        shared["Subject"] = header_safe(subject)
        shared["From"] = sender.display_for(meeting)
        if meeting.organizer.email:
            shared["Reply-To"] = formataddr(
                (header_safe(meeting.organizer.name), meeting.organizer.email)
            )
        shared["Date"] = format_datetime(stamp)
        shared["In-Reply-To"] = shared["References"] = thread_id(meeting, sender)
        if automatic:
            # RFC 3834: written by Meetbot on its own (a timer, or the protocol's answer to a
            # proposal), not a message the organizer sent: vacation responders keep quiet.
            shared["Auto-Submitted"] = "auto-generated"
        self._shared = shared

    def for_guest(self, guest: Invitee, entry_id: int) -> EmailMessage:
        """Return a new message with the shared headers and this guest's own."""
        assert guest.email is not None
        message = EmailMessage(policy=POLICY)
        # Parsed header objects are taken as they are (email.policy): no parsing per guest.
        message["Subject"] = self._shared["Subject"]
        message["From"] = self._shared["From"]
        message["To"] = formataddr((header_safe(guest.name), guest.email))
        if "Reply-To" in self._shared:
            message["Reply-To"] = self._shared["Reply-To"]
        message["Date"] = self._shared["Date"]
        message["Message-ID"] = message_id(self._meeting, guest, self._sender, self._kind, entry_id)
        message["In-Reply-To"] = self._shared["In-Reply-To"]
        message["References"] = self._shared["References"]
        if "Auto-Submitted" in self._shared:
            message["Auto-Submitted"] = self._shared["Auto-Submitted"]
        return message


def _fill(
    message: EmailMessage,
    template: str,
    context: dict[str, object],
    calendar: bytes | None,
    method: str,
    language: Language,
    file_parts: Sequence[MIMEPart] = (),
    boundaries: tuple[str, str] | None = None,
) -> EmailMessage:
    # The tree is put together from finished parts: the structure add_alternative() and
    # add_attachment() produce, without their moving headers from part to part each time.
    mail_templates = templates("bot.mail", language)
    context = {**context, "subject": str(message["Subject"])}
    body = [
        text_part(mail_templates.get_template(f"{template}.txt").render(context), "plain"),
        text_part(mail_templates.get_template(f"{template}.html").render(context), "html"),
    ]
    attachments = list(file_parts)
    if calendar is not None:
        body.append(text_part(calendar.decode(), "calendar", {"method": method}))
        filename = {"REQUEST": "invite.ics", "CANCEL": "cancel.ics"}.get(method, "reply.ics")
        attachments.insert(0, file_part(calendar, "application/ics", filename))
    message["MIME-Version"] = "1.0"
    # Random boundaries no one can guess, so no text a guest or organizer typed starts a line
    # with one (the library's own search for a free boundary compiles a regex each time).
    outer, inner = boundaries or (new_boundary(), new_boundary())
    if not attachments:
        multipart(message, "alternative", body, outer)
        return message
    alternative = MIMEPart(policy=POLICY)
    multipart(alternative, "alternative", body, inner)
    multipart(message, "mixed", [alternative, *attachments], outer)
    return message


def _context(meeting: Meeting, guest: Invitee, **extra: object) -> dict[str, object]:
    return {
        "meeting": meeting,
        "guest": guest,
        "when": describe_when(meeting),
        "description_lines": meeting.description.splitlines(),
        "lang": meeting.language.value,
        **extra,
    }


def _subject(meeting: Meeting, template: str) -> str:
    """Return a subject naming the meeting and its start, short enough to read in a list."""
    return (
        translator(meeting.language)
        .gettext(template)
        .format(title=meeting.title, when=describe_start(meeting))
    )


class GuestInvitations:
    """One meeting's invitation (or update) e-mails, with what every guest shares built once.

    The headers, the calendar with its VTIMEZONE and the attached files are made for the
    first guest and reused; each message still gets its guest's own To, Message-ID, answer
    link, file links and ATTENDEE line.
    """

    def __init__(
        self,
        meeting: Meeting,
        *,
        sender: Sender,
        stamp: datetime,
        changes: list[Change] | None = None,
        answers_reset: bool = False,
    ) -> None:
        zone = meeting_zone(meeting)
        language = meeting.language
        updated = bool(changes)
        if updated:
            subject = _subject(meeting, N_("Updated invitation: {title}, {when}"))
        else:
            subject = _subject(meeting, N_("Invitation: {title}, {when}"))
        self._meeting = meeting
        self._envelope = _Envelope(meeting, sender, subject, stamp, "request")
        self._context: dict[str, object] = {
            "meeting": meeting,
            "when": describe_when(meeting),
            "description_lines": meeting.description.splitlines(),
            "lang": language.value,
            "updated": updated,
            "changes": [describe_change(c, zone, language) for c in changes or []],
            "answers_reset": answers_reset,
        }
        self.calendars = GuestCalendars(
            "REQUEST", meeting, organizer_address=sender.address, stamp=stamp
        )
        self._file_parts: dict[int, MIMEPart] = {}
        # One pair of boundaries for the meeting: every guest's message has the same shape,
        # which is what lets mail.byte_template write the shared parts once.
        self.boundaries = (new_boundary(), new_boundary())
        self.sender = sender

    def message(
        self, guest: Invitee, *, answer_url: str, entry_id: int, files: Files | None = None
    ) -> EmailMessage:
        """Return the e-mail for one guest, sent for one outbox entry."""
        files = files or Files()
        context = {
            **self._context,
            "guest": guest,
            "answer_url": answer_url,
            "linked_files": files.linked,
        }
        parts = []
        for attached, content in files.attached:
            if attached.id not in self._file_parts:
                self._file_parts[attached.id] = file_part(content, attached.mimetype, attached.name)
            parts.append(self._file_parts[attached.id])
        return _fill(
            self._envelope.for_guest(guest, entry_id),
            "invitation",
            context,
            self.calendar(guest, answer_url, files),
            "REQUEST",
            self._meeting.language,
            parts,
            self.boundaries,
        )

    def calendar(self, guest: Invitee, answer_url: str, files: Files) -> bytes:
        """Return the calendar one guest's invitation carries."""
        return self.calendars.to_ical(guest, url=answer_url, files=files.linked)

    def message_id(self, guest: Invitee, entry_id: int) -> str:
        """Return the Message-ID of one guest's invitation for one outbox entry."""
        return message_id(self._meeting, guest, self.sender, "request", entry_id)


def cancellation_message(
    meeting: Meeting,
    guest: Invitee,
    *,
    sender: Sender,
    stamp: datetime,
    removed: bool,
    entry_id: int,
) -> EmailMessage:
    """Return the e-mail taking the meeting out of a guest's calendar."""
    if removed:
        subject = _subject(meeting, N_("You are no longer invited: {title}, {when}"))
    else:
        subject = _subject(meeting, N_("Cancelled: {title}, {when}"))
    message = _Envelope(meeting, sender, subject, stamp, "cancel").for_guest(guest, entry_id)
    context = _context(meeting, guest, removed=removed, note=meeting.cancel_message)
    calendar = cancel_calendar(meeting, guest, organizer_address=sender.address, stamp=stamp)
    return _fill(message, "cancellation", context, calendar.to_ical(), "CANCEL", meeting.language)


def reminder_message(
    meeting: Meeting,
    guest: Invitee,
    *,
    sender: Sender,
    answer_url: str,
    stamp: datetime,
    entry_id: int,
) -> EmailMessage:
    """Return the reminder e-mail a guest gets shortly before the meeting."""
    subject = _subject(meeting, N_("Reminder: {title}, {when}"))
    message = _Envelope(meeting, sender, subject, stamp, "reminder", automatic=True).for_guest(
        guest, entry_id
    )
    context = _context(meeting, guest, answer_url=answer_url)
    return _fill(message, "reminder", context, None, "", meeting.language)


def declinecounter_message(
    meeting: Meeting,
    guest: Invitee,
    proposal: Proposal,
    *,
    sender: Sender,
    stamp: datetime,
    entry_id: int,
) -> EmailMessage:
    """Return the e-mail telling a guest the organizer keeps the original time."""
    zone = meeting_zone(meeting)
    t = translator(meeting.language)
    proposed = describe_span(proposal.start, proposal.end, zone, meeting.language)
    subject = t.gettext("New time declined: {title}").format(title=meeting.title)
    message = _Envelope(
        meeting, sender, subject, stamp, "declinecounter", automatic=True
    ).for_guest(guest, entry_id)
    context = _context(meeting, guest, proposed=proposed)
    calendar = declinecounter_calendar(
        meeting,
        guest,
        organizer_address=sender.address,
        stamp=stamp,
        comment=t.gettext("{organizer} keeps the meeting at {when}.").format(
            organizer=meeting.organizer.name, when=describe_when(meeting)
        ),
    )
    return _fill(
        message,
        "declinecounter",
        context,
        calendar.to_ical(),
        "DECLINECOUNTER",
        meeting.language,
    )
