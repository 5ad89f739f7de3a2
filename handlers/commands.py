"""The /meet slash command."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.drafts import default_times
from handlers.context import services_of


async def open_meet(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Open the create form, with the command's text as the title."""
    await ack()
    person = await services_of(context).people.get(body["user_id"])
    try:
        zone = ZoneInfo(person.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    start, end = default_times(datetime.now(UTC), zone)
    view = blocks.create_modal(start=start, end=end, title=" ".join(body.get("text", "").split()))
    await client.views_open(trigger_id=body["trigger_id"], view=view)
