"""One migrated database per backend for the meeting service's tests, emptied for each test.

Creating and migrating a PostgreSQL database costs most of a second; these tests need a few
hundredths each. So, unlike the shared `database_url` (a new database per test), each
backend's database is created and brought up to date by the real migrations once a run,
and every test starts from empty tables on a fresh engine of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.database import create_engine, create_session_factory, upgrade_database
from storage.models import Base
from tests.bot.meetings.services import MeetingServices, build_services
from tests.conftest import fresh_postgres_database


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    await upgrade_database(engine)
    await engine.dispose()


@pytest_asyncio.fixture(scope="session", loop_scope="session", params=["sqlite", "postgresql"])
async def migrated_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """Yield a database the migrations brought up to date: a SQLite file, or PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('meetings') / 'meetbot.db'}"
        await _migrate(url)
        yield url
        return
    async with fresh_postgres_database() as url:
        await _migrate(url)
        yield url


@pytest.fixture
async def sessions(migrated_database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Yield a session factory on the migrated database, every table emptied first."""
    engine = create_engine(migrated_database_url)
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(table.delete())
    yield create_session_factory(engine)
    await engine.dispose()


@pytest.fixture
def services(sessions: async_sessionmaker[AsyncSession]) -> MeetingServices:
    """Return the meeting services with no monthly cap on guests."""
    return build_services(sessions)
