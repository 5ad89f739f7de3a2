"""Telling the person who clicked or typed something what happened, where they are."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.kit import notice
from bot.i18n import N_, translator
from bot.meetings.errors import MeetingError
from handlers.context import language_of_user

logger = logging.getLogger(__name__)

SOMETHING_WENT_WRONG = N_(
    "Sorry, something went wrong on Meetbot's side and nothing was changed. "
    "Please try again in a moment."
)


async def tell(
    client: AsyncWebClient,
    user_id: str,
    text: str,
    *,
    body: dict[str, Any] | None = None,
    respond: AsyncRespond | None = None,
) -> None:
    """Answer only the person: ephemerally where Slack allows it, else in their DM with us."""
    if respond is not None and body and (body.get("response_url") or body.get("response_urls")):
        await respond(text=text, response_type="ephemeral", replace_original=False)
        return
    reply, message_blocks = notice(text)
    await client.chat_postMessage(channel=user_id, text=reply, blocks=message_blocks)


async def refuse(
    context: AsyncBoltContext,
    client: AsyncWebClient,
    error: MeetingError,
    *,
    body: dict[str, Any] | None = None,
    respond: AsyncRespond | None = None,
) -> None:
    """Tell the person why their request about a meeting was not carried out, in their words."""
    assert context.user_id is not None
    language = await language_of_user(context, context.user_id)
    await tell(client, context.user_id, error.translated(language), body=body, respond=respond)


def _user_of(body: dict[str, Any]) -> str | None:
    user = body.get("user")
    user_id = user.get("id") if isinstance(user, dict) else body.get("user_id")
    return str(user_id) if user_id else None


async def report_unexpected(
    error: Exception,
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Log what no handler expected, with its traceback, and tell the person it failed."""
    logger.error("a Slack request failed: %s", body.get("type"), exc_info=error)
    user_id = _user_of(body)
    if user_id is None or context.team_id is None:
        return
    try:
        language = await language_of_user(context, user_id)
        await tell(client, user_id, translator(language).gettext(SOMETHING_WENT_WRONG))
    except (SlackApiError, OSError):
        logger.warning("could not tell %s that their request failed", user_id, exc_info=True)
