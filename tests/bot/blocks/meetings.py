"""Meetings as the builders read them, made the way the tests need them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.meetings.model import Answer, Invitee, Meeting, Organizer

START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
# What someone may type into any text a meeting carries.
HOSTILE = "<!channel> & <https://evil.example|x>"
# The same text as a reader must see it in mrkdwn: shown, not acted on.
HOSTILE_SHOWN = "&lt;!channel&gt; &amp; &lt;https://evil.example|x&gt;"
OLGA = Organizer("U0OLGA", "Olga Organizer", "olga@acme.example", "Europe/Warsaw")


def member(
    number: int, answer: Answer = Answer.NEEDS_ACTION, comment: str = "", *, removed: bool = False
) -> Invitee:
    """Return an invited workspace member."""
    return Invitee(
        number, "member", f"U{number:08d}", None, "", answer, comment, None, removed=removed
    )


def guest(
    number: int,
    name: str = "",
    answer: Answer = Answer.NEEDS_ACTION,
    comment: str = "",
    *,
    delivery_error: str | None = None,
) -> Invitee:
    """Return an invited outside guest."""
    return Invitee(
        1000 + number,
        "guest",
        None,
        f"guest{number}@client.example",
        name,
        answer,
        comment,
        "salt",
        delivery_error=delivery_error,
    )


def meeting(*attendees: Invitee, meeting_id: int = 42, **changes: object) -> Meeting:
    """Return a confirmed meeting tomorrow afternoon with these invitees."""
    made = Meeting(
        id=meeting_id,
        uid=f"{meeting_id}@meetbot",
        team_id="T0ACME",
        organizer=OLGA,
        title="Design review",
        start=START,
        end=START + timedelta(hours=1),
        location="Room 2",
        description="Agenda:\n- the new logo",
        notify_on_decision=True,
        sequence=3,
        version=5,
        status="confirmed",
        created_at=START - timedelta(days=1),
        attendees=attendees,
    )
    return replace(made, **changes)  # type: ignore[arg-type]
