"""One pipeline for mail that comes back, whichever way it arrives (SMTP receiver or IMAP)."""

from __future__ import annotations

import logging
from enum import StrEnum

from bot.mail.inbound import UnreadableMail, read_inbound
from bot.meetings.errors import ReplyRefused
from bot.meetings.model import Bounce, MailedAnswer
from bot.meetings.replies import Replies
from bot.metrics import Metrics

logger = logging.getLogger(__name__)


class Outcome(StrEnum):
    """What became of one inbound message."""

    RECORDED = "recorded"
    REFUSED = "refused"
    BOUNCE = "bounce"
    AUTO_REPLY = "auto-reply"
    NOT_UNDERSTOOD = "not understood"
    UNREADABLE = "unreadable"

    @property
    def handled(self) -> bool:
        """Tell whether the message was dealt with (as opposed to left for a person to read)."""
        return self not in (Outcome.NOT_UNDERSTOOD, Outcome.UNREADABLE)


class Inbox:
    """Turn inbound messages into recorded answers, kept proposals and bounce reports."""

    def __init__(self, replies: Replies, metrics: Metrics | None = None) -> None:
        self._replies = replies
        self._metrics = metrics

    async def receive(self, raw: bytes) -> Outcome:
        """Act on one message; a failure of our own (database down) raises so it is retried."""
        try:
            mail = read_inbound(raw)
        except UnreadableMail as error:
            logger.warning("skipped an unreadable inbound message: %s", error)
            return Outcome.UNREADABLE
        if mail.answers:
            outcome = Outcome.REFUSED
            for answer in mail.answers:
                mailed = MailedAnswer(
                    method=answer.method,
                    uid=answer.uid,
                    sequence=answer.sequence,
                    attendee=answer.attendee,
                    sender=mail.sender,
                    partstat=answer.partstat,
                    comment=answer.comment,
                    proposed_start=answer.proposed_start,
                    proposed_end=answer.proposed_end,
                )
                try:
                    decision = await self._replies.record_mailed_answer(mailed)
                    outcome = Outcome.RECORDED
                    if decision is not None and decision.changed and self._metrics is not None:
                        self._metrics.decisions.labels("e-mail").inc()
                except ReplyRefused as refusal:
                    logger.warning("ignored a %s from %s: %s", answer.method, mail.sender, refusal)
            return outcome
        if mail.bounce is not None:
            bounce = Bounce(
                reason=mail.bounce.reason,
                messages=tuple((uid, digest) for uid, _, _, digest in mail.bounce.message_ids),
                recipients=mail.bounce.recipients,
            )
            marked = await self._replies.record_bounce(bounce)
            logger.info("bounce for %s: %s", [i.email for i in marked], bounce.reason)
            return Outcome.BOUNCE
        if mail.auto_reply:
            logger.info("ignored an automatic reply from %s", mail.sender)
            return Outcome.AUTO_REPLY
        logger.info("left a message from %s that is no answer or bounce", mail.sender)
        return Outcome.NOT_UNDERSTOOD
