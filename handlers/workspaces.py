"""Slack telling Meetbot that a workspace removed it or took its tokens back."""

from __future__ import annotations

from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from handlers.context import services_of


def register(app: AsyncApp) -> None:
    """Wire what Slack says when a workspace removes Meetbot or takes tokens back."""
    app.event("app_uninstalled")(forget_uninstalled_workspace)
    app.event("tokens_revoked")(forget_revoked_tokens)


async def forget_uninstalled_workspace(context: AsyncBoltContext) -> None:
    """Delete the workspace's tokens and stop what is still owed to it."""
    assert context.team_id is not None
    await services_of(context).workspaces.disconnect(context.team_id, context.enterprise_id)


async def forget_revoked_tokens(event: dict[str, Any], context: AsyncBoltContext) -> None:
    """Delete the tokens the workspace took back."""
    assert context.team_id is not None
    tokens = event.get("tokens") or {}
    await services_of(context).workspaces.tokens_revoked(
        context.team_id,
        bot=bool(tokens.get("bot")),
        user_ids=[str(user_id) for user_id in tokens.get("oauth") or []],
        enterprise_id=context.enterprise_id,
    )
