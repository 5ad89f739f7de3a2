"""E-mail messages guests' calendars understand (iMIP, RFC 6047), built without sending."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from functools import cache

from icalendar import Calendar
from jinja2 import Environment, PackageLoader, select_autoescape

from bot.i18n import DEFAULT_LANGUAGE, Language, format_span, translator
from bot.ical import cancel_calendar, declinecounter_calendar, meeting_zone, request_calendar
from bot.meetings import (
    AttachedFile,
    Change,
    Invitee,
    Meeting,
    Proposal,
    parse_time_text,
    recipient_hash,
)


@cache
def _templates(language: Language) -> Environment:
    # One environment per language, its translations installed once: renders never share
    # a switched global language.
    environment = Environment(
        loader=PackageLoader("bot.mail", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_translations(translator(language), newstyle=True)  # type: ignore[attr-defined]
    return environment


def header_safe(text: str) -> str:
    """Fold user text onto one line so it can never start a new mail header."""
    return " ".join(text.split())


def describe_span(
    start: datetime, end: datetime, zone: tzinfo, language: Language = DEFAULT_LANGUAGE
) -> str:
    """Return a span of time in a zone, with the zone named, in the language's words."""
    return format_span(start, end, zone, language)


def describe_when(meeting: Meeting, language: Language | None = None) -> str:
    """Return the meeting's time in the organizer's zone, in the event's language by default."""
    return describe_span(
        meeting.start, meeting.end, meeting_zone(meeting), language or meeting.language
    )


def describe_change(change: Change, zone: tzinfo, language: Language = DEFAULT_LANGUAGE) -> str:
    """Return one change as a line people read: `Time: Tue 14:00 → Tue 15:00`."""
    t = translator(language)
    field = t.gettext(change.field)
    if change.field == "Time":
        before = describe_span(*parse_time_text(change.before), zone, language)
        after = describe_span(*parse_time_text(change.after), zone, language)
        return f"{field}: {before} → {after}"
    if change.field == "Description":
        return f"{field}: " + t.gettext("changed (see below)")
    none = t.gettext("none")
    return f"{field}: {change.before or none} → {change.after or none}"


@dataclass(frozen=True)
class Sender:
    """The mailbox invitations go out from."""

    address: str

    def display_for(self, meeting: Meeting) -> str:
        """Return the From line naming the organizer, e.g. `"Olga via Meet" <invites@...>`."""
        return formataddr((f"{header_safe(meeting.organizer.name)} via Meet", self.address))


@dataclass(frozen=True)
class Files:
    """The meeting's files for one e-mail: attached when small enough, else linked."""

    attached: list[tuple[AttachedFile, bytes]] = field(default_factory=list)
    linked: list[tuple[AttachedFile, str]] = field(default_factory=list)


def message_id(meeting: Meeting, guest: Invitee, sender: Sender, kind: str) -> str:
    """Return the same Message-ID for the same message to the same guest, so a resend is a copy."""
    assert guest.email is not None
    recipient = recipient_hash(guest.email)
    event = meeting.uid.partition("@")[0]
    domain = sender.address.rpartition("@")[2]
    return f"<{event}.{meeting.sequence}.{kind}.{recipient}@{domain}>"


def _envelope(
    meeting: Meeting, guest: Invitee, sender: Sender, subject: str, stamp: datetime, kind: str
) -> EmailMessage:
    assert guest.email is not None
    message = EmailMessage(policy=SMTP)
    message["Subject"] = header_safe(subject)
    message["From"] = sender.display_for(meeting)
    message["To"] = formataddr((header_safe(guest.name), guest.email))
    if meeting.organizer.email:
        message["Reply-To"] = formataddr(
            (header_safe(meeting.organizer.name), meeting.organizer.email)
        )
    message["Date"] = format_datetime(stamp)
    message["Message-ID"] = message_id(meeting, guest, sender, kind)
    return message


