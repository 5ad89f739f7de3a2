"""Shared test setup: real databases, a real SMTP server, a strict fake Slack, the real app."""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import Meetbot
from bot.config import Settings
from tests.fakes.slack_api import FakeSlack
from tests.support.dkim import KEYS, TRUSTED_AUTHSERV_ID
from tests.support.external import REQUIRE_ALL, everything_required, skip_reason, skip_without
from tests.support.mailbox import Mailbox
from tests.support.network import free_port
from tests.support.signed import SlackSender

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
# The master key sealing the test databases' secrets (required over HTTP).
SECRET_KEY = "test-secret-key-0123456789abcdef-0123456789"
TEAM_ID = "T0ACME"
ORGANIZER = "U0OLGA"
ANA = "U0ANA"
BEN = "U0BEN"
POSTGRES_URL = os.environ.get("MEETBOT_TEST_POSTGRES_URL")
HOW_TO_GET_POSTGRES = (
    "set MEETBOT_TEST_POSTGRES_URL to a server the tests may create databases on, "
    "e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test (.ci/run does)"
)

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _loopback_only(address: Any) -> None:
    if isinstance(address, tuple):
        host = address[0]
        try:
            if ipaddress.ip_address(host).is_loopback:
                return
        except ValueError:
            if host == "localhost":
                return
        raise AssertionError(f"a test tried to reach the network: {address!r}")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _loopback_only(address)
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _loopback_only(address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that tries to reach beyond this machine."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)


@pytest.fixture(autouse=True)
def quarantine_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep mail the receiver does not act on in the test's own folder."""
    folder = tmp_path / "quarantine"
    monkeypatch.setenv("MEETBOT_QUARANTINE_DIR", str(folder))
    return folder


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Under MEETBOT_TEST_REQUIRE_ALL=1 (CI), fail a test that would have been skipped."""
    report = yield
    if report.skipped and everything_required() and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"{REQUIRE_ALL}=1 runs everything, but this test {skip_reason(report)}"
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List each reason tests were skipped once, with how many, so the fix is plain."""
    reasons = Counter(
        skip_reason(report)
        for report in terminalreporter.stats.get("skipped", [])
        if isinstance(report, pytest.TestReport)
    )
    if not reasons:
        return
    terminalreporter.section("skipped: what this machine lacks (CI runs these)")
    for reason, count in reasons.most_common():
        terminalreporter.line(f"{count:4} {reason}")


@asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """Create a PostgreSQL database of its own for one test, and drop it after."""
    if not POSTGRES_URL:
        skip_without("PostgreSQL", HOW_TO_GET_POSTGRES)
    name = f"meetbot_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture
async def postgres_database() -> AsyncIterator[str]:
    """Yield an empty PostgreSQL database, for what several processes share."""
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Yield an empty database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'meetbot.db'}"
        return
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """Run a real SMTP server on loopback for the app to send to."""
    server = Mailbox()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """Run the fake Slack Web API with a small workspace of people."""
    fake = FakeSlack(team_id=TEAM_ID)
    fake.add_user(
        ORGANIZER, real_name="Olga Organizer", email="olga@acme.example", tz="Europe/Warsaw"
    )
    fake.add_user(ANA, real_name="Ana Member", email="ana@acme.example", tz="America/New_York")
    fake.add_user(BEN, real_name="Ben Member", email="ben@acme.example", tz="Asia/Tokyo")
    await fake.start()
    yield fake
    await fake.stop()


def make_settings(
    database_url: str, slack: FakeSlack, mailbox: Mailbox, port: int, **extra: Any
) -> Settings:
    """Return settings pointing the app at the test's database, Slack and SMTP server."""
    values: dict[str, Any] = {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "MEETBOT_SECRET_KEY": SECRET_KEY,
        "SLACK_API_URL": slack.api_url,
        "MEETBOT_DATABASE_URL": database_url,
        "MEETBOT_SMTP_URL": mailbox.url,
        "MEETBOT_MAIL_FROM": "invites@meetbot.example",
        "MEETBOT_HOST": "127.0.0.1",
        "MEETBOT_PORT": port,
        "MEETBOT_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "MEETBOT_OUTBOX_INTERVAL": 0.5,
        "MEETBOT_REMINDER_INTERVAL": 0.2,
        "MEETBOT_FEED_INTERVAL": 0.2,
        # Replies carrying this server's dkim=pass are authenticated (tests/support/dkim.py).
        "MEETBOT_TRUSTED_AUTHSERV_ID": TRUSTED_AUTHSERV_ID,
        # No DNS in tests: an app that checks signatures is given KEYS.resolve.
        "MEETBOT_VERIFY_DKIM": False,
    }
    values.update(extra)
    return Settings(**values)


@pytest.fixture
def inbound_port() -> int:
    """Return the port the app's SMTP receiver of replies listens on."""
    return free_port()


@pytest.fixture
def app_port() -> int:
    """Return the port the app under test listens on."""
    return free_port()


@pytest.fixture
async def meetbot(
    database_url: str, slack: FakeSlack, mailbox: Mailbox, app_port: int, inbound_port: int
) -> AsyncIterator[Meetbot]:
    """Run the real app against the fakes, serving HTTP and receiving mail on loopback."""
    app = Meetbot(
        make_settings(
            database_url,
            slack,
            mailbox,
            app_port,
            MEETBOT_INBOUND_SMTP=f"127.0.0.1:{inbound_port}",
        ),
        dkim_resolver=KEYS.resolve,
    )
    await app.start()
    yield app
    await app.stop()


@pytest.fixture
async def restart(meetbot: Meetbot) -> AsyncIterator[Callable[[], Awaitable[Meetbot]]]:
    """Return a function that stops the app and starts it again on the same database."""
    started: list[Meetbot] = []

    async def stop_and_start() -> Meetbot:
        await meetbot.stop()
        app = Meetbot(meetbot.settings, dkim_resolver=meetbot.dkim_resolver)
        await app.start()
        started.append(app)
        return app

    yield stop_and_start
    for app in started:
        await app.stop()


@pytest.fixture
def sender(meetbot: Meetbot, slack: FakeSlack) -> SlackSender:
    """Return a sender of signed Slack requests to the running app."""
    return SlackSender(meetbot.settings.base_url, SIGNING_SECRET, slack, TEAM_ID)
