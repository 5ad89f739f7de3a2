"""Video rooms in the calendar guests get, read back by calendar parsers not our own."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import vobject

from bot.blocks.messages import member_reminder
from bot.ical import GuestCalendars
from bot.mail.messages import Sender, reminder_message
from bot.video import join_link, room_after
from tests.mail.test_guest_messages import GUESTS, MEETING
from tests.support.calendar_readers import ICAL_JS, needs_ical_js

SERVICE = "https://meet.jit.si/"
ROOM = "https://meet.jit.si/meetbot-2wS0b1pX3kq9VYl6F2m4Ag"
WITH_ROOM = replace(MEETING, location="", video_url=ROOM)


def invitation(meeting: Any) -> bytes:
    """Return the calendar the first guest gets by e-mail."""
    stamp = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    calendars = GuestCalendars("REQUEST", meeting, organizer_address="i@acme.example", stamp=stamp)
    return calendars.to_ical(GUESTS[0], url="https://meetbot.example/rsvp/t")


def read_with_ical_js(calendar: bytes) -> list[dict[str, Any]]:
    """Return the CONFERENCE lines ical.js reads, with the event's LOCATION."""
    node = shutil.which("node")
    assert node is not None
    finished = subprocess.run(  # noqa: S603 - node on our own script, the text on stdin
        [node, str(ICAL_JS / "conference.mjs")],
        input=json.dumps([calendar.decode()]),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=ICAL_JS,
    )
    [read] = json.loads(finished.stdout)
    assert isinstance(read, list), read
    return read


@needs_ical_js
def test_thunderbirds_parser_reads_the_room_as_a_video_conference() -> None:
    assert read_with_ical_js(invitation(WITH_ROOM)) == [
        {
            "value": ROOM,
            "type": "uri",
            "feature": "VIDEO",
            "label": "Join the video call",
            "location": ROOM,
        }
    ]


def test_vobject_reads_the_room_as_a_video_conference() -> None:
    event = vobject.readOne(invitation(WITH_ROOM).decode()).vevent
    [conference] = event.contents["conference"]
    assert conference.value == ROOM
    assert conference.params["FEATURE"] == ["VIDEO"]
    assert conference.params["VALUE"] == ["URI"]
    assert event.location.value == ROOM


def test_a_place_typed_by_the_organizer_is_kept_beside_the_room() -> None:
    event = vobject.readOne(invitation(replace(WITH_ROOM, location="Room 4")).decode()).vevent
    assert event.location.value == "Room 4"
    assert event.conference.value == ROOM


def test_a_room_is_made_once_kept_through_edits_and_dropped_when_unticked() -> None:
    made = room_after(None, True, "", SERVICE)
    assert made is not None and made.startswith(SERVICE + "meetbot-")
    assert room_after(None, True, "", SERVICE) != made  # unguessable: every room its own
    assert room_after(made, True, "Room 4", SERVICE) == made
    assert room_after(made, None, "", None) == made  # the form did not ask
    assert room_after(made, False, "", SERVICE) is None
    assert room_after(None, True, "https://zoom.us/j/1", SERVICE) is None


def test_the_join_link_is_the_room_else_a_link_typed_into_where() -> None:
    assert join_link(WITH_ROOM) == ROOM
    assert join_link(MEETING) == "https://meet.example/abc"
    assert join_link(replace(MEETING, location="Room 4")) is None


def test_a_reminder_carries_the_room_for_members_and_guests() -> None:
    _, blocks = member_reminder(WITH_ROOM)
    joins = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert [(e["text"]["text"], e["url"]) for e in joins] == [("Join the video call", ROOM)]
    mail = reminder_message(
        WITH_ROOM,
        GUESTS[0],
        sender=Sender("invites@acme.example"),
        answer_url="https://meetbot.example/rsvp/t",
        stamp=datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        entry_id=1,
    )
    body = mail.get_body(("plain",))
    assert body is not None and f"Video call: {ROOM}" in body.get_content()


def test_a_cancelled_meeting_offers_no_call_to_join() -> None:
    _, blocks = member_reminder(replace(WITH_ROOM, status="cancelled"))
    assert not any(b["type"] == "actions" for b in blocks)
