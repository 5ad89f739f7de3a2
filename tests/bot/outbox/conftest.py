"""The outbox against real parts: the app as bot/app.py builds it, drained when a test says."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import OUTBOX_JOB, Meetbot
from bot.config import Settings
from storage.database import create_engine, create_session_factory, upgrade_database
from tests.bot.outbox.mail_server import MailServer
from tests.conftest import SECRET_KEY, SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    """Run a real SMTP server on loopback that refuses the recipients a test names."""
    server = MailServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def app(
    database_url: str, slack: FakeSlack, mail_server: MailServer, app_port: int
) -> AsyncIterator[Meetbot]:
    """Run the real app against the fakes; its outbox is drained only when the test says so.

    The scheduler's outbox job is taken away and changes no longer wake it, so every
    delivery in these tests happens inside the test's own `drain()`, in a known order.
    """
    meetbot = Meetbot(
        Settings(
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            MEETBOT_SECRET_KEY=SECRET_KEY,
            SLACK_API_URL=slack.api_url,
            MEETBOT_DATABASE_URL=database_url,
            MEETBOT_SMTP_URL=mail_server.url,
            MEETBOT_MAIL_FROM="invites@meetbot.example",
            MEETBOT_HOST="127.0.0.1",
            MEETBOT_PORT=app_port,
            MEETBOT_PUBLIC_URL=f"http://127.0.0.1:{app_port}",
        )
    )
    await meetbot.start()
    assert meetbot.services is not None
    meetbot.scheduler.remove_job(OUTBOX_JOB)
    meetbot.services.outbox.set_waker(lambda: None)
    await meetbot.background_work_finished()  # a first drain the scheduler began at start
    yield meetbot
    await meetbot.stop()


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Yield sessions on an empty, migrated database, as the app opens them."""
    engine = create_engine(database_url)
    await upgrade_database(engine)
    yield create_session_factory(engine)
    await engine.dispose()
