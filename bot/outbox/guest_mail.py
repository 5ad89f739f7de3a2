"""Guests' e-mails, rendered from the meeting as it is now: invitations, cancellations,
reminders and declined proposals.

A batch's invitations to one meeting share one byte template (mail.byte_template): the
email package writes what they share once, and each guest's own parts are spliced in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from bot.clock import utc_now
from bot.deliveries import (
    GuestCancellation,
    GuestDeclineCounter,
    GuestInvitation,
    GuestReminder,
)
from bot.mail.byte_template import InvitationBytes
from bot.mail.messages import (
    Files,
    GuestInvitations,
    Sender,
    cancellation_message,
    declinecounter_message,
    reminder_message,
)
from bot.mail.return_paths import ReturnPaths
from bot.mail.transport import Mailer, Outgoing
from bot.mailboxes import Mailboxes
from bot.meetings.files import MeetingFiles
from bot.meetings.model import AttachedFile, Change, Meeting
from bot.meetings.replies import Replies
from bot.meetings.service import Meetings


class GuestMail:
    """Build each guest e-mail an outbox entry owes, and say which mailbox sends it."""

    def __init__(
        self,
        meetings: Meetings,
        replies: Replies,
        files: MeetingFiles,
        mailboxes: Mailboxes,
        mailers: Mapping[str, Mailer],
        answer_url: Callable[[str], str],
        attachment_limit: int,
        return_paths: ReturnPaths | None,
    ) -> None:
        self._meetings = meetings
        self._replies = replies
        self._files = files
        self._mailboxes = mailboxes
        self._mailers = mailers
        self._answer_url = answer_url
        self._attachment_limit = attachment_limit
        # Guest mail leaves with a per-guest return path, so bounces name their guest.
        self._return_paths = return_paths
        # What one batch's guest e-mails share, built once (drains never overlap).
        # Keyed by the start too: one occurrence of a series is a meeting picture of its own.
        self._invitations: dict[
            tuple[int, int, tuple[Change, ...], bool, datetime], InvitationBytes
        ] = {}
        self._attached: dict[int, list[tuple[AttachedFile, bytes]] | None] = {}

    def new_batch(self) -> None:
        """Forget what the last batch shared: the next reads its meetings afresh."""
        self._invitations.clear()
        self._attached.clear()

    def route(self, meeting: Meeting) -> tuple[Sender, Mailer]:
        """Return the mailbox the meeting's guests hear from and the mailer that sends for it."""
        mailbox = self._mailboxes.get(meeting.mailbox)
        return Sender(mailbox.address, mailbox.via), self._mailers[mailbox.key]

    def envelope_from(self, sender: Sender, attendee_id: int | None) -> str:
        """Return the SMTP envelope sender: the guest's own return path when there is one."""
        if self._return_paths is None or attendee_id is None:
            return sender.address
        return self._return_paths.for_attendee(sender.address, attendee_id)

    async def invitation(
        self, delivery: GuestInvitation, meeting: Meeting, entry_id: int
    ) -> Outgoing | None:
        """Return a guest's invitation (or updated invitation), None if a newer one is queued."""
        if delivery.sequence < meeting.sequence:
            return None  # the meeting changed again; a newer message to this guest is queued
        guest = meeting.invitee(delivery.attendee_id)
        key = (meeting.id, meeting.sequence, delivery.changes, delivery.reset, meeting.start)
        if key not in self._invitations:
            sender, _ = self.route(meeting)
            attached = await self._attached_files(meeting)
            invitations = GuestInvitations(
                meeting,
                sender=sender,
                stamp=utc_now(),
                changes=list(delivery.changes),
                answers_reset=delivery.reset,
            )
            self._invitations[key] = InvitationBytes(
                invitations,
                lambda token: (self._answer_url(token), self._files_for(meeting, token, attached)),
            )
        token = self._meetings.link_token(guest)
        return self._invitations[key].mail(guest, token, entry_id)

    def cancellation(
        self, delivery: GuestCancellation, meeting: Meeting, entry_id: int
    ) -> Outgoing | None:
        """Return the e-mail taking the meeting out of a guest's calendar, None if moot."""
        guest = meeting.invitee(delivery.attendee_id)
        removed = delivery.reason == "removed"
        if removed and not guest.removed:
            return None  # taken back in since; their new invitation is queued
        sender, _ = self.route(meeting)
        return cancellation_message(
            meeting, guest, sender=sender, stamp=utc_now(), removed=removed, entry_id=entry_id
        )

    def reminder(self, delivery: GuestReminder, meeting: Meeting, entry_id: int) -> Outgoing:
        """Return the reminder a guest gets shortly before the meeting."""
        guest = meeting.invitee(delivery.attendee_id)
        sender, _ = self.route(meeting)
        return reminder_message(
            meeting,
            guest,
            sender=sender,
            answer_url=self._answer_url(self._meetings.link_token(guest)),
            stamp=utc_now(),
            entry_id=entry_id,
        )

    async def declinecounter(
        self, delivery: GuestDeclineCounter, meeting: Meeting, entry_id: int
    ) -> Outgoing:
        """Return the e-mail telling a guest the organizer keeps the original time."""
        proposal = await self._replies.proposal(delivery.proposal_id)
        sender, _ = self.route(meeting)
        return declinecounter_message(
            meeting,
            meeting.invitee(delivery.attendee_id),
            proposal,
            sender=sender,
            stamp=utc_now(),
            entry_id=entry_id,
        )

    async def _attached_files(self, meeting: Meeting) -> list[tuple[AttachedFile, bytes]] | None:
        """Return the meeting's files with their content when small enough to attach."""
        if not meeting.files or sum(f.size for f in meeting.files) > self._attachment_limit:
            return None
        if meeting.id not in self._attached:
            self._attached[meeting.id] = [
                await self._files.content(meeting, f.public_key) for f in meeting.files
            ]
        return self._attached[meeting.id]

    def _files_for(
        self, meeting: Meeting, token: str, attached: list[tuple[AttachedFile, bytes]] | None
    ) -> Files:
        links = [(f, f"{self._answer_url(token)}/files/{f.public_key}") for f in meeting.files]
        if attached is None:
            return Files(linked=links)
        return Files(attached=attached, linked=links)
