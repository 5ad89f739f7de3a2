"""A freshly migrated database per test, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.database import create_engine, create_session_factory, upgrade_database
from tests.bot.meetings.services import MeetingServices, build_services


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Yield a session factory on a database brought up to date by the real migrations."""
    engine = create_engine(database_url)
    await upgrade_database(engine)
    yield create_session_factory(engine)
    await engine.dispose()


@pytest.fixture
def services(sessions: async_sessionmaker[AsyncSession]) -> MeetingServices:
    """Return the meeting services with no monthly cap on guests."""
    return build_services(sessions)
