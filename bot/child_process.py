"""What Meetbot's child processes share: they read strangers' bytes with a budget.

Some libraries trust the counts written in the data they read (a calendar repeating every
second, a TNEF stream declaring four billion properties). Such reading runs in a child
process with its CPU time and memory capped, so the worst a stranger's file can do is get
that child killed.
"""

from __future__ import annotations

import os
from pathlib import Path

# The folder holding the `bot` package, so a child runs the same code as its parent.
CODE_ROOT = Path(__file__).resolve().parents[1]


def child_environment() -> dict[str, str]:
    """Return the environment a child gets: where Python and our code are, nothing else.

    The child reads a stranger's file, so it gets none of the bot's settings and secrets.
    """
    paths = [str(CODE_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {"PATH": os.environ.get("PATH", os.defpath), "PYTHONPATH": os.pathsep.join(paths)}


def limit_this_process(cpu_seconds: int, memory_bytes: int) -> None:
    """Cap this (child) process's CPU time and memory, and let the bot's own process go first."""
    import resource

    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    os.nice(10)
