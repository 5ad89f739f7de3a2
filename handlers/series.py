"""A series' own buttons and forms: which meetings an edit is for, changing one of them."""

from __future__ import annotations

from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.kit import View
from bot.blocks.meeting_form import edited_meeting, state_values
from bot.blocks.series import (
    EDIT_SCOPE_CALLBACK,
    MOVE_ACTION,
    MOVE_CALLBACK,
    MOVE_PICK_ACTION,
    move_modal,
    picked_occurrence,
    read_move,
    read_scope,
    scoped_edit_form,
)
from bot.i18n import Language
from bot.meetings.errors import MeetingError, OccurrenceNotFound
from bot.meetings.model import Meeting
from handlers.context import language_of_user, services_of
from handlers.organizer_forms import organizer_form
from handlers.replies import refuse


def register(app: AsyncApp) -> None:
    """Wire the edit question of a series, "Change one meeting" and its form."""
    app.view(EDIT_SCOPE_CALLBACK)(choose_edit_scope)
    app.action(MOVE_ACTION)(organizer_form(_move_form))
    app.action(MOVE_PICK_ACTION)(show_picked_occurrence)
    app.view(MOVE_CALLBACK)(submit_move)


def _move_form(meeting: Meeting, language: Language, video_offered: bool) -> View:
    return move_modal(meeting, language=language)


async def choose_edit_scope(ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext) -> None:
    """Turn the question into the form for what is changed: one meeting, it and after, or all."""
    assert context.team_id is not None and context.user_id is not None
    services = services_of(context)
    language = await language_of_user(context, context.user_id)
    meeting_id, _ = edited_meeting(view) or (0, 0)
    scope, occurrence = read_scope(state_values(view))
    try:
        meeting = await services.meetings.get_for_organizer(
            context.team_id, meeting_id, context.user_id
        )
    except MeetingError as error:
        await ack(response_action="errors", errors={"occurrence": error.translated(language)})
        return
    video_offered = services.settings.video_url is not None
    form = scoped_edit_form(
        meeting, scope, occurrence, language=language, video_offered=video_offered
    )
    await ack(response_action="update", view=form)


async def show_picked_occurrence(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Show the picked meeting's own time, title and place in "Change one meeting"."""
    await ack()
    assert context.team_id is not None and context.user_id is not None
    view = body["view"]
    meeting_id, _ = edited_meeting(view) or (0, 0)
    try:
        meeting = await services_of(context).meetings.get_for_organizer(
            context.team_id, meeting_id, context.user_id
        )
    except MeetingError as error:
        await refuse(context, client, error, body=body)
        return
    language = await language_of_user(context, context.user_id)
    form = move_modal(meeting, language=language, picked=picked_occurrence(action))
    try:
        await client.views_update(view_id=view["id"], hash=view.get("hash"), view=form)
    except SlackApiError as error:
        # Picked again meanwhile: the newer pick's redraw is the one to show.
        if error.response.get("error") != "hash_conflict":
            raise


async def submit_move(
    ack: AsyncAck, view: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Change the picked meeting; a value that cannot be is shown beside its field."""
    assert context.team_id is not None and context.user_id is not None
    meeting_id, _ = edited_meeting(view) or (0, 0)
    occurrence, edit = read_move(state_values(view))
    try:
        if occurrence is None or edit is None:
            raise OccurrenceNotFound(occurrence)
        await services_of(context).series.change_occurrence(
            context.team_id, context.user_id, meeting_id, occurrence, edit
        )
    except MeetingError as error:
        language = await language_of_user(context, context.user_id)
        await ack(response_action="errors", errors={error.field: error.translated(language)})
        return
    await ack()
