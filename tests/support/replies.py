"""Replies, counter-proposals and bounces as real mail programs and servers write them.

The files in tests/fixtures/mail follow the documented shapes of Gmail, Outlook/Exchange,
Apple Mail and Thunderbird replies and of Postfix and qmail bounces; tests fill in the
event's UID, the guest and the times.
"""

from __future__ import annotations

import base64
import quopri
import textwrap
from datetime import datetime
from pathlib import Path
from string import Template
from zoneinfo import ZoneInfo

import aiosmtplib

from tests.support.dkim import authentication_results

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mail"


def ical_utc(moment: datetime) -> str:
    """Return a moment as iCalendar's UTC form."""
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y%m%dT%H%M%SZ")


def ical_local(moment: datetime, zone: str = "Europe/Warsaw") -> str:
    """Return a moment as iCalendar's floating local form in a zone."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y%m%dT%H%M%S")


def render(
    name: str,
    *,
    organizer: str,
    uid: str = "",
    guest: str = "",
    sender: str | None = None,
    partstat: str = "ACCEPTED",
    comment: str = "",
    sequence: int = 0,
    start: datetime | None = None,
    end: datetime | None = None,
    recipient: str = "",
    message_id: str = "",
    authenticated: bool = False,
) -> bytes:
    """Return a fixture message filled in, with CRLF line ends as it travels.

    `authenticated` puts the trusted server's `Authentication-Results: ... dkim=pass` for
    the sender's domain on top, as the test app's own receiving server would.
    """
    values: dict[str, str] = {
        "organizer": organizer,
        "uid": uid,
        "guest": guest,
        "guest_upper": guest.upper(),
        "sender": sender or guest,
        "partstat": partstat,
        "comment": comment.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;"),
        # Google writes the note as an ATTENDEE parameter: quoted, with no double quotes.
        "comment_param": comment.replace('"', "'"),
        "sequence": str(sequence),
        "recipient": recipient,
        "message_id": message_id,
    }
    if start is not None and end is not None:
        values |= {
            "start": ical_utc(start),
            "end": ical_utc(end),
            "start_local": ical_local(start),
            "end_local": ical_local(end),
        }
    calendar_file = FIXTURES / f"{name}.ics"
    if calendar_file.exists():
        calendar = Template(calendar_file.read_text()).substitute(values)
        calendar = calendar.replace("\r\n", "\n").replace("\n", "\r\n")
        values["calendar"] = calendar.rstrip("\r\n")
        encoded = base64.b64encode(calendar.encode()).decode()
        values["calendar_base64"] = "\n".join(textwrap.wrap(encoded, 76))
        values["calendar_qp"] = quopri.encodestring(calendar.encode()).decode()
    values["comment"] = comment  # the message bodies carry it as typed
    message = Template((FIXTURES / f"{name}.eml").read_text()).safe_substitute(values)
    raw = message.replace("\r\n", "\n").replace("\n", "\r\n").encode()
    if authenticated:
        raw = authentication_results(values["sender"].rpartition("@")[2]) + raw
    return raw


async def send_to_receiver(port: int, raw: bytes, recipient: str, sender: str = "") -> None:
    """Deliver a raw message to Meetbot's SMTP receiver, as a mail server would.

    An empty sender is the null reverse-path (`MAIL FROM:<>`) that bounces carry.
    """
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as client:
        await client.mail(sender)
        response = await client.rcpt(recipient)
        if response.code >= 400:
            raise aiosmtplib.SMTPRecipientRefused(response.code, response.message, recipient)
        await client.data(raw)


def quarantined(folder: Path) -> list[tuple[bytes, str]]:
    """Return each message the receiver kept for a person, with the reason it wrote."""
    return [
        (eml.read_bytes(), eml.with_suffix(".reason").read_text())
        for eml in sorted(folder.glob("*.eml"))
    ]
