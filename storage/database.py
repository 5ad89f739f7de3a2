"""Engine and session factory, and bringing the schema up to date with Alembic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, event
from sqlalchemy import create_engine as create_sync_engine
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
    # No pre-ping: a round trip on every checkout. A connection the server dropped fails
    # its statement, and SQLAlchemy then replaces the whole pool.
    return create_async_engine(url)


def sqlite_writer_engine(url: URL) -> Engine:
    """Return a synchronous engine with one connection whose transactions take the write lock.

    For a writer that runs a whole batch in one thread hop: `BEGIN IMMEDIATE` takes
    SQLite's write lock before the first read, so what it reads cannot change before it
    writes (pysqlite would otherwise begin only at the first write).
    """
    engine = create_sync_engine(
        url.set(drivername="sqlite+pysqlite"),
        connect_args={"timeout": 30, "check_same_thread": False},
        pool_size=1,
        max_overflow=0,
    )
    event.listen(engine, "connect", _configure_sqlite_writer)
    event.listen(engine, "begin", _begin_immediate)
    return engine


def _configure_sqlite_writer(dbapi_connection: Any, record: Any) -> None:
    _configure_sqlite(dbapi_connection, record)
    # We say when a transaction begins (see _begin_immediate), not the driver.
    dbapi_connection.isolation_level = None


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the web pages read while the outbox writes; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
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
