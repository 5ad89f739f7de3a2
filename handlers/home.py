"""The App Home tab."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from handlers.context import services_of


async def publish_home(
    event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Show the person their upcoming meetings when they open the Home tab."""
    if event.get("tab") != "home":
        return
    assert context.team_id is not None
    user_id = str(event["user"])
    agenda = await services_of(context).meetings.agenda(context.team_id, user_id, datetime.now(UTC))
    await client.views_publish(user_id=user_id, view=blocks.home_view(agenda))
