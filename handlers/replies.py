"""Telling the person who clicked or typed something what happened, where they are."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks


async def tell(
    body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, text: str
) -> None:
    """Answer only the person: ephemerally where Slack allows it, else in their DM with us."""
    if body.get("response_url") or body.get("response_urls"):
        await respond(text=text, response_type="ephemeral", replace_original=False)
        return
    user = body.get("user") or {}
    user_id = user.get("id") if isinstance(user, dict) else body.get("user_id")
    reply, message_blocks = blocks.notice(text)
    await client.chat_postMessage(channel=str(user_id), text=reply, blocks=message_blocks)
