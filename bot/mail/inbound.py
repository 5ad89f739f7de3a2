"""Reading mail that comes back: calendar replies, counter-proposals, bounces, auto-replies.

Functions from raw bytes to what the message means; nothing here changes state. Blocking:
callers read mail in worker threads, and an Outlook winmail.dat is read in a child process
(bot.mail.tnef).
"""

from __future__ import annotations

import email
import email.header
import email.policy
import logging
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from email.message import Message
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar

from bot.mail.delivery_reports import OUR_MESSAGE_ID, BounceReport, read_bounce
from bot.mail.tnef import TnefAnswer, UnreadableTnef, read_tnef_answer_apart

logger = logging.getLogger(__name__)

# Larger messages are not calendar replies or bounces worth reading whole.
MAX_INBOUND_BYTES = 10 * 1024 * 1024
# A real reply's calendar is a few kilobytes; a few of them at most per message.
MAX_CALENDAR_BYTES = 256 * 1024
MAX_CALENDAR_PARTS = 3
MAX_EVENTS = 20
MAX_MIME_PARTS = 200
# What an iCalendar SEQUENCE can be (RFC 5545 calls it an integer; ours is a 32-bit column).
MAX_SEQUENCE = 2**31 - 1
# Dates outside these years are no one's answer to a meeting.
EARLIEST_YEAR = 1970
LATEST_YEAR = 2199
AUTO_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?(reply|response)|autoreply"
    r"|abwesenheit|odpowied[zź] automatyczna|nieobecno[sś][cć])",
    re.IGNORECASE,
)
MAX_NOTE = 1000
MAX_NOTE_SOURCE = 64 * 1024
# Where a reply's own words end: a quoted original, a forwarded invitation, a signature.
QUOTE_START = re.compile(
    r"^\s*(-- ?$|_{5,}|-{5,}|on .{0,200} wrote:$|w dniu .{0,200} napisał|from: |od: |"
    r"-----original message|invitation from google calendar|zaproszenie z kalendarza google)",
    re.IGNORECASE,
)
# Lines calendar programs write themselves ("Bob has accepted this invitation.").
CALENDAR_BOILERPLATE = re.compile(
    r"(has (accepted|declined|tentatively accepted|proposed a new time)"
    r"|(zaakceptował|odrzucił|zaproponował)|^\s*(accepted|declined|tentative):)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CalendarAnswer:
    """One attendee's REPLY or COUNTER to one of our events."""

    method: str
    uid: str
    sequence: int
    attendee: str
    partstat: str | None
    comment: str
    proposed_start: datetime | None = None
    proposed_end: datetime | None = None
    # The occurrence of a series the answer is about; None: the whole series (or meeting).
    recurrence_id: datetime | None = None


@dataclass(frozen=True)
class InboundMail:
    """What a message that reached Meetbot's mailbox means."""

    sender: str
    answers: list[CalendarAnswer] = field(default_factory=list)
    bounce: BounceReport | None = None
    auto_reply: bool = False
    sender_name: str = ""
    # Exactly one From: header; with two, which one a signature covers is anyone's guess.
    single_from: bool = True
    # Authentication-Results headers, topmost first.
    authentication_results: tuple[str, ...] = ()
    # (event uid before the @, recipient hash) of our Message-IDs in In-Reply-To/References.
    references: tuple[tuple[str, str], ...] = ()
    # Where the message was delivered to (Delivered-To, X-Original-To, To), for return paths.
    delivered_to: bytes = b""
    # Why answers in it were refused as bad input (dates or numbers out of range).
    refusals: tuple[str, ...] = ()
    # Why an Outlook winmail.dat (TNEF), the message's only content, was not read as an
    # answer; empty when there was none or it was read.
    unread_tnef: str = ""

    @property
    def understood(self) -> bool:
        """Tell whether the message is something Meetbot acts on."""
        return bool(self.answers) or self.bounce is not None


class UnreadableMail(ValueError):
    """The bytes are not a mail message Meetbot can read."""


class BadCalendar(ValueError):
    """A calendar answer whose values are out of any sensible range."""


def read_inbound(raw: bytes) -> InboundMail:
    """Return what a raw message means, or raise UnreadableMail for junk.

    Blocking and CPU-bound on large input: call it off the event loop.
    """
    if len(raw) > MAX_INBOUND_BYTES:
        raise UnreadableMail(f"message of {len(raw)} bytes is too large")
    if b":" not in raw[:4096]:
        raise UnreadableMail("no headers")
    try:
        return _read(raw)
    except UnreadableMail:
        raise
    except Exception as error:  # the parser is lenient; anything it still refuses is junk
        raise UnreadableMail(f"{type(error).__name__}: {error}") from error


def _read(raw: bytes) -> InboundMail:
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    for parts, _ in enumerate(message.walk()):
        if parts >= MAX_MIME_PARTS:
            raise UnreadableMail(f"more than {MAX_MIME_PARTS} MIME parts")
    name, sender = parseaddr(_header(message, "From"))
    sender = sender.strip().lower()
    refusals: list[str] = []
    answers = _calendar_answers(message, refusals)
    unread_tnef = ""
    if not answers:
        answers, unread_tnef = _tnef_answers(message, sender, refusals)
    if any(not answer.comment for answer in answers):
        note = _text_note(message)
        answers = [a if a.comment else replace(a, comment=note) for a in answers]
    bounce = None if answers else read_bounce(message, raw, sender, _header(message, "Subject"))
    references = " ".join(_header(message, h) for h in ("In-Reply-To", "References"))
    delivered = "\n".join(
        str(v)
        for h in ("Delivered-To", "X-Original-To", "Envelope-To", "To")
        for v in message.get_all(h) or ()
    )
    return InboundMail(
        sender=sender,
        answers=answers,
        bounce=bounce,
        auto_reply=_is_auto_reply(message),
        sender_name=_one_line(name)[:255],
        single_from=len(message.get_all("From") or ()) == 1,
        authentication_results=tuple(
            str(v) for v in message.get_all("Authentication-Results") or ()
        ),
        references=tuple(
            dict.fromkeys(
                (m.group(1).decode(), m.group(4).decode())
                for m in OUR_MESSAGE_ID.finditer(references.encode("utf-8", "replace"))
            )
        ),
        delivered_to=delivered.encode("utf-8", "replace")[:8192],
        refusals=tuple(refusals),
        unread_tnef=unread_tnef,
    )


def _tnef_answers(
    message: Message, sender: str, refusals: list[str]
) -> tuple[list[CalendarAnswer], str]:
    """Return the answer in the message's winmail.dat, or why there is none to read.

    Outlook writes no ATTENDEE into it: the answer is the sender's, and the trust checks
    on the sender decide whether it is recorded.
    """
    part = next(
        (
            p
            for p in message.walk()
            if p.get_content_type() == "application/ms-tnef"
            or (p.get_filename() or "").lower() == "winmail.dat"
        ),
        None,
    )
    if part is None:
        return [], ""
    try:
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes) or not data:
            raise UnreadableTnef("an empty winmail.dat")
        found = read_tnef_answer_apart(data)
        if found is None:
            raise UnreadableTnef("a winmail.dat holding no meeting answer")
        return [_tnef_answer(found, sender)], ""
    except BadCalendar as bad:
        refusals.append(str(bad))
        return [], ""
    except (UnreadableTnef, ValueError, KeyError, TypeError) as problem:
        return [], str(problem) or "an unreadable winmail.dat"


