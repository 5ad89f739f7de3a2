"""The MIME pieces Meetbot's e-mails are made of: the header policy, text and file parts.

Pure: no database, no Slack, no sending.
"""

from __future__ import annotations

import functools
import re
import secrets
import sys
from collections.abc import Sequence
from email.header import Header
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import MIMEPart
from email.policy import SMTP, Policy

# RFC 2047 §2: an encoded-word is at most 75 characters. The library sizes each word to what
# is left of its line, so on a fresh line of 78 (email.policy.SMTP, which aiosmtplib flattens
# with whatever the message's own policy) a word can run to 77. Folded to lines of 76, a
# space and at most 75 characters, every word keeps within the limit.
MAX_HEADER_LINE = 76


@functools.cache
def _narrowed(policy: Policy) -> Policy:
    return policy.clone(max_line_length=MAX_HEADER_LINE)


class _Header(BaseHeader):
    """A header that folds to lines of at most 76 characters whichever policy writes it."""

    def fold(self, *, policy: Policy) -> str:
        """Return the header folded, its encoded-words no longer than RFC 2047 allows."""
        if not policy.max_line_length or policy.max_line_length > MAX_HEADER_LINE:
            policy = _narrowed(policy)
        return super().fold(policy=policy)


class _HeaderClasses(HeaderRegistry):
    """The standard header classes, each put together once rather than for every header set.

    `HeaderRegistry` builds a new class on every lookup, the biggest single cost of making
    a message; parsing and the refusal of CR/LF in values stay the library's own, folding
    too, to lines short enough for RFC 2047 (`_Header`).
    """

    def __init__(self) -> None:
        super().__init__(base_class=_Header)
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        if key not in self._made:
            self._made[key] = super().__getitem__(name)
        return self._made[key]


POLICY = SMTP.clone(header_factory=_HeaderClasses())


def header_safe(text: str) -> str:
    """Fold user text onto one line so it can never start a new mail header."""
    return " ".join(text.split())


def text_part(text: str, subtype: str, params: dict[str, str] | None = None) -> MIMEPart:
    part = MIMEPart(policy=POLICY)
    part.set_content(text, subtype=subtype, params=params or {})
    return part


MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
# An attachment's name as one quoted-string line up to here; longer or not ASCII, as
# encoded-words (each line then at most 7 + 70 characters).
PLAIN_NAME_LENGTH = 60
NAME_WORD_LENGTH = 70


class _FoldedHeader(str):
    """A header value folded here, written as it is whatever policy flattens the message.

    The library would write a `name` parameter too long for one line as RFC 2231 sections,
    which the old mail programs that read `name=` at all do not understand.
    """

    name: str
    _lines: tuple[str, ...]

    def __new__(cls, name: str, lines: Sequence[str]) -> _FoldedHeader:
        header = super().__new__(cls, "".join(lines))
        header.name = name
        header._lines = tuple(lines)
        return header

    def fold(self, *, policy: Policy) -> str:
        """Return the header as folded here, ended as the policy ends lines."""
        return f"{self.name}: " + policy.linesep.join(self._lines) + policy.linesep


def _content_type_naming(mimetype: str, filename: str) -> _FoldedHeader:
    """Return a file part's Content-Type with the file's name in `name=`, as old clients read it.

    Their readers take `name=` and RFC 2047 encoded-words (as Thunderbird writes them);
    the `filename*=` (RFC 2231) of Content-Disposition is for everyone else.
    """
    plain = filename.isascii() and '"' not in filename and "\\" not in filename
    if plain and len(filename) <= PLAIN_NAME_LENGTH:
        one_line = f'{mimetype}; name="{filename}"'
        if len("Content-Type: " + one_line) <= MAX_HEADER_LINE:
            return _FoldedHeader("Content-Type", [one_line])
        return _FoldedHeader("Content-Type", [f"{mimetype};", f' name="{filename}"'])
    words = Header(filename, "utf-8", maxlinelen=NAME_WORD_LENGTH).encode().split()
    quoted = [f' name="{words[0]}', *(f" {word}" for word in words[1:])]
    quoted[-1] += '"'
    return _FoldedHeader("Content-Type", [f"{mimetype};", *quoted])


def file_part(data: bytes, mimetype: str, filename: str) -> MIMEPart:
    mimetype = mimetype.strip().lower()
    if not MIME_TYPE.fullmatch(mimetype):
        mimetype = "application/octet-stream"
    maintype, _, subtype = mimetype.partition("/")
    filename = header_safe(filename) or "file"
    part = MIMEPart(policy=POLICY)
    part.set_content(data, maintype=maintype, subtype=subtype, filename=filename)
    part.replace_header("Content-Type", _content_type_naming(mimetype, filename))
    return part


def multipart(
    container: MIMEPart, subtype: str, parts: Sequence[MIMEPart], boundary: str | None = None
) -> None:
    """Make the container a multipart of these parts, with the given boundary if any.

    A boundary chosen here spares the generator its search for one that no line of the
    parts contains (a regex compiled for every multipart it writes); the caller makes sure
    no line starts with it.
    """
    if subtype == "mixed":
        container.make_mixed(boundary=boundary)
    else:
        container.make_alternative(boundary=boundary)
    for part in parts:
        container.attach(part)


def new_boundary() -> str:
    """Return a random boundary shaped like the email package's own (`===...==`)."""
    width = len(repr(sys.maxsize - 1))
    return "=" * 15 + f"{secrets.randbelow(sys.maxsize):0{width}d}" + "=="
