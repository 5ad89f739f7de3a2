"""The /meet slash command: the form, `list` and `help`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.drafts import default_times
from bot.i18n import translator
from bot.quick import read_quick_text
from handlers.context import services_of

logger = logging.getLogger(__name__)


async def meet(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    """Open the create form pre-filled from the command's free text; or list, or help."""
    await ack()
    text = " ".join(body.get("text", "").split())
    services = services_of(context)
    assert context.team_id is not None
    person = await services.people.get(context.team_id, body["user_id"])
    language = person.language
    if text.lower() == "help":
        reply, message_blocks = blocks.help_message(language=language)
        await respond(text=reply, blocks=message_blocks, response_type="ephemeral")
        return
    if text.lower() == "list":
        agenda = await services.meetings.agenda(context.team_id, body["user_id"], datetime.now(UTC))
        reply, message_blocks = blocks.agenda_message(agenda, language=language)
        await respond(text=reply, blocks=message_blocks, response_type="ephemeral")
        return
    settings = await services.preferences.get(context.team_id, body["user_id"])
    try:
        zone = ZoneInfo(person.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    now = datetime.now(UTC)
    start, end = default_times(now, zone)
    draft = read_quick_text(body.get("text", ""), now=now, zone=zone)
    view = blocks.create_modal(
        blocks.FormValues(
            start=draft.start or start,
            end=draft.end or end,
            title=draft.title,
            location=draft.location,
            member_ids=tuple(m for m in draft.member_ids if m != body["user_id"]),
            guests_text=draft.guests_text,
            notify=settings.notify_on_decision,
            reminder_minutes=settings.reminder_minutes,
        ),
        language=language,
    )
    try:
        await client.views_open(trigger_id=body["trigger_id"], view=view)
    except SlackApiError as error:
        # A trigger lives three seconds; a slow moment in Slack or here lets it expire.
        logger.warning("could not open the form: %s", error.response.get("error"))
        await respond(
            text=translator(language).gettext(
                "Sorry, the form could not open in time. Please type /meet again."
            ),
            response_type="ephemeral",
        )
