"""Pieces the benchmarks share: describing the machine and a throwaway database."""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import functools
import inspect
import logging
import math
import os
import platform
import pstats
import sqlite3
import statistics
import sys
import time
import traceback
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
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


# ---------------------------------------------------------------------------
# --profile: wall-clock timers on named steps, and cProfile's CPU view
# ---------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
# A row of a step breakdown: label, indent, the object holding the function, its name.
StepRow = tuple[str, int, Any, str]


@dataclass
class Step:
    calls: int = 0
    seconds: float = 0.0


class Breakdown:
    """Wall-clock timers wrapped around named steps (awaits included)."""

    def __init__(self) -> None:
        self.steps: dict[str, Step] = {}

    def _add(self, name: str, seconds: float) -> None:
        step = self.steps.setdefault(name, Step())
        step.calls += 1
        step.seconds += seconds

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await function(*args, **kwargs)
                finally:
                    self._add(name, time.perf_counter() - started)

            return timed_async

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self._add(name, time.perf_counter() - started)

        return timed


_MISSING = object()


@contextlib.contextmanager
def instrumented(rows: list[StepRow], breakdown: Breakdown) -> Iterator[None]:
    """Wrap each step with a wall-clock timer; undo it afterwards."""
    patches: list[tuple[Any, str, Any]] = []
    for label, _, owner, name in rows:
        function = getattr(owner, name, None) if owner is not None else None
        if function is None:
            continue  # the code moved on; that row stays empty
        patches.append((owner, name, vars(owner).get(name, _MISSING)))
        setattr(owner, name, breakdown.wrap(label, function))
    try:
        yield
    finally:
        for owner, name, original in reversed(patches):
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


def cpu_by_package(profile: cProfile.Profile, limit: int) -> tuple[float, list[str], list[str]]:
    """Seconds idle in epoll, own CPU time by package, and the top functions by own time."""
    stats = pstats.Stats(profile)
    idle = 0.0
    packages: Counter[str] = Counter()
    rows = []
    prefixes = sorted({str(ROOT), *sys.path}, key=len, reverse=True)
    for (filename, line, name), (_, calls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "poll' of 'select." in name:
            idle += tottime
            continue
        where = filename
        for prefix in prefixes:
            if prefix and where.startswith(prefix + os.sep):
                where = where[len(prefix) + 1 :]
                break
        package = "builtins (C calls)" if where == "~" else where.split(os.sep, 1)[0]
        packages[package.removesuffix(".py")] += tottime
        rows.append((tottime, cumtime, calls, f"{where}:{line}({name})"))
    rows.sort(reverse=True)
    busiest = [f"{name} {seconds:.2f} s" for name, seconds in packages.most_common(8)]
    top = [f"  {t:8.3f} {c:8.3f} {n:8d}  {w}" for t, c, n, w in rows[:limit]]
    return idle, busiest, top


# ---------------------------------------------------------------------------
# Goals: every bench prints its goal beside the ratio and fails when it is missed
# ---------------------------------------------------------------------------


def against_goal(label: str, ratio: float, goal: float, *, at_least: bool) -> tuple[str, bool]:
    """Return a line showing a ratio beside its goal, and whether the goal is met."""
    met = (ratio >= goal) if at_least else (ratio <= goal)
    met = met and not math.isnan(ratio)
    sign = ">=" if at_least else "<="
    verdict = "met" if met else "MISSED"
    return f"{label}: {ratio:.2f}x, goal {sign} {goal:.2f}x: {verdict}", met


NOISE_NOTE = (
    "note: this machine is shared (2 cores, other builds and tests running); ratios between "
    "runs move by about +-30%, so compare medians of several runs."
)
