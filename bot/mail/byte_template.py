"""One meeting's invitations as a byte template: what every guest shares is written once.

Building each guest's message with the email package is most of a large fan-out's time.
`InvitationBytes` has the library write the invitation once for a sample guest, with the
meeting's fixed boundaries, and cuts those bytes where a guest's own parts go: To,
Message-ID, the calendar (as a text/calendar part and as invite.ics) and the answer link's
token in the text and HTML bodies (the file links carry the same token). Each guest's
message is then the shared bytes with their parts spliced in, each part written the way
the library writes it.

A second sample guest proves the cut: unless the spliced message for it is byte for byte
what the library writes, no template is used and every message is built whole. A guest
whose parts the template cannot carry (an address that needs SMTPUTF8, a token of another
shape, a calendar line too long for 8bit) gets a message built whole too. Pure: no
database, no Slack, no sending.
"""

from __future__ import annotations

import binascii
import enum
import io
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr

from bot.mail.messages import Files, GuestInvitations
from bot.mail.mime_parts import MAX_HEADER_LINE, POLICY, header_safe
from bot.meetings.model import Answer, Invitee

# A guest's answer-link token as Meetbot makes them (URL-safe base64): text that neither
# HTML escaping nor any transfer encoding the bodies may use changes.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]+")
# Header values the library writes unchanged: no quoting, encoding or folding to do (no
# CR or LF either). Every other value goes through its parser.
PLAIN_HEADER = re.compile(r"[A-Za-z0-9<][A-Za-z0-9 @<>_+.'-]*")
# Calendar lines longer than this (in bytes) are not written as 7bit or 8bit (RFC 5322).
MAX_BODY_LINE = 78
# Bytes of content per base64 line as the library writes attachments: 57 -> 76 characters.
BASE64_CHUNK = 78 // 4 * 3  # POLICY.max_line_length


@dataclass(frozen=True)
class RawMail:
    """A finished e-mail as the bytes that are sent, with its envelope recipients.

    The bytes are what aiosmtplib writes for an EmailMessage to a server offering 8BITMIME;
    `message_id` names the file when mail goes to a folder instead.
    """

    data: bytes
    recipients: tuple[str, ...]
    message_id: str


def flatten(message: EmailMessage) -> bytes:
    """Return a message as aiosmtplib sends it to a server that takes 8bit bodies."""
    with io.BytesIO() as buffer:
        BytesGenerator(buffer, policy=SMTP).flatten(message)
        return buffer.getvalue()


def header_line(name: str, value: str) -> bytes:
    """Return one header as the library writes it: parsed, checked, folded.

    Parsing refuses CR and LF in the value (ValueError), so no guest's name can start a
    header of its own. A short value of plain characters only is written as it is, which
    is what the library writes for it, without its parse; so is a long one without spaces
    (a Message-ID), laid out as the library laid out the first one of its length.
    """
    if PLAIN_HEADER.fullmatch(value):
        if len(name) + 2 + len(value) <= MAX_HEADER_LINE:
            return f"{name}: {value}\r\n".encode()
        if " " not in value:
            layout = _LAYOUTS.get((name, len(value)))
            if layout is not None:
                return layout.format(name=name, value=value).encode()
    _, header = POLICY.header_store_parse(name, value)
    written: bytes = SMTP.fold_binary(name, header)
    if PLAIN_HEADER.fullmatch(value) and " " not in value:
        # One token of plain characters folds by its length alone: remember how.
        for layout in ("{name}: {value}\r\n", "{name}:\r\n {value}\r\n"):
            if written == layout.format(name=name, value=value).encode():
                _LAYOUTS[name, len(value)] = layout
    return written


# How the library folds a header of one plain token, by header name and token length.
_LAYOUTS: dict[tuple[str, int], str] = {}


def calendar_part_body(calendar: bytes) -> tuple[bytes, bytes] | None:
    """Return the transfer encoding and body of a text/calendar part as the library writes them.

    None when a line is too long for 7bit or 8bit (the library would choose quoted-printable).
    """
    lines = calendar.splitlines()
    if max((len(line) for line in lines), default=0) > MAX_BODY_LINE:
        return None
    encoding = b"7bit" if calendar.isascii() else b"8bit"
    return encoding, b"\r\n".join(lines) + b"\r\n"


