"""A series' own buttons and forms: moving one of its meetings to another time."""

from __future__ import annotations

from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.meeting_form import edited_meeting, state_values
from bot.blocks.series import MOVE_ACTION, MOVE_CALLBACK, move_modal, read_move
from bot.meetings.errors import MeetingError, MeetingNotFound, OccurrenceNotFound
from handlers.context import language_of_user, services_of
from handlers.replies import refuse


def register(app: AsyncApp) -> None:
    """Wire "Move one meeting" and its form."""
    app.action(MOVE_ACTION)(open_move)
    app.view(MOVE_CALLBACK)(submit_move)


async def open_move(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    """Open the form moving one meeting of a series, for its organizer only."""
    await ack()
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
    await client.views_open(
        trigger_id=body["trigger_id"], view=move_modal(meeting, language=language)
    )


async def submit_move(
    ack: AsyncAck, view: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Move the picked meeting; a time that cannot be is shown beside its field."""
    assert context.team_id is not None and context.user_id is not None
    meeting_id, _ = edited_meeting(view) or (0, 0)
    occurrence, start, end = read_move(state_values(view))
    try:
        if occurrence is None or start is None or end is None:
            raise OccurrenceNotFound(occurrence)
        await services_of(context).series.move_occurrence(
            context.team_id, context.user_id, meeting_id, occurrence, start, end
        )
    except MeetingError as error:
        language = await language_of_user(context, context.user_id)
        await ack(response_action="errors", errors={error.field: error.translated(language)})
        return
    await ack()
