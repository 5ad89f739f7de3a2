"""Reading the guests field: addresses as people type them into a mail client's To: line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr

from bot.i18n import N_, TranslatableError

MAX_GUESTS = 1000

# Deliberately plain: one @, no spaces, a dotted domain. Mail servers judge the rest.
_ADDRESS = re.compile(
    r"^[^@\s<>(),;:\"\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)


@dataclass(frozen=True)
class Guest:
    """An outside person invited by e-mail."""

    email: str
    name: str = ""

    @property
    def key(self) -> str:
        """Return the address as it is compared: case-insensitively."""
        return self.email.lower()

    def label(self) -> str:
        """Return the guest as a person reads it: `Name <addr>` or the bare address."""
        return f"{self.name} <{self.email}>" if self.name else self.email


class GuestListError(TranslatableError):
    """The guests field holds something that is not an address, or too many."""


def split_entries(text: str) -> list[str]:
    """Split a To:-style field on commas, semicolons and new lines outside quotes and <>."""
    entries: list[str] = []
    current: list[str] = []
    in_quotes = False
    in_angle = False
    for char in text:
        if char == '"' and not in_angle:
            in_quotes = not in_quotes
        elif char == "<" and not in_quotes:
            in_angle = True
        elif char == ">" and not in_quotes:
            in_angle = False
        if char in ",;\n\r" and not in_quotes and not in_angle:
            entries.append("".join(current))
            current = []
        else:
            current.append(char)
    entries.append("".join(current))
    return [entry.strip() for entry in entries if entry.strip()]


def parse_guest_list(text: str, limit: int = MAX_GUESTS) -> list[Guest]:
    """Return the distinct guests in the field, or raise GuestListError naming the bad entry."""
    guests: dict[str, Guest] = {}
    for entry in split_entries(text):
        guest = _parse_entry(entry)
        if guest.key not in guests or (guest.name and not guests[guest.key].name):
            guests[guest.key] = guest
    if len(guests) > limit:
        raise GuestListError(
            N_("That is {count} guests; one event can invite up to {limit}."),
            count=len(guests),
            limit=limit,
        )
    return list(guests.values())


def _parse_entry(entry: str) -> Guest:
    name, address = parseaddr(entry)
    has_angle = "<" in entry
    if has_angle and not entry.rstrip().endswith(">"):
        address = ""
    if not has_angle and address != entry.strip():
        address = ""
    if not address or not _ADDRESS.match(address):
        shown = entry if len(entry) <= 80 else entry[:77] + "..."
        raise GuestListError(N_("“{entry}” is not an e-mail address."), entry=shown)
    clean_name = " ".join(name.replace('"', "").split())
    return Guest(email=address, name=clean_name[:200])