def base64_body(data: bytes) -> bytes:
    """Return an attachment's base64 body as the library writes it (76 characters a line)."""
    return b"".join(
        binascii.b2a_base64(data[start : start + BASE64_CHUNK], newline=False) + b"\r\n"
        for start in range(0, len(data), BASE64_CHUNK)
    )


class _Slot(enum.Enum):
    TO = "To"
    MESSAGE_ID = "Message-ID"
    CALENDAR_ENCODING = "text/calendar part's transfer encoding"
    CALENDAR = "text/calendar part"
    INVITE_ICS = "invite.ics"
    LINK = "answer link's token"


@dataclass(frozen=True)
class _Guest:
    """One guest's own parts, ready to splice."""

    values: dict[_Slot, bytes]
    recipient: str
    message_id: str


# Personal parts for a token: the answer link and the files (linked by the same token).
Personal = Callable[[str], tuple[str, Files]]


def _sample(number: int, name: str) -> Invitee:
    return Invitee(
        id=0,
        kind="guest",
        slack_user_id=None,
        email=f"sample{number}@template.invalid",
        name=name,
        answer=Answer.NEEDS_ACTION if number == 0 else Answer.ACCEPTED,
        comment="",
        token_salt=None,
    )


def _sample_token(number: int, length: int) -> str:
    return (f"Tmpl{number}x" * (length // 6 + 1))[:length]


# Line breaks written inside a long token: a soft line break in a quoted-printable body,
# a fold in a calendar line.
SOFT_BREAK = b"=\r\n"
CALENDAR_FOLD = b"\r\n "


@dataclass(frozen=True)
class _Token:
    """Where a guest's answer-link token goes, with the line breaks written inside it."""

    breaks: tuple[int, ...]
    separator: bytes

    def written(self, token: bytes) -> bytes:
        """Return the token as this place writes it."""
        if not self.breaks:
            return token
        cuts = (0, *self.breaks, len(token))
        return self.separator.join(token[start:end] for start, end in itertools.pairwise(cuts))


def with_tokens(text: bytes, token: bytes, separator: bytes) -> list[bytes | _Token]:
    """Cut text where a token is, allowing line breaks between its characters.

    A token's characters are each written as one byte, in quoted-printable and in calendar
    lines alike, and neither kind of line is broken after a character the token cannot
    contain, so a guest's token of the same length breaks at the same places.
    """
    between = b"(?:" + re.escape(separator) + b")?"
    found = re.compile(between.join(re.escape(token[i : i + 1]) for i in range(len(token))))
    pieces: list[bytes | _Token] = []
    done = 0
    for match in found.finditer(text):
        pieces.append(text[done : match.start()])
        written = match.group()
        breaks: list[int] = []
        offset = 0
        while (at := written.find(separator, offset)) >= 0:
            breaks.append(at - len(separator) * len(breaks))
            offset = at + len(separator)
        pieces.append(_Token(tuple(breaks), separator))
        done = match.end()
    pieces.append(text[done:])
    return pieces


def splice_tokens(pieces: Sequence[bytes | _Token], token: bytes) -> bytes:
    """Return text cut by `with_tokens` with another token of the same length in place."""
    return b"".join(piece if isinstance(piece, bytes) else piece.written(token) for piece in pieces)


class _Template:
    """The sample message's bytes cut into shared pieces and the slots between them."""

    def __init__(self, pieces: Sequence[bytes | _Slot | _Token]) -> None:
        self._pieces = tuple(pieces)

    @classmethod
    def cut(cls, data: bytes, sample: dict[_Slot, bytes]) -> _Template | None:
        """Return the template of a sample message, or None if a part is not found once."""
        header_end = data.find(b"\r\n\r\n") + 2
        places: list[tuple[int, int, _Slot]] = []
        for slot in (
            _Slot.TO,
            _Slot.MESSAGE_ID,
            _Slot.CALENDAR_ENCODING,
            _Slot.CALENDAR,
            _Slot.INVITE_ICS,
        ):
            value = sample[slot]
            where = data.find(value)
            if where < 0 or data.find(value, where + 1) >= 0:
                return None
            if slot in (_Slot.TO, _Slot.MESSAGE_ID) and where > header_end:
                return None
            places.append((where, where + len(value), slot))
        places.sort()
        pieces: list[bytes | _Slot | _Token] = []
        done = 0
        for start, end, slot in places:
            if start < done:
                return None
            pieces += with_tokens(data[done:start], sample[_Slot.LINK], SOFT_BREAK)
            pieces.append(slot)
            done = end
        pieces += with_tokens(data[done:], sample[_Slot.LINK], SOFT_BREAK)
        return cls(pieces)

    def splice(self, values: dict[_Slot, bytes]) -> bytes:
        """Return the message with one guest's parts in their places."""
        token = values[_Slot.LINK]
        return b"".join(
            piece
            if isinstance(piece, bytes)
            else piece.written(token)
            if isinstance(piece, _Token)
            else values[piece]
            for piece in self._pieces
        )


@dataclass(frozen=True)
class _Cut:
    """A meeting's invitation cut for guests' parts, and its calendar's link lines."""

    message: _Template
    links: list[bytes | _Token]


class InvitationBytes:
    """Each guest's invitation as bytes, spliced from the meeting's template where it holds."""

    def __init__(self, invitations: GuestInvitations, personal: Personal) -> None:
        self._invitations = invitations
        self._personal = personal
        # Cut for the length of the first guest's token; None when the cut proved wrong.
        self._cuts: dict[int, _Cut | None] = {}
        self.spliced = 0  # messages made from the template (the rest were built whole)

    def mail(self, guest: Invitee, token: str, entry_id: int) -> RawMail | EmailMessage:
        """Return one guest's invitation for one outbox entry, as bytes where it can be."""
        assert guest.email is not None
        if guest.email.isascii() and TOKEN_SHAPE.fullmatch(token):
            cut = self._cut(len(token))
            own = None if cut is None else self._own_parts(guest, token, entry_id, cut.links)
            if cut is not None and own is not None:
                self.spliced += 1
                return RawMail(cut.message.splice(own.values), (own.recipient,), own.message_id)
        url, files = self._personal(token)
        message = self._invitations.message(guest, answer_url=url, entry_id=entry_id, files=files)
        if not guest.email.isascii():
            return message  # the sender flattens it for SMTPUTF8
        return RawMail(
            flatten(message), (guest.email,), self._invitations.message_id(guest, entry_id)
        )

    def _own_parts(
        self, guest: Invitee, token: str, entry_id: int, links: list[bytes | _Token]
    ) -> _Guest | None:
        assert guest.email is not None
        calendars = self._invitations.calendars
        calendar = calendars.with_own_lines(
            splice_tokens(links, token.encode()) + calendars.attendee_line(guest)
        )
        part = calendar_part_body(calendar)
        if part is None:
            return None
        encoding, body = part
        message_id = self._invitations.message_id(guest, entry_id)
        values = {
            _Slot.TO: header_line("To", formataddr((header_safe(guest.name), guest.email))),
            _Slot.MESSAGE_ID: header_line("Message-ID", message_id),
            # The library writes a text part's encoding before its type.
            _Slot.CALENDAR_ENCODING: b"Content-Transfer-Encoding: "
            + encoding
            + b"\r\nContent-Type: text/calendar;",
            _Slot.CALENDAR: body,
            _Slot.INVITE_ICS: base64_body(calendar),
            _Slot.LINK: token.encode(),
        }
        return _Guest(values, guest.email, message_id)

    def _cut(self, token_length: int) -> _Cut | None:
        if token_length not in self._cuts:
            self._cuts[token_length] = self._proven_cut(token_length)
        return self._cuts[token_length]

    def _proven_cut(self, token_length: int) -> _Cut | None:
        """Cut the template from one sample guest's message and check it on another's."""
        samples = [
            (_sample(0, "Sample Zero"), _sample_token(0, token_length), 0),
            (_sample(1, 'Sämple "One", the second'), _sample_token(1, token_length), 1),
        ]
        url, files = self._personal(samples[0][1])
        links = with_tokens(
            self._invitations.calendars.link_lines(url, files.linked),
            samples[0][1].encode(),
            CALENDAR_FOLD,
        )
        written: list[tuple[bytes, _Guest]] = []
        for guest, token, entry_id in samples:
            own = self._own_parts(guest, token, entry_id, links)
            if own is None:
                return None
            url, files = self._personal(token)
            message = self._invitations.message(
                guest, answer_url=url, entry_id=entry_id, files=files
            )
            written.append((flatten(message), own))
        (first, first_own), (second, second_own) = written
        template = _Template.cut(first, first_own.values)
        if template is None or template.splice(second_own.values) != second:
            return None
        return _Cut(template, links)
