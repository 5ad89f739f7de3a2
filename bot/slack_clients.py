"""The one place that hands out a Slack Web API client for a workspace.

Work that starts outside a Slack request (the outbox at night, reminders, profile
look-ups) asks here for the workspace's client. With one bot token in the
environment every workspace gets that client; with installs through Slack's OAuth
flow the workspace's installation is loaded, its rotating token refreshed shortly
before it expires (and the refreshed one saved), and the client kept for a while.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

from aiohttp import FormData
from slack_sdk.errors import SlackApiError, SlackTokenRotationError
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.i18n import N_

CLIENT_CACHE_SECONDS = 60.0
# Slack's answers to a refresh that say the workspace's grant is gone, not a passing failure.
GRANT_GONE_ERRORS = frozenset(
    {
        "invalid_refresh_token",
        "token_revoked",
        "invalid_auth",
        "account_inactive",
        "app_uninstalled",
    }
)


# Why deliveries to a workspace stopped, as the organizer reads it (translated where shown).
DISCONNECTED = N_("Meetbot was removed from the Slack workspace")


class WorkspaceNotInstalled(Exception):
    """Meetbot is not, or no longer, installed in a workspace; nothing can reach it."""

    def __init__(self, team_id: str) -> None:
        super().__init__(f"Meetbot is not installed in Slack workspace {team_id}")
        self.team_id = team_id


class SlackClients(Protocol):
    """Give the Web API client that speaks for Meetbot in a workspace."""

    async def for_team(self, team_id: str) -> AsyncWebClient:
        """Return the workspace's client, or raise WorkspaceNotInstalled."""

    def forget(self, team_id: str) -> None:
        """Drop what is remembered about a workspace's token."""


class SingleWorkspace:
    """The bot token from the environment, for the one workspace it was made in."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def for_team(self, team_id: str) -> AsyncWebClient:
        """Return the environment token's client."""
        return self._client

    def forget(self, team_id: str) -> None:
        """Keep the environment's token: there is nothing stored to forget."""


# What Slack answers a call made without a token; the outbox gives such a delivery up at once.
NOT_CONNECTED = "not_authed"


class UnconnectedClient(AsyncWebClient):
    """A Web API client with no Slack behind it: every call is refused at once, nothing is sent."""

    async def api_call(
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, Any] | None = None,
        data: dict[str, Any] | FormData | None = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        auth: dict[str, Any] | None = None,
    ) -> NoReturn:
        """Refuse the call as Slack refuses one without a token."""
        response = AsyncSlackResponse(
            client=self,
            http_verb=http_verb,
            api_url=api_method,
            req_args={},
            data={"ok": False, "error": NOT_CONNECTED},
            headers={},
            status_code=200,
        )
        raise SlackApiError(f"no Slack to call {api_method} on", response)  # type: ignore[no-untyped-call]


class NoSlack:
    """No way into Slack at all (`meetbot demo`): e-mail goes out, Slack's share is given up."""

    def __init__(self) -> None:
        self._client = UnconnectedClient()

    async def for_team(self, team_id: str) -> AsyncWebClient:
        """Return a client that Slack never answers but to refuse."""
        return self._client

    def forget(self, team_id: str) -> None:
        """Keep nothing: nothing is remembered."""


@dataclass(frozen=True)
class _Remembered:
    client: AsyncWebClient
    until: float  # time.time() after which the installation is read again


class InstalledWorkspaces:
    """Clients for the workspaces that installed Meetbot through /slack/install."""

    def __init__(
        self,
        installations: AsyncInstallationStore,
        rotator: AsyncTokenRotator,
        client_for_token: Callable[[str], AsyncWebClient],
        *,
        refresh_minutes: int,
        cache_seconds: float = CLIENT_CACHE_SECONDS,
    ) -> None:
        self._installations = installations
        self._rotator = rotator
        self._client_for_token = client_for_token
        self._refresh_minutes = refresh_minutes
        self._cache_seconds = cache_seconds
        self._remembered: dict[str, _Remembered] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def for_team(self, team_id: str) -> AsyncWebClient:
        """Return the workspace's client, refreshing a token about to expire."""
        remembered = self._remembered.get(team_id)
        if remembered is not None and remembered.until > time.time():
            return remembered.client
        # One look-up per workspace at a time, so concurrent deliveries refresh its token once.
        async with self._locks.setdefault(team_id, asyncio.Lock()):
            remembered = self._remembered.get(team_id)
            if remembered is not None and remembered.until > time.time():
                return remembered.client
            return await self._load(team_id)

    def forget(self, team_id: str) -> None:
        """Drop the workspace's client, so the next call reads the installation again."""
        self._remembered.pop(team_id, None)

    async def _load(self, team_id: str) -> AsyncWebClient:
        installation = await self._installations.async_find_installation(
            enterprise_id=None, team_id=team_id
        )
        if installation is None or not installation.bot_token:
            raise WorkspaceNotInstalled(team_id)
        if installation.bot_refresh_token is not None:
            try:
                refreshed = await self._rotator.perform_token_rotation(
                    installation=installation, minutes_before_expiration=self._refresh_minutes
                )
            except SlackTokenRotationError as error:
                if error.api_error.response.get("error") in GRANT_GONE_ERRORS:
                    raise WorkspaceNotInstalled(team_id) from error
                raise
            if refreshed is not None:
                await self._installations.async_save(refreshed)
                installation = refreshed
        assert installation.bot_token is not None
        until = time.time() + self._cache_seconds
        expires_at = installation.bot_token_expires_at
        if expires_at is not None:
            until = min(until, expires_at - self._refresh_minutes * 60)
        client = self._client_for_token(installation.bot_token)
        self._remembered[team_id] = _Remembered(client, until)
        return client
