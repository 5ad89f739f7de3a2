"""Why a request about a meeting cannot be carried out, each in the reader's own words."""

from __future__ import annotations

from bot.i18n import N_, Language, translator


class MeetingError(Exception):
    """A request about a meeting that cannot be carried out; the message says why."""

    message = N_("That cannot be done.")
    # The form field a refusal belongs beside, when it is shown in the form.
    field = "title"

    def translated(self, language: Language) -> str:
        """Return why, in the reader's language."""
        return translator(language).gettext(self.message)


class MeetingNotFound(MeetingError, LookupError):
    """No meeting with that id in that workspace."""

    message = N_("That meeting no longer exists.")


class NotInvited(MeetingError, PermissionError):
    """The person answering is not on the meeting's guest list."""

    message = N_("This invitation is not addressed to you, so your answer was not recorded.")


class NotOrganizer(MeetingError, PermissionError):
    """Someone other than the organizer tried to change a meeting."""

    message = N_("Only the organizer can change or cancel this meeting.")


class MeetingCancelled(MeetingError):
    """The meeting was cancelled; it takes no answers and no edits."""

    message = N_("This meeting was cancelled.")


class EventChanged(MeetingError):
    """The meeting changed after the form or message was shown."""

    message = N_(
        "This meeting was changed in the meantime, so your change was not saved. "
        "Open it again to see the latest version."
    )


class GuestQuotaExceeded(MeetingError):
    """The workspace's monthly allowance of new guest invitations would be overrun."""

    field = "guests"

    message = N_(
        "Your workspace has used all its guest invitations for this month, so new guests "
        "cannot be invited until next month. Members can still be invited."
    )

    def __init__(self, remaining: int, asked: int) -> None:
        super().__init__(remaining, asked)
        self.remaining = remaining
        self.asked = asked

    def translated(self, language: Language) -> str:
        """Return how many guests may still be invited, in the organizer's language."""
        t = translator(language)
        if self.remaining == 0:
            return t.gettext(self.message)
        left = t.ngettext(
            "Your workspace can invite {count} more guest this month",
            "Your workspace can invite {count} more guests this month",
            self.remaining,
        ).format(count=self.remaining)
        asked = t.ngettext(
            "this would invite {count}", "this would invite {count}", self.asked
        ).format(count=self.asked)
        remove = t.gettext("Remove {count} to send the invitations.").format(
            count=self.asked - self.remaining
        )
        return f"{left}; {asked}. {remove}"


class UnknownLink(LookupError):
    """A guest link whose token matches no attendee."""


class ProposalNotFound(MeetingError, LookupError):
    """No pending counter-proposal with that id."""

    message = N_("That proposal was already answered or no longer exists.")


class ReplyRefused(Exception):
    """An e-mailed answer that changes nothing; the message says why, for the log."""


class HeldAnswerNotFound(MeetingError, LookupError):
    """No e-mailed answer with that id waiting for the organizer."""

    message = N_("That answer was already dealt with or no longer exists.")


class OccurrenceNotFound(MeetingError, LookupError):
    """No occurrence of the series starts then (never did, or it was cancelled)."""

    field = "occurrence"
    message = N_("That meeting of the series was already cancelled or is not part of it.")


class OccurrenceTimeRefused(MeetingError):
    """A change to one occurrence that cannot be: in the past, ending first, too long, untitled."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
