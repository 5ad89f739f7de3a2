"""Steps many tests share: a person opening /meet and sending invitations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.blocks.settings import MAILBOX_CALLBACK
from tests.fakes.slack_api import FakeSlack
from tests.support.signed import SlackSender


def in_days(days: int, hour: int = 14, minute: int = 0) -> datetime:
    """Return a whole-hour moment some days ahead, in UTC."""
    base = datetime.now(UTC).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return base + timedelta(days=days)


async def open_create_form(
    sender: SlackSender, slack: FakeSlack, user_id: str, text: str = ""
) -> dict[str, Any]:
    """Type /meet and return the modal Slack was asked to open."""
    before = len(slack.calls_to("views.open"))
    response = await sender.command(user_id, text)
    assert response.status == 200
    await slack.wait_for("views.open", lambda call: len(slack.calls_to("views.open")) > before)
    view = slack.calls_to("views.open")[-1].args["view"]
    assert isinstance(view, dict)
    return view


async def send_invitations(
    sender: SlackSender,
    slack: FakeSlack,
    organizer: str,
    *,
    title: str = "Design review",
    start: datetime | None = None,
    minutes: int = 45,
    location: str = "Room 4 / https://meet.example/abc",
    description: str = "Walk through the new onboarding.",
    members: list[str] | None = None,
    guests: str = "",
    notify: bool = True,
    reminder: str = "15",
    remind_guests: bool = False,
    video: bool | None = None,
) -> dict[str, Any]:
    """Open the form, fill it in and submit it; return the app's answer to the submission."""
    view = await open_create_form(sender, slack, organizer)
    begin = start or in_days(2)
    response = await sender.submit_view(
        organizer,
        view,
        title=title,
        start=int(begin.timestamp()),
        end=int((begin + timedelta(minutes=minutes)).timestamp()),
        location=location,
        description=description,
        members=members or [],
        guests=guests,
        notify=["notify"] if notify else [],
        remind_guests=["remind_guests"] if remind_guests else [],
        reminder=reminder,
        **({} if video is None else {"video": ["video"] if video else []}),
    )
    assert response.status == 200
    return await confirm_mailbox(sender, organizer, response.json())


async def confirm_mailbox(
    sender: SlackSender, organizer: str, answer: dict[str, Any], mailbox: str | None = None
) -> dict[str, Any]:
    """Answer the sending-mailbox question if the app pushed it over the form.

    It is asked before an organizer's first guest invitation; `mailbox` picks one of
    several, else the one offered first is kept. Returns the app's final answer.
    """
    pushed = answer.get("view") or {}
    if answer.get("response_action") != "push" or pushed.get("callback_id") != MAILBOX_CALLBACK:
        return answer
    typed = {"mailbox": mailbox} if mailbox is not None else {}
    response = await sender.submit_view(organizer, pushed, **typed)
    assert response.status == 200
    return response.json()
