"""What some tests need besides Python, and how a run without it skips them (or fails, in CI).

`python -m pytest` on a machine with only Python passes: a test that needs Dovecot,
PostgreSQL, the openssl command or Docker Compose skips, saying how to provide it. CI
(`.ci/run`) provides all of them and sets MEETBOT_TEST_REQUIRE_ALL=1, under which any skip
fails the run instead, so nothing it is meant to run goes quietly untested.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_ALL = "MEETBOT_TEST_REQUIRE_ALL"


def everything_required() -> bool:
    """Tell whether this run must run every test rather than skip what the machine lacks."""
    return os.environ.get(REQUIRE_ALL, "") not in ("", "0")


def skip_without(what: str, how: str) -> NoReturn:
    """Skip the test for want of `what`, saying how to provide it."""
    pytest.skip(f"needs {what}: {how}")


def skip_reason(report: pytest.TestReport) -> str:
    """Return the reason a skipped test gave."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)