def _fill(
    message: EmailMessage,
    template: str,
    context: dict[str, object],
    calendar: Calendar | None,
    method: str,
    files: Files,
    language: Language,
) -> EmailMessage:
    templates = _templates(language)
    message.set_content(templates.get_template(f"{template}.txt").render(context))
    message.add_alternative(
        templates.get_template(f"{template}.html").render(context), subtype="html"
    )
    if calendar is not None:
        data = calendar.to_ical()
        message.add_alternative(data.decode(), subtype="calendar", params={"method": method})
        message.add_attachment(
            data,
            maintype="application",
            subtype="ics",
            filename={"REQUEST": "invite.ics", "CANCEL": "cancel.ics"}.get(method, "reply.ics"),
        )
    for attached, content in files.attached:
        maintype, _, subtype = attached.mimetype.partition("/")
        if not subtype:
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(
            content, maintype=maintype, subtype=subtype, filename=header_safe(attached.name)
        )
    return message


def _context(meeting: Meeting, guest: Invitee, **extra: object) -> dict[str, object]:
    return {
        "meeting": meeting,
        "guest": guest,
        "when": describe_when(meeting),
        "lang": meeting.language.value,
        "description_lines": meeting.description.splitlines(),
        **extra,
    }


def invitation_message(
    meeting: Meeting,
    guest: Invitee,
    *,
    sender: Sender,
    answer_url: str,
    stamp: datetime,
    changes: list[Change] | None = None,
    answers_reset: bool = False,
    files: Files | None = None,
) -> EmailMessage:
    """Return the invitation (or, with changes, the update) e-mail for one guest."""
    files = files or Files()
    zone = meeting_zone(meeting)
    language = meeting.language
    t = translator(language)
    updated = bool(changes)
    if updated:
        subject = t.gettext("Updated invitation: {title} @ {when}")
    else:
        subject = t.gettext("Invitation: {title} @ {when}")
    message = _envelope(
        meeting,
        guest,
        sender,
        subject.format(title=meeting.title, when=describe_when(meeting)),
        stamp,
        "request",
    )
    context = _context(
        meeting,
        guest,
        answer_url=answer_url,
        updated=updated,
        changes=[describe_change(c, zone, language) for c in changes or []],
        answers_reset=answers_reset,
        linked_files=files.linked,
    )
    calendar = request_calendar(
        meeting, guest, organizer_address=sender.address, stamp=stamp, url=answer_url
    )
    return _fill(message, "invitation", context, calendar, "REQUEST", files, language)


def cancellation_message(
    meeting: Meeting, guest: Invitee, *, sender: Sender, stamp: datetime, removed: bool
) -> EmailMessage:
    """Return the e-mail taking the meeting out of a guest's calendar."""
    t = translator(meeting.language)
    if removed:
        subject = t.gettext("You are no longer invited: {title} @ {when}")
    else:
        subject = t.gettext("Cancelled: {title} @ {when}")
    message = _envelope(
        meeting,
        guest,
        sender,
        subject.format(title=meeting.title, when=describe_when(meeting)),
        stamp,
        "cancel",
    )
    context = _context(meeting, guest, removed=removed, note=meeting.cancel_message)
    calendar = cancel_calendar(meeting, guest, organizer_address=sender.address, stamp=stamp)
    return _fill(message, "cancellation", context, calendar, "CANCEL", Files(), meeting.language)


def reminder_message(
    meeting: Meeting, guest: Invitee, *, sender: Sender, answer_url: str, stamp: datetime
) -> EmailMessage:
    """Return the reminder e-mail a guest gets shortly before the meeting."""
    message = _envelope(
        meeting,
        guest,
        sender,
        translator(meeting.language)
        .gettext("Reminder: {title} @ {when}")
        .format(title=meeting.title, when=describe_when(meeting)),
        stamp,
        "reminder",
    )
    context = _context(meeting, guest, answer_url=answer_url)
    return _fill(message, "reminder", context, None, "", Files(), meeting.language)


def declinecounter_message(
    meeting: Meeting, guest: Invitee, proposal: Proposal, *, sender: Sender, stamp: datetime
) -> EmailMessage:
    """Return the e-mail telling a guest the organizer keeps the original time."""
    zone = meeting_zone(meeting)
    t = translator(meeting.language)
    proposed = describe_span(proposal.start, proposal.end, zone, meeting.language)
    subject = t.gettext("New time declined: {title}").format(title=meeting.title)
    message = _envelope(meeting, guest, sender, subject, stamp, "declinecounter")
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
        message, "declinecounter", context, calendar, "DECLINECOUNTER", Files(), meeting.language
    )
