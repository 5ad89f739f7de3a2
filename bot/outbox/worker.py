"""Deliver what the outbox owes: Slack DMs and guest e-mails, retried until they land.

`Outbox.drain` leases due entries (queue.py), renders each from the meeting as it is now
through one table of kinds, posts to Slack (slack_posts.py) or hands mail (built by
guest_mail.py) to a session that keeps a few messages in flight, and marks outcomes
together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.blocks import messages, notices
from bot.blocks.ledger import guests_view
from bot.clock import utc_now
from bot.deliveries import (
    AnswerConfirmation,
    BounceNotice,
    CounterNotice,
    DecisionNotice,
    DeliveryKind,
    FeedFailure,
    GuestCancellation,
    GuestDeclineCounter,
    GuestInvitation,
    GuestReminder,
    HomeRefresh,
    MemberInvitation,
    MemberNotice,
    MemberReminder,
    OrganizerSummary,
    pictured_for,
)
from bot.file_links import FileLinkSigner
from bot.home import HomeTab
from bot.i18n import Language
from bot.ledger import GUEST_MAIL_KINDS
from bot.mail.return_paths import ReturnPaths
from bot.mail.transport import Mailer, MailSession, MailSessions, Outgoing, queue_id_in
from bot.mailboxes import Mailboxes
from bot.meetings.errors import MeetingError
from bot.meetings.files import MeetingFiles
from bot.meetings.ledger import DeliveryLedger
from bot.meetings.model import Meeting
from bot.meetings.pictures import GuestMailPictures
from bot.meetings.posts import MeetingPosts
from bot.meetings.replies import Replies
from bot.meetings.service import Meetings
from bot.outbox.guest_mail import GuestMail
from bot.outbox.queue import (
    ClaimedBatch,
    ClaimedEntry,
    DeliveryMarks,
    OutboxQueue,
)
from bot.outbox.slack_posts import SlackPosts, slack_user_of
from bot.outbox.target import Target, tag_of
from bot.people import People
from bot.slack_clients import SlackClients

logger = logging.getLogger(__name__)

# Messages handed to the mail session before the earliest is done: the next is built while
# the server works on the last ones.
MAILS_IN_FLIGHT = 8

# A render delivers a Slack entry now, or returns an e-mail entry's message (None: nothing).
Render = Callable[[Any, "Target"], Awaitable[Outgoing | None]]


class Outbox:
    """Send every due outbox entry; the scheduler runs `drain` and changes wake it."""

    def __init__(
        self,
        queue: OutboxQueue,
        meetings: Meetings,
        replies: Replies,
        files: MeetingFiles,
        posts: MeetingPosts,
        clients: SlackClients,
        mailboxes: Mailboxes,
        mailers: Mapping[str, Mailer],
        base_url: str,
        home: HomeTab,
        people: People,
        file_links: FileLinkSigner,
        guest_pictures: GuestMailPictures,
        attachment_limit: int = 10 * 1024 * 1024,
        return_paths: ReturnPaths | None = None,
        ledger: DeliveryLedger | None = None,
    ) -> None:
        # Sums guests' deliveries on the organizer's summary (none: the summary shows no sum).
        self._ledger = ledger
        self._file_links_signer = file_links
        self._queue = queue
        self._meetings = meetings
        # Guests' e-mails read the meeting once per version, not once per batch of 250.
        self._guest_pictures = guest_pictures
        self._replies = replies
        self._posts = posts
        self._clients = clients
        self._slack = SlackPosts(clients)
        self._base_url = base_url
        self._home = home
        self._people = people
        self._guest_mail = GuestMail(
            meetings,
            replies,
            files,
            mailboxes,
            mailers,
            self.answer_url,
            attachment_limit,
            return_paths,
        )
        self._wake: Callable[[], None] = lambda: None
        self._more = False
        self._stopping = False
        self._busy = asyncio.Lock()
        self._renders: dict[DeliveryKind, Render] = {
            DeliveryKind.ORGANIZER_SUMMARY: self._organizer_summary,
            DeliveryKind.HOME_REFRESH: self._home_refresh,
            DeliveryKind.FEED_FAILURE: self._feed_failure,
            DeliveryKind.MEMBER_INVITATION: self._member_invitation,
            DeliveryKind.MEMBER_NOTICE: self._member_notice,
            DeliveryKind.MEMBER_REMINDER: self._member_reminder,
            DeliveryKind.DECISION_NOTICE: self._decision_notice,
            DeliveryKind.COUNTER_NOTICE: self._counter_notice,
            DeliveryKind.BOUNCE_NOTICE: self._bounce_notice,
            DeliveryKind.ANSWER_CONFIRMATION: self._answer_confirmation,
            DeliveryKind.GUEST_INVITATION: self._guest_invitation,
            DeliveryKind.GUEST_CANCELLATION: self._guest_cancellation,
            DeliveryKind.GUEST_REMINDER: self._guest_reminder,
            DeliveryKind.GUEST_DECLINECOUNTER: self._guest_declinecounter,
        }

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

    async def pending_count(self) -> int:
        """Return how many deliveries are still owed."""
        return await self._queue.pending_count()

    async def drain(self) -> int:
        """Deliver due entries until none are left; return how many were handled."""
        handled = 0
        async with self._busy, contextlib.AsyncExitStack() as open_sessions:
            mail = MailSessions(open_sessions)
            while not self._stopping:
                self._more = False
                batch = await self._queue.claim_batch()
                await self._deliver_batch(batch, mail)
                handled += len(batch.entries)
                if not batch.entries and not self._more:
                    break
        return handled  # when stopping, what is left stays owed for the next start

    def _lease_ending(self, batch: ClaimedBatch) -> bool:
        return self._stopping or utc_now() > batch.lease_until - self._queue.lease_margin

    async def _deliver_batch(self, batch: ClaimedBatch, mail: MailSessions) -> None:
        # One meeting picture per batch: a thousand invitations need not load it 1000 times.
        meetings: dict[tuple[str, int, bool], Meeting] = {}
        # Whose guest e-mails this batch holds, by meeting: their own rows are read afresh.
        guests: dict[tuple[str, int], list[int]] = {}
        for claimed in batch.entries:
            if _is_guest_mail(claimed) and claimed.event_id and claimed.attendee_id:
                guests.setdefault((claimed.team_id, claimed.event_id), []).append(
                    claimed.attendee_id
                )
        self._guest_mail.new_batch()
        marks = self._queue.marks()
        in_flight = asyncio.Semaphore(MAILS_IN_FLIGHT)
        sending: list[asyncio.Task[None]] = []
        # Entries not begun because outcomes stopped being recorded: the database is away.
        not_begun: list[ClaimedEntry] = []
        try:
            for index, entry in enumerate(batch.entries):
                # Near the lease's end, or shutting down: what is not begun goes back at once.
                if self._lease_ending(batch):
                    await self._queue.release(batch.entries[index:], batch.lease_until)
                    break
                # What was sent but cannot be recorded would go again after the lease: send
                # nothing more until the database takes the marks again.
                if marks.failing:
                    not_begun = batch.entries[index:]
                    break
                if entry.id in batch.superseded:
                    await marks.add(entry.id, "superseded")
                    continue
                try:
                    message, meeting = await self._deliver_or_build(entry, meetings, guests)
                    if message is not None:
                        assert meeting is not None
                        sender, mailer = self._guest_mail.route(meeting)
                        session = await mail.of(mailer)
                except Exception as error:
                    await self._record_failure(entry.id, error)
                    continue
                if message is None:
                    # An e-mail a newer change made moot was never sent: the ledger says so.
                    moot = entry.kind.startswith("guest_")
                    await marks.add(entry.id, "superseded" if moot else "sent")
                    continue
                await in_flight.acquire()
                if self._lease_ending(batch):
                    # Built while waiting for a free place, but not begun: it stays owed.
                    in_flight.release()
                    await self._queue.release(batch.entries[index:], batch.lease_until)
                    break
                if marks.failing:
                    in_flight.release()
                    not_begun = batch.entries[index:]
                    break
                envelope_from = self._guest_mail.envelope_from(sender, entry.attendee_id)
                sending.append(
                    asyncio.create_task(
                        self._mail_one(entry.id, message, session, envelope_from, marks, in_flight)
                    )
                )
        finally:
            # Every send finishes and every outcome is written before anything is raised;
            # writes that failed are tried again while the lease lasts (MarksNotWritten
            # after that: the lease brings those entries back, to be sent once more).
            outcomes = await asyncio.gather(*sending, return_exceptions=True)
            await marks.flush(retry_until=batch.lease_until)
        if not_begun:
            # The database is back within the lease: what was held back goes out now.
            await self._queue.release(not_begun, batch.lease_until)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome  # recording an outcome failed; the lease brings the entry back

    async def _deliver_or_build(
        self,
        entry: ClaimedEntry,
        meetings: dict[tuple[str, int, bool], Meeting],
        guests: dict[tuple[str, int], list[int]],
    ) -> tuple[Outgoing | None, Meeting | None]:
        """Deliver a Slack entry now; return an e-mail entry's message, for the mail session,
        and the meeting it was rendered from."""
        delivery = entry.delivery()
        meeting: Meeting | None = None
        if delivery.meeting_id is not None:
            # A workspace that removed Meetbot gets nothing more, its guests' e-mails included.
            await self._clients.for_team(entry.team_id)
            for_guests = _is_guest_mail(entry)
            key = (entry.team_id, delivery.meeting_id, for_guests)
            if key not in meetings:
                meetings[key] = await (
                    self._guest_pictures.for_guests(
                        entry.team_id,
                        delivery.meeting_id,
                        guests.get((entry.team_id, delivery.meeting_id), []),
                    )
                    if for_guests
                    else self._meetings.get(entry.team_id, delivery.meeting_id)
                )
            meeting = pictured_for(meetings[key], delivery)
        message = await self._renders[delivery.kind](
            delivery, Target(entry.team_id, meeting, tag_of(entry), entry.id)
        )
        return message, meeting

    async def _mail_one(
        self,
        entry_id: int,
        message: Outgoing,
        mail: MailSession,
        envelope_from: str,
        marks: DeliveryMarks,
        in_flight: asyncio.Semaphore,
    ) -> None:
        try:
            reply = await mail.send(message, envelope_from=envelope_from)
        except Exception as error:
            await self._record_failure(entry_id, error)
        else:
            await marks.add(entry_id, "sent", queue_id_in(reply))
        finally:
            in_flight.release()

    async def _record_failure(self, entry_id: int, error: Exception) -> None:
        undelivered = await self._queue.record_failure(entry_id, error)
        if undelivered is not None:
            await self._replies.record_undelivered(
                undelivered.team_id, undelivered.attendee_id, undelivered.reason
            )

    # Renders, one per kind: each reads the meeting as it is now.

    async def _organizer_summary(self, delivery: OrganizerSummary, to: Target) -> None:
        meeting = to.meeting()
        message = messages.organizer_summary(
            meeting,
            self._file_links(meeting, meeting.organizer.user_id),
            language=await self._language(meeting.team_id, meeting.organizer.user_id),
            deliveries=await self._ledger.sum_of(meeting) if self._ledger else None,
        )
        posted = await self._slack.post_or_update(
            meeting.team_id,
            meeting.organizer.user_id,
            await self._posts.summary(meeting.id),
            message,
            to.tag,
        )
        if posted is not None:
            await self._posts.remember_summary(meeting.id, posted)
        await self._redraw_guests_view(meeting)

    async def _redraw_guests_view(self, meeting: Meeting) -> None:
        """Redraw the organizer's open Guests view: what the summary sums, guest by guest."""
        shown = await self._ledger.open_view(meeting) if self._ledger else None
        if self._ledger is None or shown is None:
            return
        user_id = meeting.organizer.user_id
        try:
            meeting, ledgers = await self._ledger.of_meeting(meeting.team_id, user_id, meeting.id)
        except MeetingError:
            return  # gone, or no longer theirs: the view's buttons will say so
        language = await self._language(meeting.team_id, user_id)
        view = guests_view(meeting, ledgers, shown.page, language=language, note=shown.note)
        try:
            redrawn = await self._slack.update_view(
                meeting.team_id, shown.view_id, shown.view_hash, view
            )
        except SlackApiError as error:  # a courtesy: the summary was redrawn all the same
            logger.info("could not redraw a Guests view: %s", error.response.get("error"))
            return
        if redrawn is None:
            await self._ledger.view_gone(meeting, shown)
        else:
            redrawn_view = replace(shown, view_hash=redrawn)
            with contextlib.suppress(MeetingError):  # cancelled meanwhile: nothing to keep
                await self._ledger.view_shown(meeting.team_id, user_id, redrawn_view)

    async def _home_refresh(self, delivery: HomeRefresh, to: Target) -> None:
        meeting = to.meeting()
        view = await self._home.view(meeting.team_id, delivery.user_id)
        await self._slack.publish_home(meeting.team_id, delivery.user_id, view)

    async def _feed_failure(self, delivery: FeedFailure, to: Target) -> None:
        message = notices.feed_failure_notice(
            delivery.reason, language=await self._language(to.team_id, delivery.user_id)
        )
        await self._slack.dm(to.team_id, delivery.user_id, message, to.tag)

    async def _member_invitation(self, delivery: MemberInvitation, to: Target) -> None:
        meeting = to.meeting()
        invitee = meeting.invitee(delivery.attendee_id)
        user_id = slack_user_of(invitee)
        message = messages.member_invitation(
            meeting,
            invitee,
            self._file_links(meeting, user_id),
            language=await self._language(meeting.team_id, user_id),
        )
        where = await self._posts.member_invitation(invitee.id)
        if where is None and (meeting.cancelled or invitee.removed):
            return  # never invited in Slack, so there is nothing to take back
        posted = await self._slack.post_or_update(meeting.team_id, user_id, where, message, to.tag)
        if posted is not None:
            await self._posts.remember_member_invitation(invitee.id, posted)

    async def _member_notice(self, delivery: MemberNotice, to: Target) -> None:
        meeting = to.meeting()
        user_id = slack_user_of(meeting.invitee(delivery.attendee_id))
        message = messages.member_notice(
            meeting,
            delivery.reason,
            list(delivery.changes),
            delivery.reset,
            language=await self._language(meeting.team_id, user_id),
        )
        await self._slack.dm(meeting.team_id, user_id, message, to.tag)

    async def _member_reminder(self, delivery: MemberReminder, to: Target) -> None:
        meeting = to.meeting()
        user_id = slack_user_of(meeting.invitee(delivery.attendee_id))
        message = messages.member_reminder(
            meeting, language=await self._language(meeting.team_id, user_id)
        )
        await self._slack.dm(meeting.team_id, user_id, message, to.tag)

    async def _decision_notice(self, delivery: DecisionNotice, to: Target) -> None:
        meeting = to.meeting()
        message = notices.decision_notice(
            meeting,
            meeting.invitee(delivery.attendee_id),
            delivery.answer,
            delivery.comment,
            stale=delivery.stale,
            language=await self._language(meeting.team_id, meeting.organizer.user_id),
        )
        await self._slack.dm(meeting.team_id, meeting.organizer.user_id, message, to.tag)

    async def _counter_notice(self, delivery: CounterNotice, to: Target) -> None:
        meeting = to.meeting()
        proposal = await self._replies.proposal(delivery.proposal_id)
        message = notices.counter_notice(
            meeting,
            meeting.invitee(delivery.attendee_id),
            proposal,
            language=await self._language(meeting.team_id, meeting.organizer.user_id),
        )
        await self._slack.dm(meeting.team_id, meeting.organizer.user_id, message, to.tag)

    async def _bounce_notice(self, delivery: BounceNotice, to: Target) -> None:
        meeting = to.meeting()
        message = notices.bounce_notice(
            meeting,
            meeting.invitee(delivery.attendee_id),
            delivery.reason,
            language=await self._language(meeting.team_id, meeting.organizer.user_id),
        )
        await self._slack.dm(meeting.team_id, meeting.organizer.user_id, message, to.tag)

    async def _answer_confirmation(self, delivery: AnswerConfirmation, to: Target) -> None:
        meeting = to.meeting()
        held = await self._replies.held_answer(delivery.held_id)
        message = notices.answer_to_confirm(
            meeting, held, language=await self._language(meeting.team_id, meeting.organizer.user_id)
        )
        await self._slack.dm(meeting.team_id, meeting.organizer.user_id, message, to.tag)

    async def _guest_invitation(self, delivery: GuestInvitation, to: Target) -> Outgoing | None:
        return await self._guest_mail.invitation(delivery, to.meeting(), to.entry_id)

    async def _guest_cancellation(self, delivery: GuestCancellation, to: Target) -> Outgoing | None:
        return self._guest_mail.cancellation(delivery, to.meeting(), to.entry_id)

    async def _guest_reminder(self, delivery: GuestReminder, to: Target) -> Outgoing:
        return self._guest_mail.reminder(delivery, to.meeting(), to.entry_id)

    async def _guest_declinecounter(self, delivery: GuestDeclineCounter, to: Target) -> Outgoing:
        return await self._guest_mail.declinecounter(delivery, to.meeting(), to.entry_id)

    # What the renders share.

    async def _language(self, team_id: str, user_id: str) -> Language:
        """Return the language of the member a DM goes to (their Slack locale)."""
        return (await self._people.get(team_id, user_id)).language

    def _file_links(self, meeting: Meeting, user_id: str) -> list[tuple[str, str]]:
        """Return the meeting's files as links signed for one person in Slack."""
        return [
            (
                f.name,
                self._file_links_signer.url(self._base_url, f.public_key, user_id, meeting.end),
            )
            for f in meeting.files
        ]


def _is_guest_mail(entry: ClaimedEntry) -> bool:
    """Tell whether an entry is an e-mail to a guest: rendered from their own row, the
    meeting's shared parts and nothing of other guests' answers."""
    return entry.kind in GUEST_MAIL_KINDS
