"""What happens to a checked create form: refused, a question first, or saved.

The decision comes before Slack is answered (a refusal or the mailbox question is shown
over the form within Slack's three seconds); saving comes after, since fetching the
form's files from Slack can take longer.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.drafts import MeetingDraft
from bot.i18n import Language, language_of
from bot.mailboxes import Mailboxes
from bot.meetings.errors import GuestQuotaExceeded
from bot.meetings.model import Meeting, Organizer
from bot.meetings.service import Meetings
from bot.preferences import Preferences


@dataclass(frozen=True)
class Refused:
    """The meeting cannot be saved as it is; the error says why, beside its field."""

    error: GuestQuotaExceeded


@dataclass(frozen=True)
class NeedsMailbox:
    """The organizer's first guests: show (or ask) which mailbox they will hear from first."""

    guests: int


@dataclass(frozen=True)
class Accepted:
    """The meeting can be saved: from this mailbox, with guests reading this language."""

    team_id: str
    organizer: Organizer
    draft: MeetingDraft
    mailbox: str
    guest_language: Language


Submission = Refused | NeedsMailbox | Accepted


def guests_language(chosen: str | None, own: Language) -> Language:
    """Return the language guests read: the organizer's setting, else their Slack language."""
    return language_of(chosen) if chosen else own


class Submissions:
    """Decide what a submitted create form leads to, then save it."""

    def __init__(self, meetings: Meetings, preferences: Preferences, mailboxes: Mailboxes) -> None:
        self._meetings = meetings
        self._preferences = preferences
        self._mailboxes = mailboxes

    async def submit(
        self,
        team_id: str,
        organizer: Organizer,
        language: Language,
        draft: MeetingDraft,
    ) -> Submission:
        """Return whether the draft is refused, needs the mailbox question, or can be saved.

        `language` is the organizer's own; guests read the one their settings name, else it.
        """
        left = await self._meetings.guest_invites_left(team_id)
        if left is not None and len(draft.guests) > left:
            return Refused(GuestQuotaExceeded(left, len(draft.guests)))
        settings = await self._preferences.get(team_id, organizer.user_id)
        if draft.guests and not self._mailboxes.offers(settings.mailbox):
            return NeedsMailbox(len(draft.guests))
        return Accepted(
            team_id,
            organizer,
            draft,
            # Kept with the meeting, so its guests hear from one address even if the list changes.
            self._mailboxes.get(settings.mailbox).key,
            guests_language(settings.guest_language, language),
        )

    async def choose_mailbox(self, team_id: str, user_id: str, mailbox: str) -> bool:
        """Remember the organizer's sending mailbox; False if it is not one offered."""
        if not self._mailboxes.offers(mailbox):
            return False
        await self._preferences.confirm_mailbox(team_id, user_id, mailbox)
        return True

    async def create(self, accepted: Accepted, *, source_view: str | None) -> Meeting:
        """Save the meeting and queue its invitations (a form sent twice is saved once)."""
        return await self._meetings.create(
            accepted.team_id,
            accepted.organizer,
            accepted.draft,
            guest_language=accepted.guest_language,
            source_view=source_view,
            mailbox=accepted.mailbox,
        )
