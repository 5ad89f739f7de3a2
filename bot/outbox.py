"""Deliver what the outbox owes: Slack DMs and guest e-mails, retried until they land."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import aiosmtplib
from slack_sdk.errors import SlackApiError
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import blocks
from bot.home import HomeTab
from bot.i18n import N_, Language
from bot.mail.messages import (
    Files,
    Sender,
    cancellation_message,
    declinecounter_message,
    invitation_message,
    reminder_message,
)
from bot.mail.transport import Mailer
from bot.mailboxes import Mailboxes
from bot.meetings import Answer, Delivery, Invitee, Meeting, Meetings, changes_from_payload
from bot.metrics import Metrics
from bot.people import People
from bot.slack_clients import SlackClients, WorkspaceNotInstalled
from storage.models import Attendee, Event, OutboxEntry, utc_now

logger = logging.getLogger(__name__)

BATCH_SIZE = 50
FIRST_RETRY_SECONDS = 5.0
MAX_RETRY_SECONDS = 600.0
GIVE_UP_AFTER = timedelta(hours=48)
# A claimed entry is hidden from other processes this long; if the claimer dies mid-send, it
# comes back after that (the stable Message-ID lets mail programs drop a second copy).
LEASE = timedelta(minutes=2)
# Slack allows about one message a second in one conversation, with short bursts.
CHANNEL_BURST = 5
CHANNEL_WINDOW_SECONDS = 5.0
# Failures worth telling the organizer about: what an invited person never received.
INVITEE_DELIVERIES = frozenset(
    {
        Delivery.GUEST_INVITATION,
        Delivery.GUEST_CANCELLATION,
        Delivery.GUEST_REMINDER,
        Delivery.GUEST_DECLINECOUNTER,
        Delivery.MEMBER_INVITATION,
    }
)
# Slack errors no retry can mend: the person or channel is gone, the token is revoked.
PERMANENT_SLACK_ERRORS = frozenset(
    {
        "user_not_found",
        "channel_not_found",
        "is_archived",
        "account_inactive",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "cannot_dm_bot",
        "user_disabled",
        "invalid_blocks",
        "invalid_arguments",
    }
)


def describe_failure(error: Exception) -> str:
    """Return why a delivery failed, in words an organizer can act on."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused) and error.recipients:
        refusal = error.recipients[0]
        return f"{refusal.code} {refusal.message}"
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return f"{error.code} {error.message}"
    if isinstance(error, SlackApiError):
        return f"Slack answered {error.response.get('error')}"
    if isinstance(error, WorkspaceNotInstalled):
        return "Meetbot was removed from the Slack workspace"
    if isinstance(error, OSError | aiosmtplib.SMTPException):
        return N_("the mail server could not be reached for two days")
    return str(error) or type(error).__name__


class PermanentFailure(Exception):
    """A delivery that will never succeed; it is given up at once."""


def retry_delay(attempts: int) -> timedelta:
    """Return how long to wait before the next try: doubling from seconds to ten minutes."""
    return timedelta(
        seconds=min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS)
    )


def is_permanent(error: Exception) -> bool:
    """Tell whether retrying could ever help: not for a refused recipient or a revoked token."""
    if isinstance(error, PermanentFailure | WorkspaceNotInstalled):
        return True
    if isinstance(error, SlackApiError):
        return error.response.get("error") in PERMANENT_SLACK_ERRORS
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return all(refusal.code >= 500 for refusal in error.recipients)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return error.code >= 500
    return False


async def _newer_redraw_pending(session: AsyncSession, redraw_key: str, entry_id: int) -> bool:
    """Tell whether a later pending entry will redraw the same thing from fresher state."""
    newer = await session.scalar(
        select(OutboxEntry.id)
        .where(
            OutboxEntry.redraw_key == redraw_key,
            OutboxEntry.state == "pending",
            OutboxEntry.id > entry_id,
        )
        .limit(1)
    )
    return newer is not None


