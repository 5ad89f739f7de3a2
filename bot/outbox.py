"""Deliver what the outbox owes: Slack DMs and guest e-mails, retried until they land."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import blocks
from bot.home import HomeTab
from bot.i18n import N_, Language
from bot.mail.messages import (
    Files,
    GuestInvitations,
    Sender,
    cancellation_message,
    declinecounter_message,
    reminder_message,
)
from bot.mail.transport import Mailer, MailSession
from bot.mailboxes import Mailboxes
from bot.meetings import (
    Answer,
    AttachedFile,
    Change,
    Delivery,
    Invitee,
    Meeting,
    Meetings,
    changes_from_payload,
)
from bot.metrics import Metrics
from bot.people import People
from bot.slack_clients import DISCONNECTED, SlackClients, WorkspaceNotInstalled
from storage.models import Attendee, Event, OutboxEntry, utc_now

logger = logging.getLogger(__name__)

BATCH_SIZE = 250
FIRST_RETRY_SECONDS = 5.0
MAX_RETRY_SECONDS = 600.0
GIVE_UP_AFTER = timedelta(hours=48)
# A claimed entry is hidden from other processes this long; if the claimer dies mid-send, it
# comes back after that (the stable Message-ID lets mail programs drop a second copy).
LEASE = timedelta(minutes=2)
# No claimed entry is begun this close to its lease's end (more than an SMTP exchange may
# take); the rest of the batch is handed back for the next round.
LEASE_MARGIN = timedelta(seconds=60)
# Messages handed to the mail session before the earliest is done: the next is built while
# the server works on the last ones.
MAILS_IN_FLIGHT = 8
# Delivered entries are marked sent together, but soon: a crash in between resends at most
# these few (with the same Message-ID, so mail programs drop the copies).
MARK_EVERY = 25
MARK_WITHIN_SECONDS = 0.05
# Slack message metadata naming the outbox entry a post came from; DM history is searched
# for it (im:history) only when a process died while posting.
POST_EVENT_TYPE = "meetbot_delivery"
POSTS_LOOKED_AT = 50
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
        return DISCONNECTED
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


@dataclass(frozen=True)
class ClaimedEntry:
    """An outbox entry this process has leased, with what delivering it needs."""

    id: int
    team_id: str
    kind: str
    event_id: int | None
    attendee_id: int | None
    payload: dict[str, Any]
    redraw_key: str | None
    # An earlier lease of this entry ended with neither success nor failure recorded: its
    # process died mid-delivery, so Slack may already show what it was posting.
    maybe_posted: bool = False

    @property
    def tag(self) -> PostTag:
        """Return how this entry's Slack messages are marked and looked for."""
        return PostTag(self.redraw_key or str(self.id), self.maybe_posted)


@dataclass(frozen=True)
class PostTag:
    """Marks a Slack message with what it shows, so a retry after a crash finds it.

    The key is the redraw key of a message kept up to date (a member's invitation, the
    organizer's summary), so any later redraw finds the post; else the entry's own id.
    """

    key: str
    maybe_posted: bool = False

    @property
    def metadata(self) -> dict[str, Any]:
        """Return the message metadata Slack keeps with the post (not shown to anyone)."""
        return {"event_type": POST_EVENT_TYPE, "event_payload": {"delivery": self.key}}


@dataclass
class ClaimedBatch:
    """Due entries leased together, and which of them a newer pending redraw makes moot."""

    entries: list[ClaimedEntry]
    lease_until: datetime
    superseded: set[int] = field(default_factory=set)


class DeliveryMarks:
    """Entries delivered and not yet recorded so, written together within a few ms."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._waiting: list[tuple[int, str]] = []
        self._timer: asyncio.TimerHandle | None = None
        # Kept until `flush`, which raises what any of them raised.
        self._writes: list[asyncio.Task[None]] = []

    async def add(self, entry_id: int, state: str) -> None:
        """Note an entry's outcome; write the notes when enough have gathered."""
        self._waiting.append((entry_id, state))
        if len(self._waiting) >= MARK_EVERY:
            await self.flush()
        elif self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(MARK_WITHIN_SECONDS, self._flush_in_background)

    def _flush_in_background(self) -> None:
        self._timer = None
        self._writes.append(asyncio.create_task(self._write(self._take())))

    def _take(self) -> list[tuple[int, str]]:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiting, self._waiting = self._waiting, []
        return waiting

    async def flush(self) -> None:
        """Write every outcome noted so far, and wait for writes already under way."""
        await self._write(self._take())
        writes, self._writes = self._writes, []
        await asyncio.gather(*writes)

    async def _write(self, marks: list[tuple[int, str]]) -> None:
        if not marks:
            return
        by_state: dict[str, list[int]] = collections.defaultdict(list)
        for entry_id, state in marks:
            by_state[state].append(entry_id)
        async with self._sessions.begin() as session:
            for state, ids in by_state.items():
                await session.execute(
                    update(OutboxEntry)
                    .where(OutboxEntry.id.in_(ids))
                    .values(state=state, sent_at=utc_now(), attempts=OutboxEntry.attempts + 1)
                )


