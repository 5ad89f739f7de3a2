"""Workspace members as Slack describes them: name, e-mail, time zone and language."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.i18n import Language, language_for_slack_locale
from bot.slack_clients import SlackClients

PROFILE_TTL_SECONDS = 300.0


@dataclass(frozen=True)
class Person:
    """A workspace member's profile, as far as Meetbot needs it."""

    user_id: str
    name: str
    email: str | None
    timezone: str
    # Slack's locale for the person, e.g. `pl-PL`; Slack texts to them follow it.
    locale: str = "en-US"

    @property
    def language(self) -> Language:
        """Return the language Meetbot writes to this person in."""
        return language_for_slack_locale(self.locale)


class People:
    """Look members up with `users.info`, remembering answers for a few minutes."""

    def __init__(self, clients: SlackClients, ttl: float = PROFILE_TTL_SECONDS) -> None:
        self._clients = clients
        self._ttl = ttl
        # Keyed by workspace too: a user id means nothing outside its workspace.
        self._cache: dict[tuple[str, str], tuple[float, Person]] = {}

    async def get(self, team_id: str, user_id: str) -> Person:
        """Return a member's profile, asked of their own workspace."""
        cached = self._cache.get((team_id, user_id))
        if cached and cached[0] > time.monotonic():
            return cached[1]
        client = await self._clients.for_team(team_id)
        response = await client.users_info(user=user_id, include_locale=True)
        user = response["user"]
        profile = user.get("profile") or {}
        person = Person(
            user_id=user_id,
            name=profile.get("real_name") or user.get("real_name") or user.get("name") or user_id,
            email=profile.get("email"),
            timezone=user.get("tz") or "UTC",
            locale=user.get("locale") or "en-US",
        )
        self._cache[team_id, user_id] = (time.monotonic() + self._ttl, person)
        return person
