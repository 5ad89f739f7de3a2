"""Engine and session factory, and bringing the schema up to date with Alembic."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    InvalidRequestError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The async drivers Meetbot installs with, by database.
ASYNC_DRIVERS = {"postgresql": "asyncpg", "sqlite": "aiosqlite"}
# How long a batch waits for SQLite's write lock, looking every half millisecond.
WRITE_LOCK_WAIT_SECONDS = 30.0
WRITE_LOCK_POLL_SECONDS = 0.0005
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


def sqlite_batch_engine(url: URL) -> Engine:
    """Return a synchronous engine of two connections, for batches run on the event loop.

    Statements against SQLite's page cache take microseconds; a thread hop per statement
    costs far more under load (each one waits its turn for the GIL). So a batch runs its
    statements inline, waits for the write lock without blocking (`begin_immediate`) and
    commits in a thread, the one wait on the disk.
    """
    engine = create_sync_engine(
        url.set(drivername="sqlite+pysqlite"),
        connect_args={"check_same_thread": False},
        pool_size=2,
        max_overflow=0,
    )
    event.listen(engine, "connect", _configure_sqlite_batches)
    return engine


def _configure_sqlite_batches(dbapi_connection: Any, record: Any) -> None:
    _configure_sqlite(dbapi_connection, record)
    # We say when a transaction begins (BEGIN IMMEDIATE), not the driver; and we wait for
    # the write lock ourselves, without blocking the loop: SQLite's own wait would.
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA busy_timeout=0")


async def begin_immediate(connection: Connection) -> None:
    """Begin a SQLite transaction holding the write lock, waiting for it without blocking.

    Taking the lock before the first read means what the batch reads cannot change before
    it writes: the same press twice is one decision. Another writer holding it is asked
    again every half millisecond, not after SQLite's growing back-off.
    """
    deadline = time.monotonic() + WRITE_LOCK_WAIT_SECONDS
    while True:
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
        await asyncio.sleep(WRITE_LOCK_POLL_SECONDS)


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
