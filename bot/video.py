"""Video calls: an unguessable room per meeting on the configured service, or the organizer's
own link (Zoom, Meet, Teams) pasted into "Where". Pure: no database, no network.
"""

from __future__ import annotations

import secrets

from bot.links import first_link
from bot.meetings.model import Meeting

# 128 random bits: a room no one can find by guessing, as short as a link stays readable.
ROOM_BYTES = 16


def new_room(service_url: str) -> str:
    """Return a new room's link on the video service (its address ends in a slash)."""
    return f"{service_url}meetbot-{secrets.token_urlsafe(ROOM_BYTES)}"


def room_after(
    current: str | None, wanted: bool | None, location: str, service_url: str | None
) -> str | None:
    """Return the meeting's room once the form is saved: kept, made, or taken away.

    `wanted` None means the form did not ask (no video service is set up): nothing changes.
    A link the organizer typed into "Where" is the meeting's call, so no room is made then.
    """
    if wanted is None:
        return current
    if not wanted or service_url is None or first_link(location):
        return None
    return current or new_room(service_url)


def join_link(meeting: Meeting) -> str | None:
    """Return where people join the call: Meetbot's room, else a link typed into "Where"."""
    return meeting.video_url or first_link(meeting.location)
