"""Opening a form only a meeting's organizer may use (edit, cancel, move one meeting)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.kit import View
from bot.i18n import Language
from bot.meetings.errors import MeetingError, MeetingNotFound
from bot.meetings.model import Meeting
from handlers.context import language_of_user, services_of
from handlers.replies import refuse

# Builds the form from the meeting, the organizer's language and whether video is offered.
FormBuilder = Callable[[Meeting, Language, bool], View]


# A Bolt listener for a button press; Bolt passes its arguments by name.
ButtonListener = Callable[
    [AsyncAck, dict[str, Any], dict[str, Any], AsyncWebClient, AsyncRespond, AsyncBoltContext],
    Awaitable[None],
]


def organizer_form(build: FormBuilder) -> ButtonListener:
    """Return the listener of a button opening `build`'s form for the meeting's organizer."""

    async def open_form(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
        context: AsyncBoltContext,
    ) -> None:
        """Open the form for the meeting's organizer; anyone else is told no."""
        await ack()
        await _open(body, action, client, respond, context, build)

    return open_form


async def _open(
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
    build: FormBuilder,
) -> None:
    assert context.team_id is not None and context.user_id is not None
    value = str(action.get("value", ""))
    try:
        if not value.isdigit():
            raise MeetingNotFound(value)
        meeting = await services_of(context).meetings.get_for_organizer(
            context.team_id, int(value), context.user_id
        )
    except MeetingError as error:
        await refuse(context, client, error, body=body, respond=respond)
        return
    language = await language_of_user(context, context.user_id)
    video_offered = services_of(context).settings.video_url is not None
    view = build(meeting, language, video_offered)
    await client.views_open(trigger_id=body["trigger_id"], view=view)
