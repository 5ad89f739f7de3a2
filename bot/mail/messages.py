"""E-mail messages guests' calendars understand (iMIP, RFC 6047), built without sending."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

from jinja2 import Environment, PackageLoader, select_autoescape

from bot.ical import meeting_zone, request_calendar
from bot.meetings import Invitee, Meeting

_templates = Environment(
    loader=PackageLoader("bot.mail", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def header_safe(text: str) -> str:
    """Fold user text onto one line so it can never start a new mail header."""
    return " ".join(text.split())


def describe_when(meeting: Meeting) -> str:
    """Return the meeting's time in the organizer's zone, with the zone named."""
    zone = meeting_zone(meeting)
    start = meeting.start.astimezone(zone)
    end = meeting.end.astimezone(zone)
    offset = start.strftime("%z")
    zone_text = f"{zone.key}, UTC{offset[:3]}:{offset[3:]}"
    day = f"{start:%A}, {start.day} {start:%B %Y}"
    if start.date() == end.date():
        return f"{day}, {start:%H:%M}–{end:%H:%M} ({zone_text})"
    return f"{day}, {start:%H:%M} – {end:%A}, {end.day} {end:%B %Y}, {end:%H:%M} ({zone_text})"


@dataclass(frozen=True)
class Sender:
    """The mailbox invitations go out from."""

    address: str

    def display_for(self, meeting: Meeting) -> str:
        """Return the From line naming the organizer, e.g. `"Olga via Meet" <invites@...>`."""
        return formataddr((f"{header_safe(meeting.organizer.name)} via Meet", self.address))


def invitation_message_id(meeting: Meeting, guest: Invitee, sender: Sender) -> str:
    """Return the same Message-ID for the same event version and guest, so a resend is a copy."""
    assert guest.email is not None
    recipient = hashlib.sha256(guest.email.lower().encode()).hexdigest()[:16]
    event = meeting.uid.partition("@")[0]
    domain = sender.address.rpartition("@")[2]
    return f"<{event}.{meeting.sequence}.{recipient}@{domain}>"


def invitation_message(
    meeting: Meeting,
    guest: Invitee,
    *,
    sender: Sender,
    answer_url: str,
    stamp: datetime,
) -> EmailMessage:
    """Return the invitation e-mail for one guest: text, HTML and the calendar REQUEST."""
    assert guest.email is not None
    calendar = request_calendar(
        meeting, guest, organizer_address=sender.address, stamp=stamp, url=answer_url
    ).to_ical()
    context = {
        "meeting": meeting,
        "guest": guest,
        "when": describe_when(meeting),
        "answer_url": answer_url,
        "description_lines": meeting.description.splitlines(),
    }
    message = EmailMessage(policy=SMTP)
    message["Subject"] = header_safe(f"Invitation: {meeting.title} @ {describe_when(meeting)}")
    message["From"] = sender.display_for(meeting)
    message["To"] = formataddr((header_safe(guest.name), guest.email))
    if meeting.organizer.email:
        message["Reply-To"] = formataddr(
            (header_safe(meeting.organizer.name), meeting.organizer.email)
        )
    message["Date"] = format_datetime(stamp)
    message["Message-ID"] = invitation_message_id(meeting, guest, sender)
    message.set_content(_templates.get_template("invitation.txt").render(context))
    message.add_alternative(
        _templates.get_template("invitation.html").render(context), subtype="html"
    )
    message.add_alternative(
        calendar.decode(),
        subtype="calendar",
        params={"method": "REQUEST"},
    )
    message.add_attachment(calendar, maintype="application", subtype="ics", filename="invite.ics")
    return message
