"""One pipeline for mail that comes back, whichever way it arrives (SMTP receiver or IMAP).

Reading a message (MIME, iCalendar, DKIM) happens in a worker thread, a couple at a time,
so a large or hostile message never holds up the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.mail.inbound import CalendarAnswer, InboundMail, UnreadableMail, read_inbound
from bot.mail.return_paths import ReturnPaths, return_path_tags
from bot.mail.trust import Authentication, Resolver, authenticate
from bot.meetings.errors import ReplyRefused
from bot.meetings.model import Bounce, MailedAnswer
from bot.meetings.replies import Replies
from bot.metrics import Metrics

logger = logging.getLogger(__name__)

# Messages read at once; more wait their turn instead of crowding the threads.
READERS = 2


class Outcome(StrEnum):
    """What became of one inbound message."""

    RECORDED = "recorded"
    # Not believed on its own: the organizer was asked.
    HELD = "held for the organizer"
    REFUSED = "refused"
    BOUNCE = "bounce"
    DELAYED = "delay notice"
    AUTO_REPLY = "auto-reply"
    NOT_UNDERSTOOD = "not understood"
    UNREADABLE = "unreadable"

    @property
    def handled(self) -> bool:
        """Tell whether the message was dealt with (as opposed to left for a person to read)."""
        return self not in (Outcome.REFUSED, Outcome.NOT_UNDERSTOOD, Outcome.UNREADABLE)


@dataclass(frozen=True)
class Receipt:
    """What became of one inbound message, and why, for whoever reads what was kept."""

    outcome: Outcome
    reason: str = ""

    @property
    def handled(self) -> bool:
        """Tell whether the message was dealt with."""
        return self.outcome.handled


class Inbox:
    """Turn inbound messages into recorded answers, questions to organizers and bounces."""

    def __init__(
        self,
        replies: Replies,
        metrics: Metrics | None = None,
        *,
        return_paths: ReturnPaths | None = None,
        resolver: Resolver | None = None,
        trusted_authserv_id: str | None = None,
    ) -> None:
        self._replies = replies
        self._metrics = metrics
        self._return_paths = return_paths
        self._resolver = resolver
        self._trusted = trusted_authserv_id
        self._readers: asyncio.Semaphore | None = None

    def _read(self, raw: bytes) -> tuple[InboundMail, Authentication]:
        mail = read_inbound(raw)
        if not mail.answers or not mail.single_from:
            return mail, Authentication()
        results = mail.authentication_results
        return mail, authenticate(
            raw, results, resolver=self._resolver, trusted_authserv_id=self._trusted
        )

    async def receive(self, raw: bytes, envelope_recipients: Sequence[str] = ()) -> Receipt:
        """Act on one message; a failure of our own (database down) raises so it is retried."""
        if self._readers is None:
            self._readers = asyncio.Semaphore(READERS)
        try:
            async with self._readers:
                mail, authentication = await asyncio.to_thread(self._read, raw)
        except UnreadableMail as error:
            logger.warning("skipped an unreadable inbound message: %s", error)
            return Receipt(Outcome.UNREADABLE, str(error))
        if mail.answers:
            return await self._answers(mail, authentication)
        if mail.refusals:
            reason = "bad input: " + "; ".join(mail.refusals)
            logger.warning("refused a calendar answer from %s: %s", mail.sender, reason)
            return Receipt(Outcome.REFUSED, reason)
        if mail.bounce is not None:
            return await self._bounce(mail, envelope_recipients)
        if mail.unread_tnef:
            reason = (
                f"an Outlook winmail.dat (TNEF) message Meetbot could not read: {mail.unread_tnef}"
            )
            logger.info("left a message from %s: %s", mail.sender, reason)
            return Receipt(Outcome.NOT_UNDERSTOOD, reason)
        if mail.auto_reply:
            logger.info("ignored an automatic reply from %s", mail.sender)
            return Receipt(Outcome.AUTO_REPLY)
        logger.info("left a message from %s that is no answer or bounce", mail.sender)
        return Receipt(Outcome.NOT_UNDERSTOOD, "neither a calendar answer nor a delivery report")

    async def _answers(self, mail: InboundMail, authentication: Authentication) -> Receipt:
        authenticated = mail.single_from and authentication.vouches_for(mail.sender)
        outcomes: list[Outcome] = []
        refusals = list(mail.refusals)
        for answer in mail.answers:
            try:
                taken = await self._replies.take_mailed_answer(_mailed(mail, answer, authenticated))
            except ReplyRefused as refusal:
                logger.warning("ignored a %s from %s: %s", answer.method, mail.sender, refusal)
                refusals.append(str(refusal))
                continue
            if taken.held:
                logger.info("asked the organizer about a %s from %s", answer.method, mail.sender)
                outcomes.append(Outcome.HELD)
                continue
            outcomes.append(Outcome.RECORDED)
            decision = taken.decision
            if decision is not None and decision.changed and self._metrics is not None:
                self._metrics.decisions.labels("e-mail").inc()
        if Outcome.RECORDED in outcomes:
            return Receipt(Outcome.RECORDED)
        if outcomes:
            return Receipt(Outcome.HELD)
        return Receipt(Outcome.REFUSED, "; ".join(refusals))

    async def _bounce(self, mail: InboundMail, envelope_recipients: Sequence[str]) -> Receipt:
        report = mail.bounce
        assert report is not None
        where = mail.delivered_to + "\n".join(envelope_recipients).encode("utf-8", "replace")
        attendees: tuple[int, ...] = ()
        if self._return_paths is not None:
            attendees = self._return_paths.attendees_in(return_path_tags(where))
        bounce = Bounce(
            reason=report.reason,
            messages=tuple((uid, digest) for uid, _, _, digest in report.message_ids),
            recipients=report.recipients,
            attendee_ids=attendees,
            entries=report.entries,
        )
        if report.delayed:
            # Still being tried: nobody is told it failed (a later report may say so); the
            # organizer's ledger shows the message delayed, with the reason.
            logger.info("delivery delayed for %s: %s", list(report.recipients), report.reason)
            if bounce.attendee_ids or bounce.messages:
                await self._replies.record_delay(bounce)
            return Receipt(Outcome.DELAYED)
        if not bounce.attendee_ids and not bounce.messages:
            reason = "a delivery report that refers to no message Meetbot sent"
            logger.warning("ignored %s (from %s)", reason, mail.sender)
            return Receipt(Outcome.REFUSED, reason)
        marked = await self._replies.record_bounce(bounce)
        if not marked:
            reason = "a delivery report about no guest of Meetbot's"
            logger.warning("ignored %s (from %s)", reason, mail.sender)
            return Receipt(Outcome.REFUSED, reason)
        logger.info("bounce for %s: %s", [i.email for i in marked], bounce.reason)
        return Receipt(Outcome.BOUNCE)


def _mailed(mail: InboundMail, answer: CalendarAnswer, authenticated: bool) -> MailedAnswer:
    event = answer.uid.partition("@")[0]
    return MailedAnswer(
        method=answer.method,
        uid=answer.uid,
        sequence=answer.sequence,
        attendee=answer.attendee,
        sender=mail.sender,
        partstat=answer.partstat,
        comment=answer.comment,
        proposed_start=answer.proposed_start,
        proposed_end=answer.proposed_end,
        authenticated=authenticated,
        sender_name=mail.sender_name,
        answered_for=tuple(digest for uid, digest in mail.references if uid == event),
        recurrence_id=answer.recurrence_id,
    )
