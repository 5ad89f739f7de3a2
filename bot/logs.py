"""How Meetbot's processes log: one format, and the libraries' routine chatter kept at DEBUG.

A Meetbot that is doing nothing writes nothing: APScheduler's "Running job" and "executed
successfully" every few seconds, and Alembic's notes on every start, are DEBUG lines. A job
that fails (ERROR) or runs late (WARNING "was missed by") still shows.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from logging.handlers import MemoryHandler

from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Meetbot wakes the outbox job after every change; a wake-up while it drains is skipped by
# APScheduler with this warning, and the running drain or the next one takes the work.
BUSY_JOB_SKIPPED = 'Execution of job "%s" skipped: maximum number of running instances reached'
ALEMBIC_NOTES = ("Context impl ", "Will assume ")


def is_routine(record: logging.LogRecord) -> bool:
    """Tell whether a library's log line only says that things are going as they should."""
    if record.name.startswith("apscheduler."):
        return record.levelno < logging.WARNING or str(record.msg).startswith(BUSY_JOB_SKIPPED)
    if record.name == "alembic.runtime.migration":
        return str(record.msg).startswith(ALEMBIC_NOTES)
    return False


class RoutineAtDebug(logging.Filter):
    """Write routine library lines as DEBUG, shown only when the process logs at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Let a line through unless it is routine and DEBUG is not logged."""
        if not is_routine(record):
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger().isEnabledFor(logging.DEBUG)


def configure_logging(level: int = logging.INFO, *, json: bool = False) -> None:
    """Log to stderr at `level`, as text or one JSON object a line, routine chatter at DEBUG."""
    handler = logging.StreamHandler()
    if json:
        # With any team and event ids the message carries.
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"levelname": "level"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RoutineAtDebug())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


@contextmanager
def held_until_started() -> Iterator[None]:
    """Hold log lines while Meetbot starts: all written once it runs, only warnings if not.

    A start that fails ends with one line saying why; the INFO lines of what it did first
    (migrations, listeners) would bury it.
    """
    root = logging.getLogger()
    writers = root.handlers[:]
    held = MemoryHandler(capacity=sys.maxsize, flushLevel=logging.CRITICAL + 1)
    root.handlers[:] = [held]
    try:
        yield
    except BaseException:
        held.buffer[:] = [record for record in held.buffer if record.levelno >= logging.WARNING]
        raise
    finally:
        root.handlers[:] = writers
        for record in held.buffer:
            for writer in writers:
                if record.levelno >= writer.level:
                    writer.handle(record)
        held.buffer.clear()
        held.close()
