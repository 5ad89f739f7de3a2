"""Signed, expiring links to a meeting's files for the members and organizer who see them in Slack.

A link names its file, the person it was made for and when it stops working, and carries
an HMAC of the three: it cannot be altered or handed on to outlive the meeting, and the
download also checks the person is still on the meeting.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

# Files stay reachable this long after a meeting ends (minutes, slides), then the links die.
KEPT_AFTER_MEETING = timedelta(days=30)


@dataclass(frozen=True)
class MemberFileLink:
    """What a member's file link claims: which file, for whom, until when."""

    public_key: str
    user_id: str
    until: int


class FileLinkSigner:
    """Make and check members' file links with a key derived from the installation's secret."""

    def __init__(self, link_key: str, *earlier_keys: str) -> None:
        # Links signed before an upgrade, under an earlier key, are still checked.
        self._keys = [
            hmac.new(key.encode(), b"meetbot file links", hashlib.sha256).digest()
            for key in (link_key, *earlier_keys)
        ]

    def _signature(self, link: MemberFileLink, key: bytes | None = None) -> str:
        text = f"{link.public_key}\n{link.user_id}\n{link.until}".encode()
        return hmac.new(key or self._keys[0], text, hashlib.sha256).hexdigest()[:32]

    def url(self, base_url: str, public_key: str, user_id: str, meeting_end: datetime) -> str:
        """Return the link to a file for one person, valid until a while after the meeting."""
        link = MemberFileLink(
            public_key, user_id, int((meeting_end + KEPT_AFTER_MEETING).timestamp())
        )
        query = urlencode({"for": user_id, "until": link.until, "sig": self._signature(link)})
        return f"{base_url}/files/{public_key}?{query}"

    def check(
        self, public_key: str, user_id: str, until: str, signature: str, now: datetime
    ) -> bool:
        """Tell whether a link is one Meetbot made, unaltered and not yet expired."""
        if not until.isdigit() or int(until) < now.timestamp():
            return False
        link = MemberFileLink(public_key, user_id, int(until))
        return any(hmac.compare_digest(self._signature(link, key), signature) for key in self._keys)