async def _posted_before(client: AsyncWebClient, channel: str, tag: PostTag) -> str | None:
    """Return the ts of the message an entry posted in a DM before, if Slack shows one."""
    try:
        history = await client.conversations_history(
            channel=channel, limit=POSTS_LOOKED_AT, include_all_metadata=True
        )
    except SlackApiError as error:
        # Without im:history (an install from before it was asked for) there is no telling;
        # posting again risks a second copy, not posting risks none at all.
        logger.warning(
            "could not look for an earlier post in %s: %s", channel, error.response.get("error")
        )
        return None
    for message in history.get("messages") or []:
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        if metadata.get("event_type") == POST_EVENT_TYPE and payload.get("delivery") == tag.key:
            return str(message["ts"])
    return None


class MailSessions:
    """One drain's open mail sessions, one per mail server, opened when first needed."""

    def __init__(self, stack: contextlib.AsyncExitStack) -> None:
        self._stack = stack
        self._open: dict[int, MailSession] = {}

    async def of(self, mailer: Mailer) -> MailSession:
        """Return the session sending through a mailer, opening it the first time."""
        if id(mailer) not in self._open:
            self._open[id(mailer)] = await self._stack.enter_async_context(mailer.session())
        return self._open[id(mailer)]


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
        # A short lease (set for tests of crashes) keeps half of itself for the sending.
        self._lease_margin = min(LEASE_MARGIN, lease / 2)
        self._home = home
        self._metrics = metrics
        self._people = people
        self._wake: Callable[[], None] = lambda: None
        self._more = False
        self._stopping = False
        self._busy = asyncio.Lock()
        self._recent_posts: dict[str, collections.deque[float]] = {}
        # What one batch's guest e-mails share, built once (drains never overlap: `_busy`).
        self._batch_invitations: dict[
            tuple[int, int, tuple[Change, ...], bool], GuestInvitations
        ] = {}
        self._batch_files: dict[int, list[tuple[AttachedFile, bytes]]] = {}

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
        async with self._busy, contextlib.AsyncExitStack() as open_sessions:
            mail = MailSessions(open_sessions)
            while not self._stopping:
                self._more = False
                batch = await self._claim_batch()
                await self._deliver_batch(batch, mail)
                handled += len(batch.entries)
                if not batch.entries and not self._more:
                    break
        return handled  # when stopping, what is left stays owed for the next start

    async def _claim_batch(self) -> ClaimedBatch:
        """Lease the next due entries in one statement, so no other process sends them too."""
        now = utc_now()
        lease_until = now + self._lease
        due = (
            select(OutboxEntry.id)
            .where(OutboxEntry.state == "pending", OutboxEntry.available_at <= now)
            .order_by(OutboxEntry.id)
            .limit(BATCH_SIZE)
            .with_for_update(skip_locked=True)
        )
        async with self._sessions.begin() as session:
            rows = await session.execute(
                update(OutboxEntry)
                .where(
                    OutboxEntry.id.in_(due),
                    OutboxEntry.state == "pending",
                    OutboxEntry.available_at <= now,
                )
                .values(available_at=lease_until, claims=OutboxEntry.claims + 1)
                .returning(
                    OutboxEntry.claims,
                    OutboxEntry.attempts,
                    OutboxEntry.id,
                    OutboxEntry.team_id,
                    OutboxEntry.kind,
                    OutboxEntry.event_id,
                    OutboxEntry.attendee_id,
                    OutboxEntry.payload,
                    OutboxEntry.redraw_key,
                )
                .execution_options(synchronize_session=False)
            )
            entries = sorted(
                (
                    ClaimedEntry(
                        row.id,
                        row.team_id,
                        row.kind,
                        row.event_id,
                        row.attendee_id,
                        dict(row.payload or {}),
                        row.redraw_key,
                        maybe_posted=row.claims > row.attempts + 1,
                    )
                    for row in rows
                ),
                key=lambda entry: entry.id,
            )
            batch = ClaimedBatch(entries, lease_until)
            keys = {entry.redraw_key for entry in entries if entry.redraw_key is not None}
            if keys:
                # Only the newest pending redraw of a thing needs sending: it reads fresh state.
                newest_rows = await session.execute(
                    select(OutboxEntry.redraw_key, func.max(OutboxEntry.id))
                    .where(OutboxEntry.redraw_key.in_(keys), OutboxEntry.state == "pending")
                    .group_by(OutboxEntry.redraw_key)
                )
                newest = {str(key): int(last) for key, last in newest_rows}
                # One cut off mid-post is not skipped: it looks for, and adopts, what it posted.
                batch.superseded = {
                    entry.id
                    for entry in entries
                    if entry.redraw_key is not None
                    and newest.get(entry.redraw_key, 0) > entry.id
                    and not entry.maybe_posted
                }
            return batch

    async def _release(self, entries: list[ClaimedEntry], lease_until: datetime) -> None:
        """Hand leased entries back at once, while the lease is still this process's own."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutboxEntry)
                .where(
                    OutboxEntry.id.in_([entry.id for entry in entries]),
                    OutboxEntry.state == "pending",
                    OutboxEntry.available_at == lease_until,
                )
                # Never begun: this lease must not count as one that died mid-delivery.
                .values(available_at=utc_now(), claims=OutboxEntry.claims - 1)
            )

    async def _deliver_batch(self, batch: ClaimedBatch, mail: MailSessions) -> None:
        # One meeting picture per batch: a thousand invitations need not load it 1000 times.
        meetings: dict[tuple[str, int], Meeting] = {}
        self._batch_invitations.clear()
        self._batch_files.clear()
        marks = DeliveryMarks(self._sessions)
        in_flight = asyncio.Semaphore(MAILS_IN_FLIGHT)
        sending: list[asyncio.Task[None]] = []
        try:
            for index, entry in enumerate(batch.entries):
                # Near the lease's end, or shutting down: what is not begun goes back at once.
                if self._stopping or utc_now() > batch.lease_until - self._lease_margin:
                    await self._release(batch.entries[index:], batch.lease_until)
                    break
                if entry.id in batch.superseded:
                    await marks.add(entry.id, "superseded")
                    continue
                try:
                    message = await self._deliver_or_build(entry, meetings)
                    if message is not None:
                        assert entry.event_id is not None
                        sender, mailer = self._mail_route(meetings[entry.team_id, entry.event_id])
                        session = await mail.of(mailer)
                except Exception as error:
                    await self._record_failure(entry.id, error)
                    continue
                if message is None:
                    await marks.add(entry.id, "sent")
                else:
                    await in_flight.acquire()
                    if self._stopping or utc_now() > batch.lease_until - self._lease_margin:
                        # Built while waiting for a free place, but not begun: it stays owed.
                        in_flight.release()
                        await self._release(batch.entries[index:], batch.lease_until)
                        break
                    task = asyncio.create_task(
                        self._mail_one(entry.id, message, session, sender, marks, in_flight)
                    )
                    sending.append(task)
        finally:
            # Every send finishes and every outcome is written before anything is raised.
            outcomes = await asyncio.gather(*sending, return_exceptions=True)
            await marks.flush()
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome  # recording an outcome failed; the lease brings the entry back

    async def _deliver_or_build(
        self, entry: ClaimedEntry, meetings: dict[tuple[str, int], Meeting]
    ) -> EmailMessage | None:
        """Deliver a Slack entry now; return an e-mail entry's message, for the mail session."""
        if entry.kind == Delivery.FEED_FAILURE:
            user_id = str(entry.payload["user_id"])
            message = blocks.feed_failure_notice(
                str(entry.payload.get("reason", "")),
                language=await self._language(entry.team_id, user_id),
            )
            await self._post_dm(entry.team_id, user_id, message, entry.tag)
            return None
        assert entry.event_id is not None
        # A workspace that removed Meetbot gets nothing more, its guests' e-mails included.
        await self._clients.for_team(entry.team_id)
        key = (entry.team_id, entry.event_id)
        if key not in meetings:
            meetings[key] = await self._meetings.get(*key)
        return await self._send(
            Delivery(entry.kind), meetings[key], entry.attendee_id, entry.payload, entry.tag
        )

    async def _mail_one(
        self,
        entry_id: int,
        message: EmailMessage,
        mail: MailSession,
        sender: Sender,
        marks: DeliveryMarks,
        in_flight: asyncio.Semaphore,
    ) -> None:
        try:
            await mail.send(message, envelope_from=sender.address)
        except Exception as error:
            await self._record_failure(entry_id, error)
        else:
            await marks.add(entry_id, "sent")
        finally:
            in_flight.release()

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
            if entry is None or entry.state != "pending":
                return  # settled meanwhile (by another process, or the workspace left)
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
        self,
        kind: Delivery,
        meeting: Meeting,
        attendee_id: int | None,
        payload: dict[str, Any],
        tag: PostTag,
    ) -> EmailMessage | None:
        """Deliver a Slack entry now; return an e-mail entry's message, for the mail session."""
        invitee = meeting.invitee(attendee_id) if attendee_id is not None else None
        if kind is Delivery.ORGANIZER_SUMMARY:
            await self._refresh_summary(meeting, tag)
        elif kind is Delivery.HOME_REFRESH:
            await self._publish_home(meeting.team_id, str(payload["user_id"]))
        elif invitee is None:
            raise PermanentFailure(f"{kind} needs an attendee")
        elif kind is Delivery.MEMBER_INVITATION:
            await self._refresh_member_dm(meeting, invitee, tag)
        elif kind is Delivery.MEMBER_NOTICE:
            changes = changes_from_payload(payload)
            message = blocks.member_notice(
                meeting,
                str(payload["reason"]),
                changes,
                bool(payload.get("reset")),
                language=await self._language(meeting.team_id, invitee.slack_user_id),
            )
            await self._post_dm(meeting.team_id, invitee.slack_user_id, message, tag)
        elif kind is Delivery.MEMBER_REMINDER:
            message = blocks.member_reminder(
                meeting, language=await self._language(meeting.team_id, invitee.slack_user_id)
            )
            await self._post_dm(meeting.team_id, invitee.slack_user_id, message, tag)
        elif kind is Delivery.DECISION_NOTICE:
            message = blocks.decision_notice(
                meeting,
                invitee,
                Answer(str(payload["answer"])),
                str(payload.get("comment", "")),
                stale=bool(payload.get("stale")),
                language=await self._language(meeting.team_id, meeting.organizer.user_id),
            )
            await self._post_dm(meeting.team_id, meeting.organizer.user_id, message, tag)
        elif kind is Delivery.COUNTER_NOTICE:
            proposal = await self._meetings.proposal(int(payload["proposal_id"]))
            organizer_language = await self._language(meeting.team_id, meeting.organizer.user_id)
            message = blocks.counter_notice(meeting, invitee, proposal, language=organizer_language)
            await self._post_dm(meeting.team_id, meeting.organizer.user_id, message, tag)
        elif kind is Delivery.BOUNCE_NOTICE:
            message = blocks.bounce_notice(
                meeting,
                invitee,
                str(payload.get("reason", "")),
                language=await self._language(meeting.team_id, meeting.organizer.user_id),
            )
            await self._post_dm(meeting.team_id, meeting.organizer.user_id, message, tag)
        elif kind is Delivery.GUEST_DECLINECOUNTER:
            proposal = await self._meetings.proposal(int(payload["proposal_id"]))
            sender, _ = self._mail_route(meeting)
            return declinecounter_message(
                meeting, invitee, proposal, sender=sender, stamp=utc_now()
            )
        elif kind is Delivery.GUEST_INVITATION:
            if int(payload.get("sequence", meeting.sequence)) < meeting.sequence:
                return None  # the meeting changed again; a newer message to this guest is queued
            return await self._guest_invitation(meeting, invitee, payload)
        elif kind is Delivery.GUEST_CANCELLATION:
            if payload.get("reason") == "removed" and not invitee.removed:
                return None  # taken back in since; their new invitation is queued
            sender, _ = self._mail_route(meeting)
            return cancellation_message(
                meeting,
                invitee,
                sender=sender,
                stamp=utc_now(),
                removed=payload.get("reason") == "removed",
            )
        elif kind is Delivery.GUEST_REMINDER:
            sender, _ = self._mail_route(meeting)
            return reminder_message(
                meeting,
                invitee,
                sender=sender,
                answer_url=self.answer_url(self._meetings.link_token(invitee)),
                stamp=utc_now(),
            )
        return None

    def _mail_route(self, meeting: Meeting) -> tuple[Sender, Mailer]:
        """Return the mailbox the meeting's guests hear from and the mailer that sends for it."""
        mailbox = self._mailboxes.get(meeting.mailbox)
        return Sender(mailbox.address, mailbox.via), self._mailers[mailbox.key]

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

    async def _post_dm(
        self, team_id: str, user_id: str | None, message: blocks.Message, tag: PostTag
    ) -> None:
        assert user_id is not None
        text, message_blocks = message
        channel = await self._dm_channel(team_id, user_id)
        client = await self._clients.for_team(team_id)
        if tag.maybe_posted and await _posted_before(client, channel, tag) is not None:
            return  # the process that died had posted it already
        await self._pace(channel)
        await client.chat_postMessage(
            channel=channel, text=text, blocks=message_blocks, metadata=tag.metadata
        )

    def _member_file_links(self, meeting: Meeting) -> list[tuple[str, str]]:
        return [(f.name, f"{self._base_url}/files/{f.public_key}") for f in meeting.files]

    async def _publish_home(self, team_id: str, user_id: str) -> None:
        view = await self._home.view(team_id, user_id)
        client = await self._clients.for_team(team_id)
        await client.views_publish(user_id=user_id, view=view)

    async def _refresh_summary(self, meeting: Meeting, tag: PostTag) -> None:
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
            meeting.team_id, meeting.organizer.user_id, channel, ts, message, tag
        )
        if posted is not None:
            async with self._sessions.begin() as session:
                await session.execute(
                    update(Event)
                    .where(Event.id == meeting.id)
                    .values(summary_channel=posted[0], summary_ts=posted[1])
                )

    async def _refresh_member_dm(self, meeting: Meeting, invitee: Invitee, tag: PostTag) -> None:
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
            meeting.team_id, invitee.slack_user_id, channel, ts, message, tag
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
        tag: PostTag,
    ) -> tuple[str, str] | None:
        """Redraw a DM we sent before, or send it; return where a new one was posted."""
        text, message_blocks = message
        client = await self._clients.for_team(team_id)
        if channel and ts:
            await self._pace(channel)
            await client.chat_update(channel=channel, ts=ts, text=text, blocks=message_blocks)
            return None
        channel = await self._dm_channel(team_id, user_id)
        earlier = await _posted_before(client, channel, tag) if tag.maybe_posted else None
        await self._pace(channel)
        if earlier is not None:
            # Posted by the process that died before it could note where: adopt that post.
            await client.chat_update(channel=channel, ts=earlier, text=text, blocks=message_blocks)
            return channel, earlier
        posted = await client.chat_postMessage(
            channel=channel, text=text, blocks=message_blocks, metadata=tag.metadata
        )
        return str(posted["channel"]), str(posted["ts"])

    async def _guest_files(self, meeting: Meeting, token: str) -> Files:
        links = [(f, f"{self.answer_url(token)}/files/{f.public_key}") for f in meeting.files]
        if not meeting.files or sum(f.size for f in meeting.files) > self._attachment_limit:
            return Files(linked=links)
        if meeting.id not in self._batch_files:
            self._batch_files[meeting.id] = [
                await self._meetings.file_content(meeting, f.public_key) for f in meeting.files
            ]
        return Files(attached=self._batch_files[meeting.id], linked=links)

    async def _guest_invitation(
        self, meeting: Meeting, guest: Invitee, payload: dict[str, Any]
    ) -> EmailMessage:
        token = self._meetings.link_token(guest)
        changes = changes_from_payload(payload)
        reset = bool(payload.get("reset"))
        # Guests of one change share everything but their own parts: build that once a batch.
        key = (meeting.id, meeting.sequence, tuple(changes), reset)
        if key not in self._batch_invitations:
            sender, _ = self._mail_route(meeting)
            self._batch_invitations[key] = GuestInvitations(
                meeting,
                sender=sender,
                stamp=utc_now(),
                changes=changes,
                answers_reset=reset,
            )
        return self._batch_invitations[key].message(
            guest, answer_url=self.answer_url(token), files=await self._guest_files(meeting, token)
        )
