"""Reading mail that comes back: calendar replies, counter-proposals, bounces, auto-replies.

Pure functions from raw bytes to what the message means; nothing here changes state.
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
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar

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
# Our Message-IDs: <event.sequence.kind.recipient-hash.outbox-entry@domain> (see
# mail.messages.message_id); those sent before the outbox entry was added end at the hash.
OUR_MESSAGE_ID = re.compile(
    rb"<([0-9a-f-]{36})\.(\d{1,10})\.(request|cancel|reminder|declinecounter)\.([0-9a-f]{16})"
    rb"(?:\.(\d{1,12}))?@[^<>\s]{1,255}>"
)
SMTP_REASON = re.compile(r"\b[45]\d\d[ -](?:[45]\.\d{1,3}\.\d{1,3}\b)?[^\r\n]*")
ENHANCED_STATUS = re.compile(r"\b[45]\.\d{1,3}\.\d{1,3}\b")
AUTO_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?(reply|response)|autoreply"
    r"|abwesenheit|odpowied[zź] automatyczna|nieobecno[sś][cć])",
    re.IGNORECASE,
)
BOUNCE_SENDER = re.compile(r"^(mailer-daemon|postmaster|mail-daemon)@", re.IGNORECASE)
BOUNCE_SUBJECT = re.compile(
    r"(undeliver|delivery status notification|failure notice|returned mail|delivery failure"
    r"|mail delivery failed|could not be delivered)",
    re.IGNORECASE,
)


# Our Message-IDs read out of one delivery report; a real one quotes one or two.
MAX_QUOTED_IDS = 50
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
class BounceReport:
    """A report that one of our messages could not be delivered, or not yet."""

    recipients: tuple[str, ...]
    reason: str
    message_ids: tuple[tuple[str, int, str, str], ...]
    # (event uid before the @, recipient hash, outbox entry) of each quoted Message-ID that
    # names its outbox entry: the exact message the report is about.
    entries: tuple[tuple[str, str, int], ...] = ()
    # Only a delay (Action: delayed, a 4.x.x status): the server is still trying.
    delayed: bool = False


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
    # Only an Outlook winmail.dat (TNEF) attachment, which Meetbot does not read.
    tnef_only: bool = False

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
    if any(not answer.comment for answer in answers):
        note = _text_note(message)
        answers = [a if a.comment else replace(a, comment=note) for a in answers]
    bounce = None if answers else _bounce(message, raw, sender)
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
        tnef_only=not answers and _has_tnef(message),
    )


def _has_tnef(message: Message) -> bool:
    return any(
        part.get_content_type() == "application/ms-tnef"
        or (part.get_filename() or "").lower() == "winmail.dat"
        for part in message.walk()
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


def _looks_like_bounce(message: Message, sender: str) -> bool:
    if message.get_content_type() == "multipart/report":
        return True
    if BOUNCE_SENDER.match(sender):
        return True
    return bool(BOUNCE_SUBJECT.search(_header(message, "Subject")))


def _bounce(message: Message, raw: bytes, sender: str) -> BounceReport | None:
    if not _looks_like_bounce(message, sender):
        return None
    # Bounded: the message is capped in size and only the first matches count.
    matches = list(islice(OUR_MESSAGE_ID.finditer(raw), MAX_QUOTED_IDS))
    ids = tuple(
        (m.group(1).decode(), int(m.group(2)), m.group(3).decode(), m.group(4).decode())
        for m in matches
    )
    entries = tuple(
        (m.group(1).decode(), m.group(4).decode(), int(m.group(5)))
        for m in matches
        if m.group(5) is not None
    )
    recipients, reason, actions = _delivery_status(message)
    if not reason:
        reason = _reason_in_text(message)
    if "failed" in actions:
        delayed = False
    elif actions:
        delayed = "delayed" in actions
    else:
        # No machine-readable report: a temporary (4xx) reason is a delay, not a failure.
        delayed = bool(reason) and reason.lstrip()[:1] == "4"
    return BounceReport(
        recipients=tuple(dict.fromkeys(recipients)),
        reason=reason or "the receiving server refused it",
        message_ids=tuple(dict.fromkeys(ids))[:20],
        entries=tuple(dict.fromkeys(entries))[:20],
        delayed=delayed,
    )


def _delivery_status(message: Message) -> tuple[list[str], str, set[str]]:
    """Return the recipients, the reason and the actions of an RFC 3464 delivery-status part."""
    recipients: list[str] = []
    reasons: list[str] = []
    actions: set[str] = set()
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        blocks = payload if isinstance(payload, list) else []
        if not blocks and isinstance(payload, str):
            blocks = [email.message_from_string(chunk) for chunk in payload.split("\n\n")]
        for fields in blocks[:50]:
            if not isinstance(fields, Message):
                continue
            action = str(fields.get("Action", "")).strip().lower()
            recipient = str(fields.get("Final-Recipient") or fields.get("Original-Recipient") or "")
            if not recipient:
                continue
            actions.add(action or "failed")
            if action and action not in ("failed", "delayed"):
                continue  # delivered, relayed, expanded: nothing went wrong
            address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
            if "@" in address:
                recipients.append(address)
            diagnostic = " ".join(str(fields.get("Diagnostic-Code", "")).split())
            diagnostic = diagnostic.split(";", 1)[-1].strip()
            status = str(fields.get("Status", "")).strip()
            reasons.append(diagnostic or status)
    return recipients, next((r for r in reasons if r), "")[:300], actions


def _reason_in_text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() != "text/plain":
            continue
        try:
            payload = part.get_payload(decode=True)
        except Exception:
            logger.debug("skipping an undecodable text part", exc_info=True)
            continue
        if not isinstance(payload, bytes):
            continue
        text = payload.decode("utf-8", "replace")
        for match in SMTP_REASON.finditer(text):
            line = " ".join(match.group(0).split())
            if ENHANCED_STATUS.search(line) or line[:1] == "5":
                return line[:300]
    return ""
