"""Reading delivery reports: which of our messages could not be delivered, or not yet, and why.

Pure functions over a parsed message; bot.mail.inbound decides when a message is one.
"""

from __future__ import annotations

import email
import logging
import re
from dataclasses import dataclass
from email.message import Message
from itertools import islice

logger = logging.getLogger(__name__)

# Our Message-IDs: <event.sequence.kind.recipient-hash.outbox-entry@domain> (see
# mail.messages.message_id); those sent before the outbox entry was added end at the hash.
OUR_MESSAGE_ID = re.compile(
    rb"<([0-9a-f-]{36})\.(\d{1,10})\.(request|cancel|reminder|declinecounter)\.([0-9a-f]{16})"
    rb"(?:\.(\d{1,12}))?@[^<>\s]{1,255}>"
)
SMTP_REASON = re.compile(r"\b[45]\d\d[ -](?:[45]\.\d{1,3}\.\d{1,3}\b)?[^\r\n]*")
ENHANCED_STATUS = re.compile(r"\b[45]\.\d{1,3}\.\d{1,3}\b")
BOUNCE_SENDER = re.compile(r"^(mailer-daemon|postmaster|mail-daemon)@", re.IGNORECASE)
BOUNCE_SUBJECT = re.compile(
    r"(undeliver|delivery status notification|failure notice|returned mail|delivery failure"
    r"|mail delivery failed|could not be delivered)",
    re.IGNORECASE,
)
# Our Message-IDs read out of one delivery report; a real one quotes one or two.
MAX_QUOTED_IDS = 50


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


def _looks_like_bounce(message: Message, sender: str, subject: str) -> bool:
    if message.get_content_type() == "multipart/report":
        return True
    if BOUNCE_SENDER.match(sender):
        return True
    return bool(BOUNCE_SUBJECT.search(subject))


def read_bounce(message: Message, raw: bytes, sender: str, subject: str) -> BounceReport | None:
    """Return the delivery report a message is, or None when it is none."""
    if not _looks_like_bounce(message, sender, subject):
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
