"""The sending mailboxes an admin offers: the address guests see invitations come from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.mail.messages import DEFAULT_SENDER_NAME, from_line

if TYPE_CHECKING:
    # Only named: builders that show mailboxes must not load the settings and the database.
    from bot.config import Settings


@dataclass(frozen=True)
class Mailbox:
    """One sending mailbox: its name for organizers, its address, the server it sends through."""

    name: str
    address: str
    smtp_url: str | None = None
    via: str = DEFAULT_SENDER_NAME  # guests read "Olga Organizer via <this>"

    @property
    def key(self) -> str:
        """Return how the mailbox is remembered: its address, lower-cased."""
        return self.address.lower()

    @property
    def domain(self) -> str:
        """Return the mail domain of the address, where guests' replies arrive."""
        return self.key.rpartition("@")[2]

    def shown_as(self, organizer_name: str) -> str:
        """Return the From line guests see: `"Olga Organizer via Meet" <invites@acme.example>`."""
        return from_line(organizer_name, self.address, self.via)


class Mailboxes:
    """The configured mailboxes, in the admin's order; the first is the default."""

    def __init__(self, boxes: Sequence[Mailbox]) -> None:
        if not boxes:
            raise ValueError("at least one sending mailbox is needed")
        self._boxes = tuple(boxes)
        self._by_key = {box.key: box for box in self._boxes}

    @property
    def all(self) -> tuple[Mailbox, ...]:
        """Return every mailbox, the default first."""
        return self._boxes

    @property
    def default(self) -> Mailbox:
        """Return the mailbox used when nobody chose one."""
        return self._boxes[0]

    @property
    def single(self) -> bool:
        """Tell whether there is nothing to choose."""
        return len(self._boxes) == 1

    def offers(self, address: str | None) -> bool:
        """Tell whether an address is one of the configured mailboxes (still)."""
        return address is not None and address.lower() in self._by_key

    def get(self, address: str | None) -> Mailbox:
        """Return the mailbox with this address; the default when it is unset or gone."""
        return self._by_key.get((address or "").lower(), self.default)

    @property
    def domains(self) -> frozenset[str]:
        """Return every domain replies may arrive for."""
        return frozenset(box.domain for box in self._boxes)


def mailboxes_from(settings: Settings) -> Mailboxes:
    """Return the admin's mailboxes, or the one made of MEETBOT_MAIL_FROM and MEETBOT_SMTP_URL."""
    if settings.mailboxes:
        return Mailboxes(
            # A mailbox without its own server sends through the common one.
            [
                Mailbox(box.name, box.address, box.smtp_url or settings.smtp_url)
                for box in settings.mailboxes
            ]
        )
    # MEETBOT_MAIL_FROM="Acme Meetings <invites@acme.example>" names the mailbox for
    # organizers and for guests, who read "Olga Organizer via Acme Meetings".
    name = settings.mail_from_name
    return Mailboxes(
        [
            Mailbox(
                name or "Meetbot",
                settings.mail_from_address,
                settings.smtp_url,
                via=name or DEFAULT_SENDER_NAME,
            )
        ]
    )
