"""Workspaces leaving: forget their tokens and stop everything still owed to them."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import utc_now
from bot.slack_clients import DISCONNECTED, SlackClients
from storage.models import OutboxEntry

logger = logging.getLogger(__name__)


class Workspaces:
    """Handle a workspace removing Meetbot or taking its tokens back."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clients: SlackClients,
        installations: AsyncInstallationStore | None,
    ) -> None:
        self._sessions = sessions
        self._clients = clients
        self._installations = installations

    async def disconnect(self, team_id: str, enterprise_id: str | None = None) -> int:
        """Delete the workspace's tokens and drop its pending deliveries; return how many."""
        if self._installations is not None:
            await self._installations.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)
        self._clients.forget(team_id)
        dropped = await self._drop_pending(team_id)
        logger.info(
            "workspace %s disconnected; %s pending deliveries dropped",
            team_id,
            dropped,
            extra={"team_id": team_id},
        )
        return dropped

    async def tokens_revoked(
        self,
        team_id: str,
        *,
        bot: bool,
        user_ids: Sequence[str] = (),
        enterprise_id: str | None = None,
    ) -> None:
        """Forget the tokens a workspace took back; without the bot's, it is disconnected."""
        if self._installations is not None:
            for user_id in user_ids:
                await self._installations.async_delete_installation(
                    enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
                )
        if bot:
            # Installation rows carry a copy of the bot token too; Meetbot asks for no user
            # tokens, so losing the bot token leaves nothing to act with.
            await self.disconnect(team_id, enterprise_id)

    async def _drop_pending(self, team_id: str) -> int:
        async with self._sessions.begin() as session:
            dropped = await session.execute(
                update(OutboxEntry)
                .where(OutboxEntry.team_id == team_id, OutboxEntry.state == "pending")
                .values(state="failed", last_error=DISCONNECTED, sent_at=utc_now())
            )
            return int(dropped.rowcount)  # type: ignore[attr-defined]
