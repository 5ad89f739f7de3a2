"""Where every message to a guest stands: the delivery ledger's vocabulary, pure.

Read from what Meetbot records anyway: its outbox entries (queued, retried, handed over),
the receiving server's answer to DATA (its queue id), the delivery reports matched to a
guest (delayed, bounced) and the guest's answer (and how it came). No tracking pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.i18n import N_
from bot.meetings.model import Answer, Invitee


class Stage(StrEnum):
    """Where one message to a guest stands."""

    QUEUED = "queued"
    # The mail server refused it for now; Meetbot tries again.
    RETRYING = "retrying"
    ACCEPTED = "accepted"
    # A delivery report says the receiving side is still trying.
    DELAYED = "delayed"
    # A delivery report, or the mail server, says it will never arrive.
    BOUNCED = "bounced"


class Via(StrEnum):
    """How a guest's answer reached Meetbot."""

    MAIL = "mail"
    PAGE = "page"
    ORGANIZER = "organizer"
    SLACK = "slack"


# What each kind of message is called in the ledger (outbox kinds of guest e-mails).
MESSAGE_NAMES = {
    "guest_invitation": N_("Invitation"),
    "guest_cancellation": N_("Cancellation"),
    "guest_reminder": N_("Reminder"),
    "guest_declinecounter": N_("Proposed time declined"),
}
# The outbox kinds that are e-mails to a guest: the ledger's rows.
GUEST_MAIL_KINDS = tuple(MESSAGE_NAMES)


@dataclass(frozen=True)
class SentMessage:
    """One e-mail Meetbot owed a guest, and what became of it."""

    entry_id: int
    kind: str
    stage: Stage
    # When it was queued, or handed to the mail server.
    at: datetime
    queue_id: str | None = None
    # Why it is delayed, bounced or being retried, as the server put it.
    reason: str = ""
    # An update (the meeting changed) rather than the first invitation.
    update: bool = False


def stage_of(state: str, attempts: int, report: str | None) -> Stage:
    """Return a message's stage from its outbox state and any delivery report about it."""
    if report == "bounced" or state == "failed":
        return Stage.BOUNCED
    if report == "delayed":
        return Stage.DELAYED
    if state == "sent":
        return Stage.ACCEPTED
    return Stage.RETRYING if attempts else Stage.QUEUED


@dataclass(frozen=True)
class GuestLedger:
    """One guest and every e-mail Meetbot sent them, oldest first."""

    guest: Invitee
    messages: tuple[SentMessage, ...]

    @property
    def stage(self) -> Stage | None:
        """Return where the latest message stands (None: nothing was sent yet)."""
        return self.messages[-1].stage if self.messages else None

    @property
    def answered(self) -> bool:
        """Tell whether the guest answered (which proves the invitation reached them)."""
        return self.guest.answer is not Answer.NEEDS_ACTION


# Problems first: the organizer looks at the top of a long list.
_ORDER = {
    Stage.BOUNCED: 0,
    Stage.DELAYED: 1,
    Stage.RETRYING: 2,
    Stage.QUEUED: 3,
    None: 3,
    Stage.ACCEPTED: 4,
}


def problems_first(guests: Sequence[GuestLedger]) -> list[GuestLedger]:
    """Return the guests with trouble first, those who answered last."""
    return sorted(guests, key=lambda g: (g.answered, _ORDER[g.stage], g.guest.id))


@dataclass(frozen=True)
class DeliverySum:
    """The ledger in one line: how many guests' latest mail is where, and who answered."""

    delivered: int = 0
    queued: int = 0
    delayed: int = 0
    bounced: int = 0
    answered: int = 0

    @property
    def empty(self) -> bool:
        """Tell whether there is nothing to sum (no guest was sent anything)."""
        return not (self.delivered or self.queued or self.delayed or self.bounced)


def sum_up(guests: Sequence[GuestLedger]) -> DeliverySum:
    """Count the guests by where their latest message stands, and those who answered."""
    stages = [g.stage for g in guests]
    return DeliverySum(
        delivered=stages.count(Stage.ACCEPTED),
        queued=stages.count(Stage.QUEUED) + stages.count(Stage.RETRYING),
        delayed=stages.count(Stage.DELAYED),
        bounced=stages.count(Stage.BOUNCED),
        answered=sum(g.answered for g in guests),
    )
