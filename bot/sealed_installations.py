"""slack_sdk's installation store with every token sealed in the database.

Tokens are sealed on their way into the tables and opened on their way out, each for its
workspace (and person, for user tokens), so the rest of Meetbot and Bolt's OAuth flow see
the store they know. Tokens written by earlier versions are sealed at start-up.
"""

from __future__ import annotations

import copy
from typing import Any

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from sqlalchemy import Table, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.sealing import SEALED_PREFIX, Sealer

BOT_TOKENS = ("bot_token", "bot_refresh_token")
USER_TOKENS = ("user_token", "user_refresh_token")


def token_place(
    column: str, enterprise_id: str | None, team_id: str | None, user_id: str | None
) -> str:
    """Return what a token is sealed for: its kind and its workspace (and person, if a user's)."""
    person = user_id or "" if column in USER_TOKENS else ""
    return f"slack.{column}:{enterprise_id or ''}:{team_id or ''}:{person}"


class SealedInstallationStore(AsyncSQLAlchemyInstallationStore):
    """Keep workspaces' installations with their tokens sealed; unlock() before use."""

    def __init__(self, client_id: str, engine: AsyncEngine) -> None:
        super().__init__(client_id, engine)
        self._sealer: Sealer | None = None

    def unlock(self, sealer: Sealer) -> None:
        """Give the store the sealer of this database's secrets (known once Meetbot starts)."""
        self._sealer = sealer

    @property
    def sealer(self) -> Sealer:
        """Return the sealer; the store is used only after Meetbot has started."""
        assert self._sealer is not None, "unlock() the installation store first"
        return self._sealer

    def _sealed(self, entity: Any, columns: tuple[str, ...]) -> Any:
        sealed = copy.copy(entity)
        for column in columns:
            place = token_place(column, *_owner_of(entity))
            setattr(sealed, column, self.sealer.seal_optional(getattr(entity, column), place))
        return sealed

    def _open(self, entity: Any, columns: tuple[str, ...]) -> None:
        for column in columns:
            place = token_place(column, *_owner_of(entity))
            setattr(entity, column, self.sealer.open_optional(getattr(entity, column), place))

    async def async_save(self, installation: Installation) -> None:
        """Store an installation (and its bot) with the tokens sealed."""
        await super().async_save(self._sealed(installation, BOT_TOKENS + USER_TOKENS))

    async def async_save_bot(self, bot: Bot) -> None:
        """Store a bot with its tokens sealed."""
        await super().async_save_bot(self._sealed(bot, BOT_TOKENS))

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        """Return a workspace's latest bot with its tokens opened."""
        bot = await super().async_find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        if bot is not None:
            self._open(bot, BOT_TOKENS)
        return bot

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        """Return a workspace's (or person's) latest installation with its tokens opened."""
        installation = await super().async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        if installation is not None:
            self._open(installation, BOT_TOKENS + USER_TOKENS)
        return installation

    async def seal_stored(self) -> int:
        """Seal tokens earlier versions stored in plaintext; return how many rows changed.

        Each row is rewritten only if it still holds the plaintext read, so processes
        starting side by side may both run this.
        """
        changed = await self._seal_table(self.installations, BOT_TOKENS + USER_TOKENS)
        return changed + await self._seal_table(self.bots, BOT_TOKENS)

    async def _seal_table(self, table: Table, columns: tuple[str, ...]) -> int:
        c = table.c
        plaintext = or_(*(c[name].not_like(f"{SEALED_PREFIX}%") for name in columns))
        user = c.user_id if "user_id" in c else None
        async with self.engine.begin() as connection:
            rows = (
                await connection.execute(
                    select(c.id, c.enterprise_id, c.team_id, *([user] if user is not None else []))
                    .add_columns(*(c[name] for name in columns))
                    .where(plaintext)
                )
            ).mappings()
            changed = 0
            for row in rows.all():
                owner, user_id = (row["enterprise_id"], row["team_id"]), row.get("user_id")
                values = {
                    name: self.sealer.seal(row[name], token_place(name, *owner, user_id))
                    for name in columns
                    if row[name] is not None and not row[name].startswith(SEALED_PREFIX)
                }
                unchanged = and_(c.id == row["id"], *(c[name] == row[name] for name in values))
                result = await connection.execute(update(table).where(unchanged).values(values))
                changed += result.rowcount
            return changed


def _owner_of(entity: Any) -> tuple[str | None, str | None, str | None]:
    """Return whose a stored token is: enterprise, workspace, person (bots have none)."""
    return entity.enterprise_id, entity.team_id, getattr(entity, "user_id", None)