def _tnef_answer(found: TnefAnswer, sender: str) -> CalendarAnswer:
    if not 0 <= found.sequence <= MAX_SEQUENCE:
        raise BadCalendar(f"SEQUENCE {found.sequence} is out of range")
    for name, moment in (
        ("RECURRENCE-ID", found.recurrence_id),
        ("DTSTART", found.proposed_start),
        ("DTEND", found.proposed_end),
    ):
        if moment is not None and not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
            raise BadCalendar(f"{name} {moment.date().isoformat()} is out of range")
    if not found.uid.strip() or "@" not in sender:
        raise UnreadableTnef("a winmail.dat answer naming no meeting or no sender")
    return CalendarAnswer(
        method="COUNTER" if found.counter else "REPLY",
        uid=found.uid.strip()[:255],
        sequence=found.sequence,
        attendee=sender,
        partstat=found.partstat,
        comment=_one_line(found.note[:MAX_NOTE_SOURCE]),
        proposed_start=found.proposed_start,
        proposed_end=found.proposed_end,
        recurrence_id=found.recurrence_id,
    )


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a malformed header must not stop the rest of the message
        return ""
    if value is None:
        return ""
    return str(email.header.make_header(email.header.decode_header(str(value))))


def _is_auto_reply(message: Message) -> bool:
    auto = _header(message, "Auto-Submitted").strip().lower()
    if auto and auto != "no":
        return True
    if _header(message, "X-Autoreply") or _header(message, "X-Autorespond"):
        return True
    if _header(message, "Precedence").strip().lower() in ("auto_reply", "bulk", "junk"):
        return True
    return bool(AUTO_SUBJECT.match(_header(message, "Subject")))