class Outbox:
    """Send every due outbox entry; the scheduler runs `drain` and changes wake it."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        meetings: Meetings,
        clients: SlackClients,
        mailboxes: Mailboxes,
        mailers: Mapping[str, Mailer],
        base_url: str,
        home: HomeTab,
        metrics: Metrics,
        people: People,
        attachment_limit: int = 10 * 1024 * 1024,
        lease: timedelta = LEASE,
    ) -> None:
        self._sessions = sessions
        self._meetings = meetings
        self._clients = clients
        self._mailboxes = mailboxes
        self._mailers = mailers
        self._base_url = base_url
        self._attachment_limit = attachment_limit
        self._lease = lease
        self._home = home
        self._metrics = metrics
        self._people = people
        self._wake: Callable[[], None] = lambda: None
        self._more = False
        self._stopping = False
        self._busy = asyncio.Lock()
        self._recent_posts: dict[str, collections.deque[float]] = {}

    def set_waker(self, wake: Callable[[], None]) -> None:
        """Tell the outbox how to get itself run soon (the scheduler supplies this)."""
        self._wake = wake

    def wake(self) -> None:
        """Ask for a drain right away, because a change just queued deliveries."""
        self._more = True
        if not self._busy.locked():
            self._wake()  # a drain under way sees `_more` and goes round again

    def stop_taking_work(self) -> None:
        """Finish the delivery under way but start no other: the process is shutting down."""
        self._stopping = True

    def answer_url(self, token: str) -> str:
        """Return the guest page address for a link token."""
        return f"{self._base_url}/rsvp/{token}"

    async def drain(self) -> int:
        """Deliver due entries until none are left; return how many were handled."""
        handled = 0
        async with self._busy:
            while True:
                self._more = False
                batch = await self._due_entries()
                # One meeting picture per batch: a thousand invitations need not load it 1000 times.
                meetings: dict[tuple[str, int], Meeting] = {}
                for entry_id in batch:
                    if self._stopping:
                        return handled  # the rest stays owed in the database for the next start
                    await self._deliver_one(entry_id, meetings)
                    handled += 1
                if not batch and not self._more:
                    return handled

    async def _due_entries(self) -> list[int]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(OutboxEntry.id)
                .where(OutboxEntry.state == "pending", OutboxEntry.available_at <= utc_now())
                .order_by(OutboxEntry.id)
                .limit(BATCH_SIZE)
            )
            return list(rows)

    async def _claim(self, entry_id: int) -> bool:
        """Take an entry for this process alone, so several processes never send it twice."""
        now = utc_now()
        async with self._sessions.begin() as session:
            claimed = await session.execute(
                update(OutboxEntry)
                .where(
                    OutboxEntry.id == entry_id,
                    OutboxEntry.state == "pending",
                    OutboxEntry.available_at <= now,
                )
                .values(available_at=now + self._lease)
            )
            return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]

    async def _deliver_one(self, entry_id: int, meetings: dict[tuple[str, int], Meeting]) -> None:
        if not await self._claim(entry_id):
            return  # another process has it
        async with self._sessions() as session:
            entry = await session.get(OutboxEntry, entry_id)
            if entry is None or entry.state != "pending":
                return
            kind, event_id, attendee_id, payload = (
                entry.kind,
                entry.event_id,
                entry.attendee_id,
                dict(entry.payload),
            )
            team_id = entry.team_id
            superseded = entry.redraw_key is not None and await _newer_redraw_pending(
                session, entry.redraw_key, entry_id
            )
        if superseded:
            await self._mark(entry_id, "superseded")
            return
        try:
            if kind == Delivery.FEED_FAILURE:
                user_id = str(payload["user_id"])
                message = blocks.feed_failure_notice(
                    str(payload.get("reason", "")), language=await self._language(team_id, user_id)
                )
                await self._post_dm(team_id, user_id, message)
                await self._mark(entry_id, "sent")
                return
            assert event_id is not None
            if (team_id, event_id) not in meetings:
                meetings[team_id, event_id] = await self._meetings.get(team_id, event_id)
            meeting = meetings[team_id, event_id]
            await self._send(Delivery(kind), meeting, attendee_id, payload)
        except Exception as error:
            await self._record_failure(entry_id, error)
            return
        await self._mark(entry_id, "sent")

    async def _mark(self, entry_id: int, state: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutboxEntry)
                .where(OutboxEntry.id == entry_id)
                .values(state=state, sent_at=utc_now(), attempts=OutboxEntry.attempts + 1)
            )

    async def pending_count(self) -> int:
        """Return how many deliveries are still owed."""
        async with self._sessions() as session:
            count = await session.scalar(
                select(func.count()).select_from(OutboxEntry).where(OutboxEntry.state == "pending")
            )
            return int(count or 0)

    async def _record_failure(self, entry_id: int, error: Exception) -> None:
        permanent = is_permanent(error)
        reason = describe_failure(error)
        async with self._sessions.begin() as session:
            entry = await session.get(OutboxEntry, entry_id)
            if entry is None:
                return
            entry.attempts += 1
            entry.last_error = f"{type(error).__name__}: {error}"[:2000]
            self._metrics.send_failures.labels(entry.kind).inc()
            given_up = permanent or entry.created_at < utc_now() - GIVE_UP_AFTER
            ids = {"team_id": entry.team_id, "event_id": entry.event_id, "entry_id": entry_id}
            if not given_up:
                entry.available_at = utc_now() + retry_delay(entry.attempts)
                logger.warning(
                    "delivery of outbox entry %s (%s) failed, attempt %s; retrying",
                    entry_id,
                    entry.kind,
                    entry.attempts,
                    exc_info=error,
                    extra=ids,
                )
                return
            entry.state = "failed"
            logger.error(
                "gave up delivering outbox entry %s (%s)",
                entry_id,
                entry.kind,
                exc_info=error,
                extra=ids,
            )
            tell = entry.kind in INVITEE_DELIVERIES and entry.attendee_id is not None
            team_id, attendee_id = entry.team_id, entry.attendee_id
        if tell and attendee_id is not None:
            await self._meetings.record_undelivered(team_id, attendee_id, reason)

    async def _send(
        self, kind: Delivery, meeting: Meeting, attendee_id: int | None, payload: dict[str, Any]
    ) -> None:
        invitee = meeting.invitee(attendee_id) if attendee_id is not None else None
        if kind is Delivery.ORGANIZER_SUMMARY:
            await self._refresh_summary(meeting)
        elif kind is Delivery.HOME_REFRESH:
            await self._publish_home(meeting.team_id, str(payload["user_id"]))
        elif invitee is None:
            raise PermanentFailure(f"{kind} needs an attendee")
        elif kind is Delivery.MEMBER_INVITATION:
            await self._refresh_member_dm(meeting, invitee)
        elif kind is Delivery.MEMBER_NOTICE:
            changes = changes_from_payload(payload)
            message = blocks.member_notice(
                meeting,
                str(payload["reason"]),
                changes,
                bool(payload.get("reset")),
                language=await self._language(meeting.team_id, invitee.slack_user_id),
            )
            await self._post_dm(meeting.team_id, invitee.slack_user_id, message)
        elif kind is Delivery.MEMBER_REMINDER:
            message = blocks.member_reminder(
                meeting, language=await self._language(meeting.team_id, invitee.slack_user_id)
            )
            await self._post_dm(meeting.team_id, invitee.slack_user_id, message)
        elif kind is Delivery.DECISION_NOTICE:
            message = blocks.decision_notice(
                meeting,
                invitee,
                Answer(str(payload["answer"])),
                str(payload.get("comment", "")),
                stale=bool(payload.get("stale")),
                language=await self._language(meeting.team_id, meeting.organizer.user_id),
            )
            await self._post_dm(meeting.team_id, meeting.organizer.user_id, message)
        elif kind is Delivery.COUNTER_NOTICE:
            proposal = await self._meetings.proposal(int(payload["proposal_id"]))
            organizer_language = await self._language(meeting.team_id, meeting.organizer.user_id)
            message = blocks.counter_notice(meeting, invitee, proposal, language=organizer_language)
            await self._post_dm(meeting.team_id, meeting.organizer.user_id, message)
        elif kind is Delivery.BOUNCE_NOTICE:
            message = blocks.bounce_notice(
                meeting,
                invitee,
                str(payload.get("reason", "")),
                language=await self._language(meeting.team_id, meeting.organizer.user_id),
            )
            await self._post_dm(meeting.team_id, meeting.organizer.user_id, message)
        elif kind is Delivery.GUEST_DECLINECOUNTER:
            proposal = await self._meetings.proposal(int(payload["proposal_id"]))
            sender, mailer = self._mail_route(meeting)
            mail = declinecounter_message(
                meeting, invitee, proposal, sender=sender, stamp=utc_now()
            )
            await mailer.send(mail, envelope_from=sender.address)
        elif kind is Delivery.GUEST_INVITATION:
            if int(payload.get("sequence", meeting.sequence)) < meeting.sequence:
                return  # the meeting changed again; a newer message to this guest is queued
            await self._send_guest_invitation(meeting, invitee, payload)
        elif kind is Delivery.GUEST_CANCELLATION:
            sender, mailer = self._mail_route(meeting)
            mail = cancellation_message(
                meeting,
                invitee,
                sender=sender,
                stamp=utc_now(),
                removed=payload.get("reason") == "removed",
            )
            await mailer.send(mail, envelope_from=sender.address)
        elif kind is Delivery.GUEST_REMINDER:
            sender, mailer = self._mail_route(meeting)
            mail = reminder_message(
                meeting,
                invitee,
                sender=sender,
                answer_url=self.answer_url(self._meetings.link_token(invitee)),
                stamp=utc_now(),
            )
            await mailer.send(mail, envelope_from=sender.address)

    def _mail_route(self, meeting: Meeting) -> tuple[Sender, Mailer]:
        """Return the mailbox the meeting's guests hear from and the mailer that sends for it."""
        mailbox = self._mailboxes.get(meeting.mailbox)
        return Sender(mailbox.address), self._mailers[mailbox.key]

    async def _language(self, team_id: str, user_id: str | None) -> Language:
        """Return the language of the member a DM goes to (their Slack locale)."""
        assert user_id is not None
        return (await self._people.get(team_id, user_id)).language

    async def _dm_channel(self, team_id: str, user_id: str) -> str:
        client = await self._clients.for_team(team_id)
        response = await client.conversations_open(users=user_id)
        return str(response["channel"]["id"])

    async def _pace(self, channel: str) -> None:
        """Keep to Slack's pace per conversation: a short burst, then one a second."""
        loop = asyncio.get_running_loop()
        recent = self._recent_posts.setdefault(channel, collections.deque(maxlen=CHANNEL_BURST))
        if len(recent) == CHANNEL_BURST:
            wait = recent[0] + CHANNEL_WINDOW_SECONDS - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
        recent.append(loop.time())

    async def _post_dm(self, team_id: str, user_id: str | None, message: blocks.Message) -> None:
        assert user_id is not None
        text, message_blocks = message
        channel = await self._dm_channel(team_id, user_id)
        await self._pace(channel)
        client = await self._clients.for_team(team_id)
        await client.chat_postMessage(channel=channel, text=text, blocks=message_blocks)

    def _member_file_links(self, meeting: Meeting) -> list[tuple[str, str]]:
        return [(f.name, f"{self._base_url}/files/{f.public_key}") for f in meeting.files]

    async def _publish_home(self, team_id: str, user_id: str) -> None:
        view = await self._home.view(team_id, user_id)
        client = await self._clients.for_team(team_id)
        await client.views_publish(user_id=user_id, view=view)

    async def _refresh_summary(self, meeting: Meeting) -> None:
        message = blocks.organizer_summary(
            meeting,
            self._member_file_links(meeting),
            language=await self._language(meeting.team_id, meeting.organizer.user_id),
        )
        async with self._sessions() as session:
            event = await session.get(Event, meeting.id)
            assert event is not None
            channel, ts = event.summary_channel, event.summary_ts
        posted = await self._post_or_update(
            meeting.team_id, meeting.organizer.user_id, channel, ts, message
        )
        if posted is not None:
            async with self._sessions.begin() as session:
                await session.execute(
                    update(Event)
                    .where(Event.id == meeting.id)
                    .values(summary_channel=posted[0], summary_ts=posted[1])
                )

    async def _refresh_member_dm(self, meeting: Meeting, invitee: Invitee) -> None:
        assert invitee.slack_user_id is not None
        message = blocks.member_invitation(
            meeting,
            invitee,
            self._member_file_links(meeting),
            language=await self._language(meeting.team_id, invitee.slack_user_id),
        )
        async with self._sessions() as session:
            attendee = await session.get(Attendee, invitee.id)
            assert attendee is not None
            channel, ts = attendee.dm_channel, attendee.dm_ts
        if not (channel and ts) and (meeting.cancelled or invitee.removed):
            return  # never invited in Slack, so there is nothing to take back
        posted = await self._post_or_update(
            meeting.team_id, invitee.slack_user_id, channel, ts, message
        )
        if posted is not None:
            async with self._sessions.begin() as session:
                await session.execute(
                    update(Attendee)
                    .where(Attendee.id == invitee.id)
                    .values(dm_channel=posted[0], dm_ts=posted[1])
                )

    async def _post_or_update(
        self,
        team_id: str,
        user_id: str,
        channel: str | None,
        ts: str | None,
        message: blocks.Message,
    ) -> tuple[str, str] | None:
        """Redraw a DM we sent before, or send it; return where a new one was posted."""
        text, message_blocks = message
        client = await self._clients.for_team(team_id)
        if channel and ts:
            await self._pace(channel)
            await client.chat_update(channel=channel, ts=ts, text=text, blocks=message_blocks)
            return None
        channel = await self._dm_channel(team_id, user_id)
        await self._pace(channel)
        posted = await client.chat_postMessage(channel=channel, text=text, blocks=message_blocks)
        return str(posted["channel"]), str(posted["ts"])

    async def _guest_files(self, meeting: Meeting, token: str) -> Files:
        links = [(f, f"{self.answer_url(token)}/files/{f.public_key}") for f in meeting.files]
        if not meeting.files or sum(f.size for f in meeting.files) > self._attachment_limit:
            return Files(linked=links)
        attached = [await self._meetings.file_content(meeting, f.public_key) for f in meeting.files]
        return Files(attached=attached, linked=links)

    async def _send_guest_invitation(
        self, meeting: Meeting, guest: Invitee, payload: dict[str, Any]
    ) -> None:
        token = self._meetings.link_token(guest)
        sender, mailer = self._mail_route(meeting)
        message = invitation_message(
            meeting,
            guest,
            sender=sender,
            answer_url=self.answer_url(token),
            stamp=utc_now(),
            changes=changes_from_payload(payload),
            answers_reset=bool(payload.get("reset")),
            files=await self._guest_files(meeting, token),
        )
        await mailer.send(message, envelope_from=sender.address)
