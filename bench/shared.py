"""Pieces the benchmarks share: describing the machine and a throwaway database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import platform
import sqlite3
import statistics
import sys
import traceback
import uuid
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine


def machine(*versions: str) -> str:
    """Describe the CPU, Python, SQLite and any library versions given."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    extra = "".join(f", {version}" for version in versions)
    return (
        f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}{extra}"
    )


@contextlib.asynccontextmanager
async def database(postgres: str | None, folder: Path) -> AsyncIterator[tuple[str, str]]:
    """Yield (url, description): a SQLite temp file, or a fresh PostgreSQL database."""
    if not postgres:
        path = folder / "meetbot.db"
        yield f"sqlite+aiosqlite:///{path}", f"SQLite (temp file {path})"
        return
    url = make_url(postgres)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+asyncpg")
    name = f"meetbot_bench_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield (
                url.set(database=name).render_as_string(hide_password=False),
                f"PostgreSQL ({url.host}:{url.port or 5432}, fresh database {name})",
            )
        finally:
            async with admin.connect() as connection:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


def percentile(values: list[float], p: float) -> float:
    """Return the linearly interpolated percentile (numpy's default), `p` in 0..100 to a tenth."""
    if not values:
        return math.nan
    if len(values) == 1 or p <= 0:
        return min(values)
    if p >= 100:
        return max(values)
    cuts = statistics.quantiles(values, n=1000, method="inclusive")
    return cuts[round(p * 10) - 1]


class BenchError(Exception):
    """The benchmark could not measure what it set out to; the message says why."""


def run_main(work: Coroutine[Any, Any, int]) -> int:
    """Run a benchmark to its exit status: a clear line for failures, 130 on Ctrl-C."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Meetbot asks for a drain after every change; while one runs, APScheduler warns
    # "skipped: maximum number of running instances reached" each time. Not a bench's news.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    try:
        return asyncio.run(work)
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        traceback.print_exc()
        print(f"bench failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
