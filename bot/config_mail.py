"""The mail part of Meetbot's settings: sending mailboxes and the addresses they are written as."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator

MAILBOXES_EXAMPLE = '[{"name": "Invitations", "address": "invites@acme.example"}]'
# What each MEETBOT_MAILBOXES entry field is, for an entry that lacks it.
MAILBOX_FIELDS = {
    "name": 'what organizers pick it by, e.g. "name": "Invitations"',
    "address": 'the e-mail address guests see, e.g. "address": "invites@acme.example"',
}


class MailboxSetting(BaseModel):
    """One sending mailbox an admin offers organizers: who guests see invitations come from."""

    name: str = Field(min_length=1, max_length=75)
    address: str
    smtp_url: str | None = Field(default=None, repr=False)  # may hold a password

    @field_validator("address")
    @classmethod
    def _address_shape(cls, value: str) -> str:
        return bare_address(value)

    @field_validator("smtp_url")
    @classmethod
    def _smtp_shape(cls, value: str | None) -> str | None:
        return smtp_url_checked(value)


def bare_address(value: str) -> str:
    """Return an address that can stand alone in an envelope or a From line, or refuse it."""
    if "@" not in value or any(c in value for c in "\r\n<> "):
        raise ValueError("must be a bare e-mail address such as invites@example.com")
    return value


def split_mail_from(value: str) -> tuple[str | None, str]:
    """Return the display name (None if none) and the address of `Name <address>` or `address`."""
    text = value.strip()
    if not (text.endswith(">") and "<" in text):
        return None, bare_address(text)
    name, _, address = text[:-1].rpartition("<")
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1].replace('\\"', '"')
    if any(c in name for c in "\r\n<>"):
        raise ValueError("has a name that cannot go into a From line")
    return name or None, bare_address(address.strip())


def smtp_url_checked(value: str | None) -> str | None:
    """Return an smtp:// or smtps:// address (None when unset), or refuse it."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("must look like smtp://user:pass@host:port or smtps://host:port")
    return value


def inbound_address_checked(value: str | None) -> str | None:
    """Return the receiver's host:port, or raise ValueError saying how to write it."""
    if not value:
        return None
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("must look like host:port, e.g. 0.0.0.0:2525")
    return value


def authserv_id_checked(value: str | None) -> str | None:
    """Return the trusted Authentication-Results server name, one word, or None."""
    if not value or not value.strip():
        return None
    if any(c in value for c in " ;()\r\n\t"):
        raise ValueError("must be one word, the first word of your server's header")
    return value.strip()


def imap_url_checked(value: str | None) -> str | None:
    """Return the IMAP mailbox URL, or raise ValueError saying how to write it."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
        raise ValueError("must look like imaps://user:pass@host:993/INBOX")
    return value
