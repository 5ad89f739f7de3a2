"""Storage on SQLite and PostgreSQL: the schema, times in UTC, shared secrets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.database import create_engine, create_session_factory, upgrade_database
from storage.models import Base, Event
from storage.secrets import add_secret, read_secret, replace_secret


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Yield a session factory on a freshly migrated database."""
    engine = create_engine(database_url)
    await upgrade_database(engine)
    yield create_session_factory(engine)
    await engine.dispose()


async def test_upgrading_twice_leaves_the_schema_as_it_is(database_url: str) -> None:
    engine = create_engine(database_url)
    await upgrade_database(engine)
    await upgrade_database(engine)
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    await engine.dispose()
    assert {"events", "attendees", "outbox", "instance_secrets", "alembic_version"} <= tables


async def test_times_come_back_aware_and_in_utc(sessions: async_sessionmaker[AsyncSession]) -> None:
    warsaw_afternoon = datetime(2026, 12, 1, 15, 0, tzinfo=timezone(timedelta(hours=1)))
    async with sessions.begin() as session:
        session.add(
            Event(
                uid="u@meetbot",
                team_id="T1",
                organizer_id="U1",
                organizer_name="Olga",
                organizer_email=None,
                timezone="Europe/Warsaw",
                title="Review",
                start_at=warsaw_afternoon,
                end_at=warsaw_afternoon + timedelta(hours=1),
            )
        )
    async with sessions() as session:
        event = await session.scalar(select(Event))
    assert event is not None
    assert event.start_at == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    assert event.start_at.tzinfo == UTC


async def test_a_naive_time_is_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(Exception, match="naive"):
        async with sessions.begin() as session:
            session.add(
                Event(
                    uid="n@meetbot",
                    team_id="T1",
                    organizer_id="U1",
                    organizer_name="Olga",
                    organizer_email=None,
                    timezone="UTC",
                    title="Review",
                    start_at=datetime(2026, 12, 1, 15, 0),  # noqa: DTZ001 - the point of the test
                    end_at=datetime(2026, 12, 1, 16, 0),  # noqa: DTZ001
                )
            )


async def test_a_stored_value_is_kept_by_the_first_process_and_replaced_only_if_unchanged(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await read_secret(sessions, "key_check") is None
    assert await add_secret(sessions, "key_check", "first") == "first"
    assert await add_secret(sessions, "key_check", "second") == "first"

    await replace_secret(sessions, "key_check", "not what is stored", "third")
    assert await read_secret(sessions, "key_check") == "first"
    await replace_secret(sessions, "key_check", "first", "sealed")
    assert await read_secret(sessions, "key_check") == "sealed"


async def test_the_migrations_build_the_schema_the_models_describe(database_url: str) -> None:
    engine = create_engine(database_url)
    await upgrade_database(engine)

    def ours(name: str | None, kind: str, _parent: Any) -> bool:
        # The Slack installation tables are slack_sdk's own, described by its stores.
        return not (kind == "table" and (name or "").startswith("slack_"))

    def differences(sync: Connection) -> list[Any]:
        context = MigrationContext.configure(
            sync, opts={"compare_type": False, "include_name": ours}
        )
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as connection:
        found = await connection.run_sync(differences)
    await engine.dispose()
    assert found == []
