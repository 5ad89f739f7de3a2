"""Web links inside text people typed, made clickable without letting the text be markup."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

# http(s) only: a typed `javascript:` or `data:` stays text. Trailing punctuation is the
# sentence's, not the link's.
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]", re.IGNORECASE)


_LINK = Markup('<a href="{0}" rel="noopener noreferrer nofollow" target="_blank">{0}</a>')


def linkify(text: str) -> Markup:
    """Return text escaped for HTML, its http(s) addresses as links that open safely."""
    pieces: list[Markup] = []
    last = 0
    for match in _URL.finditer(text):
        pieces.append(escape(text[last : match.start()]))
        pieces.append(_LINK.format(match.group(0)))
        last = match.end()
    pieces.append(escape(text[last:]))
    return Markup("").join(pieces)


def first_link(text: str) -> str | None:
    """Return the first http(s) address in text (a video link in "Where"), if any."""
    match = _URL.search(text)
    return match.group(0) if match else None
