"""The /meet slash command: the form, `list` and `help`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.agenda import agenda_message
from bot.blocks.meeting_form import create_modal, opening_values
from bot.blocks.messages import help_message
from bot.drafts import default_times
from bot.i18n import translator
from bot.quick.reader import read_quick_text_aside
from bot.services import Services
from handlers.context import services_of

logger = logging.getLogger(__name__)


def register(app: AsyncApp) -> None:
    """Wire the slash command."""
    app.command("/meet")(meet)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


async def meet(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    """Open the create form pre-filled from the command's free text; or list, or help."""
    await ack()
    assert context.team_id is not None
    services = services_of(context)
    # Only after the acks on their way have left, and a few listeners at a time.
    async with services.after_ack.turn():
        await _answer_meet(body, client, respond, context.team_id, services)


async def _answer_meet(
    body: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    team_id: str,
    services: Services,
) -> None:
    user_id = str(body["user_id"])
    text = " ".join(str(body.get("text", "")).split())
    person = await services.people.get(team_id, user_id)
    if text.lower() in ("help", "list"):
        if text.lower() == "help":
            reply, message_blocks = help_message(language=person.language)
        else:
            agenda = await services.meetings.agenda(team_id, user_id, datetime.now(UTC))
            reply, message_blocks = agenda_message(agenda, language=person.language)
        await respond(text=reply, blocks=message_blocks, response_type="ephemeral")
        return
    settings = await services.preferences.get(team_id, user_id)
    zone, now = _zone(person.timezone), datetime.now(UTC)
    quick = await read_quick_text_aside(str(body.get("text", "")), now=now, zone=zone)
    values = opening_values(
        quick,
        *default_times(now, zone),
        user_id,
        settings,
        video_offered=services.settings.video_url is not None,
    )
    try:
        await client.views_open(
            trigger_id=body["trigger_id"], view=create_modal(values, language=person.language)
        )
    except SlackApiError as error:
        # A trigger lives three seconds; a slow moment in Slack or here lets it expire.
        logger.warning("could not open the form: %s", error.response.get("error"))
        await respond(
            text=translator(person.language).gettext(
                "Sorry, the form could not open in time. Please type /meet again."
            ),
            response_type="ephemeral",
        )
