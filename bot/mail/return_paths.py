"""Per-guest return paths (VERP): a bounce names the guest whose mail it was, unforgeably.

Guest mail leaves with the envelope sender `<mailbox>+b<attendee id>-<tag>@<domain>`, the
tag an HMAC of the attendee id under the installation's link key. A delivery report comes
back to that address, so it tells which attendee it is about; one without a valid tag (a
forged report) names no one. Mail servers deliver `local+anything@domain` to
`local@domain` (sub-addressing), so reports reach the same mailbox or receiver.
"""

from __future__ import annotations

import hashlib
import hmac
import re

# `+b<attendee id>-<20 hex digits>@`, as found in an envelope recipient or a header.
RETURN_PATH_TAG = re.compile(rb"\+b(\d{1,12})-([0-9a-f]{20})@", re.IGNORECASE)


class ReturnPaths:
    """Make and check the return path of each guest's mail."""

    def __init__(self, key: str, *earlier_keys: str) -> None:
        # Mail sent before an upgrade, under an earlier key, still names its guest.
        self._keys = [k.encode() for k in (key, *earlier_keys)]

    def _tag(self, attendee_id: int, key: bytes | None = None) -> str:
        message = f"return-path:{attendee_id}".encode()
        return hmac.new(key or self._keys[0], message, hashlib.sha256).hexdigest()[:20]

    def for_attendee(self, mailbox: str, attendee_id: int) -> str:
        """Return the envelope sender of mail to one attendee from a mailbox."""
        local, _, domain = mailbox.rpartition("@")
        return f"{local}+b{attendee_id}-{self._tag(attendee_id)}@{domain}"

    def attendees_in(self, found: tuple[tuple[int, str], ...]) -> tuple[int, ...]:
        """Return the attendee ids of return-path tags that are really ours."""
        return tuple(
            dict.fromkeys(
                attendee_id
                for attendee_id, tag in found
                if any(
                    hmac.compare_digest(self._tag(attendee_id, key), tag.lower())
                    for key in self._keys
                )
            )
        )


def return_path_tags(raw: bytes) -> tuple[tuple[int, str], ...]:
    """Return every (attendee id, tag) pair written like one of our return paths."""
    return tuple(
        dict.fromkeys((int(m.group(1)), m.group(2).decode().lower()) for m in _finditer(raw))
    )


def _finditer(raw: bytes) -> list[re.Match[bytes]]:
    # A report names the return path in its headers and the returned message's; a few
    # dozen matches are plenty, whatever else the text holds.
    return list(RETURN_PATH_TAG.finditer(raw))[:50]
