"""Secrets an installation makes for itself, kept in its database so every process shares them."""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import InstanceSecret


async def load_or_create_secret(sessions: async_sessionmaker[AsyncSession], name: str) -> str:
    """Return the named secret, generating and storing it the first time it is asked for."""
    async with sessions() as session:
        stored = await session.get(InstanceSecret, name)
        if stored is not None:
            return stored.value
    try:
        async with sessions.begin() as session:
            session.add(InstanceSecret(name=name, value=secrets.token_urlsafe(48)))
    except IntegrityError:
        pass  # another process stored it first; read theirs
    async with sessions() as session:
        stored = await session.get(InstanceSecret, name)
        assert stored is not None
        return stored.value
