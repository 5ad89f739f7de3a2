"""Engine and session factory, and bringing the schema up to date with Alembic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, InvalidRequestError, NoSuchModuleError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The async drivers Meetbot installs with, by database.
ASYNC_DRIVERS = {"postgresql": "asyncpg", "sqlite": "aiosqlite"}
URL_EXAMPLES = (
    "postgresql+asyncpg://user:password@host:5432/meetbot or sqlite+aiosqlite:///meetbot.db"
)


def database_url_problem(url: str) -> str | None:
    """Say why Meetbot cannot use a database URL (no server is asked), or return None."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return f"is not a database URL: write it like {URL_EXAMPLES}"
    try:
        # Loads the dialect and its driver as `meetbot run` will; connects to nothing.
        create_async_engine(parsed)
    except NoSuchModuleError:
        return f'names a database Meetbot does not know ("{parsed.drivername}"): use {URL_EXAMPLES}'
    except (ImportError, InvalidRequestError):
        return f"needs an async driver: {_with_async_driver(parsed)}"
    except (ArgumentError, ValueError) as error:
        return f"is not a usable database URL ({error}): write it like {URL_EXAMPLES}"
    return None


def _with_async_driver(url: URL) -> str:
    backend = url.get_backend_name()
    driver = ASYNC_DRIVERS.get(backend)
    if driver is None:
        return f"use {URL_EXAMPLES}"
    return f"write {backend}+{driver}:// instead of {url.drivername}://"


def create_engine(url: str) -> AsyncEngine:
    """Create the async engine for a database URL, tuned for that database."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the web pages read while the outbox writes; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Zero what is deleted or overwritten, so a secret sealed in place on upgrade (or a
    # forgotten calendar) leaves no plaintext behind in the file's free space.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Return the session factory every service uses."""
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config() -> Config:
    """Return an Alembic configuration pointing at Meetbot's migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade_database(engine: AsyncEngine) -> None:
    """Create or migrate the schema to the newest version."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