def _calendar_payloads(message: Message) -> list[bytes]:
    payloads: list[bytes] = []
    seen: set[bytes] = set()
    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        filename = (part.get_filename() or "").lower()
        if content_type not in ("text/calendar", "application/ics") and not filename.endswith(
            ".ics"
        ):
            continue
        try:
            data = part.get_payload(decode=True)
        except Exception:
            logger.debug("skipping an undecodable calendar part", exc_info=True)
            continue
        # The same calendar inline and attached is read once.
        if isinstance(data, bytes) and 0 < len(data) <= MAX_CALENDAR_BYTES and data not in seen:
            seen.add(data)
            payloads.append(data)
            if len(payloads) == MAX_CALENDAR_PARTS:
                break
    return payloads


def _calendar_answers(message: Message, refusals: list[str]) -> list[CalendarAnswer]:
    answers: list[CalendarAnswer] = []
    seen: set[tuple[str, str, str]] = set()
    for data in _calendar_payloads(message):
        for answer in read_calendar_answers(data, refusals):
            key = (answer.method, answer.uid, answer.attendee)
            if key not in seen:
                seen.add(key)
                answers.append(answer)
    return answers


def read_calendar_answers(data: bytes, refusals: list[str] | None = None) -> list[CalendarAnswer]:
    """Return the REPLY and COUNTER answers in an iCalendar document; anything else is ignored.

    Answers with values out of range are left out, and why is added to `refusals`.
    """
    try:
        calendar = Calendar.from_ical(data)
    except Exception:  # icalendar raises plain ValueErrors and more on broken input
        return []
    if not isinstance(calendar, Calendar):
        return []
    method = str(calendar.get("METHOD", "")).strip().upper()
    if method not in ("REPLY", "COUNTER"):
        return []
    answers = []
    for event in calendar.walk("VEVENT")[:MAX_EVENTS]:
        try:
            answers.extend(_event_answers(method, event))
        except BadCalendar as bad:
            if refusals is not None:
                refusals.append(str(bad))
        except Exception:  # one broken event must not hide the others
            logger.debug("skipping a broken VEVENT", exc_info=True)
            continue
    return answers


def _event_answers(method: str, event: Any) -> list[CalendarAnswer]:
    uid = str(event.get("UID", "")).strip()
    if not uid:
        return []
    try:
        sequence = int(str(event.get("SEQUENCE", "0")).strip() or 0)
    except ValueError:
        sequence = 0
    if not 0 <= sequence <= MAX_SEQUENCE:
        raise BadCalendar(f"SEQUENCE {str(sequence)[:20]} is out of range")
    attendees = event.get("ATTENDEE")
    if attendees is None:
        return []
    if not isinstance(attendees, list):
        attendees = [attendees]
    comment = event.get("COMMENT")
    if isinstance(comment, list):
        comment = " ".join(str(c) for c in comment)
    start = _moment(event, "DTSTART") if method == "COUNTER" else None
    end = _moment(event, "DTEND") if method == "COUNTER" else None
    recurrence_id = _moment(event, "RECURRENCE-ID")
    answers = []
    for attendee in attendees:
        address = re.sub(r"^mailto:", "", str(attendee).strip(), flags=re.IGNORECASE).lower()
        if "@" not in address:
            continue
        params = getattr(attendee, "params", {})
        partstat = params.get("PARTSTAT")
        # Google Calendar puts the guest's note on their ATTENDEE line; others use COMMENT.
        note = params.get("X-RESPONSE-COMMENT") or comment
        answers.append(
            CalendarAnswer(
                method=method,
                uid=uid,
                sequence=sequence,
                attendee=address,
                partstat=str(partstat).upper() if partstat else None,
                comment=_one_line(str(note or "")),
                proposed_start=start,
                proposed_end=end,
                recurrence_id=recurrence_id,
            )
        )
    return answers


def _one_line(text: str) -> str:
    return " ".join(text.split())[:MAX_NOTE]


def _text_note(message: Message) -> str:
    """Return what the guest wrote in the reply's text, without quotes and calendar boilerplate.

    Outlook's "edit the response before sending" puts the note only there.
    """
    for part in message.walk():
        if part.get_content_type() != "text/plain" or part.get_filename():
            continue
        try:
            data = part.get_payload(decode=True)
        except Exception:
            return ""
        if not isinstance(data, bytes):
            return ""
        text = data[:MAX_NOTE_SOURCE].decode(part.get_content_charset() or "utf-8", "replace")
        kept = []
        for line in text.splitlines():
            if QUOTE_START.match(line):
                break  # what follows is the invitation being answered, or a signature
            if not line.startswith(">") and not CALENDAR_BOILERPLATE.search(line):
                kept.append(line)
        return _one_line("\n".join(kept))
    return ""


def _moment(event: Any, name: str) -> datetime | None:
    if name not in event:
        return None
    value = event.decoded(name)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=ZoneInfo("UTC"))
    elif isinstance(value, date):
        moment = datetime.combine(value, time(), ZoneInfo("UTC"))
    else:
        return None
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise BadCalendar(f"{name} {moment.date().isoformat()} is out of range")
    return moment
