"""Named values an installation keeps for all its processes (sealed by the caller, never plain).

Earlier versions generated the guest-link key here in plaintext; the row is kept, sealed,
only so links mailed before the upgrade can still be rebuilt.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import InstanceSecret


async def read_secret(sessions: async_sessionmaker[AsyncSession], name: str) -> str | None:
    """Return the stored value of a name, if there is one."""
    async with sessions() as session:
        stored = await session.get(InstanceSecret, name)
        return None if stored is None else stored.value


async def add_secret(sessions: async_sessionmaker[AsyncSession], name: str, value: str) -> str:
    """Store a value under a name unless one is there; return the value that is stored."""
    try:
        async with sessions.begin() as session:
            session.add(InstanceSecret(name=name, value=value))
    except IntegrityError:
        pass  # another process stored one first; theirs counts
    stored = await read_secret(sessions, name)
    assert stored is not None
    return stored


async def replace_secret(
    sessions: async_sessionmaker[AsyncSession], name: str, old: str, new: str
) -> None:
    """Replace a stored value, unless another process changed it meanwhile."""
    async with sessions.begin() as session:
        await session.execute(
            update(InstanceSecret)
            .where(InstanceSecret.name == name, InstanceSecret.value == old)
            .values(value=new)
        )
