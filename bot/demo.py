"""`meetbot demo`: what a guest gets, before anything is set up.

The real app, started without Slack on a throwaway SQLite database in a temporary folder,
holds one sample meeting with one guest. Its invitation is written as an .eml file (no mail
server is used even if one is configured), and the guest's page is served as in production.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import shutil
import signal
import sys
import tempfile
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from slack_sdk.errors import SlackApiError

from bot.app import Meetbot
from bot.config import Settings
from bot.drafts import MeetingDraft
from bot.guests import Guest
from bot.meetings.model import Organizer
from bot.slack_clients import NOT_CONNECTED
from bot.startup import CannotStart

DEFAULT_DEMO_PORT = 3000
DEMO_TEAM = "T0DEMO"
ORGANIZER = Organizer(
    user_id="U0DEMO", name="Olga Organizer", email="olga@example.com", timezone="UTC"
)
GUEST = Guest(email="gabriel@example.org", name="Gabriel Guest")
TITLE = "Project kick-off with Example Org"
# How long the sample invitation may take to reach the folder.
WRITE_TIMEOUT_SECONDS = 30.0


class DemoSettings(Settings):
    """Settings made only of what the demo gives: nothing from the environment is used."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read the given values only: a real SMTP server set for `run` must not mail the guest."""
        return (init_settings,)


def demo_settings(folder: Path, host: str, port: int) -> Settings:
    """Return settings keeping everything in `folder` and serving the pages on host:port."""
    shown_host = "localhost" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
    return DemoSettings(
        MEETBOT_DATABASE_URL=f"sqlite+aiosqlite:///{folder / 'demo.db'}",
        MEETBOT_MAIL_DIR=folder / "mail",
        MEETBOT_MAIL_FROM="Meet <invites@example.com>",
        MEETBOT_HOST=host,
        MEETBOT_PORT=port,
        MEETBOT_PUBLIC_URL=f"http://{shown_host}:{port}",
    )


def sample_meeting(now: datetime) -> MeetingDraft:
    """Return the sample meeting: tomorrow at 15:00 UTC for 45 minutes, one guest."""
    start = datetime.combine(now.date() + timedelta(days=1), time(15, 0), tzinfo=UTC)
    return MeetingDraft(
        title=TITLE,
        start=start,
        end=start + timedelta(minutes=45),
        location="Room 4, or the video link below",
        description=(
            "This is Meetbot's demo: the invitation and the page your guests get. "
            "Answer here, or with your calendar's Yes / Maybe / No."
        ),
        guests=(GUEST,),
        reminder_minutes=None,
    )


class _NoSlackNews(logging.Filter):
    """Drop the outbox's note that Slack refused a delivery: the demo has no Slack."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Let every line through but one about a Slack delivery given up for want of Slack."""
        error = record.exc_info[1] if record.exc_info else None
        return not (
            isinstance(error, SlackApiError) and error.response.get("error") == NOT_CONNECTED
        )


async def show_sample_meeting(meetbot: Meetbot) -> tuple[str, Path]:
    """Create the sample meeting; return its guest's link and the invitation's .eml file."""
    services = meetbot.services
    assert services is not None, "start the app first"
    meeting = await services.meetings.create(
        DEMO_TEAM, ORGANIZER, sample_meeting(datetime.now(UTC))
    )
    link = services.outbox.answer_url(services.meetings.link_token(meeting.guests[0]))
    folder = meetbot.settings.mail_dir
    deadline = asyncio.get_running_loop().time() + WRITE_TIMEOUT_SECONDS
    # Written whole once nothing is pending: the Slack deliveries are given up at once.
    while not (written := sorted(folder.glob("*.eml"))) or await services.outbox.pending_count():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"the sample invitation was not written to {folder}")
        await asyncio.sleep(0.05)
    return link, written[0]


async def run_demo(host: str, port: int) -> int:
    """Serve the sample meeting until Ctrl-C, then delete everything; return the exit status."""
    logging.getLogger("bot.outbox.queue").addFilter(_NoSlackNews())
    folder = Path(tempfile.mkdtemp(prefix="meetbot-demo-"))
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    meetbot = Meetbot(demo_settings(folder, host, port), slack=False)
    try:
        try:
            await meetbot.start()
        except CannotStart as error:
            print(f"meetbot demo: {_in_demo_words(error, port)}", file=sys.stderr)
            return 2
        link, invitation = await show_sample_meeting(meetbot)
        print(
            f'Meetbot demo: "{TITLE}", as its guest {GUEST.label()} gets it.\n'
            f"  The guest's page:       {link}\n"
            f"  The invitation e-mail:  {invitation}\n"
            "Nothing is sent anywhere. Ctrl-C stops the demo and deletes its folder, "
            f"{folder}.\n"
            'To invite real people from Slack, see README.md, "Create the Slack app".',
            flush=True,
        )
        await stopping.wait()
        return 0
    finally:
        await meetbot.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _in_demo_words(error: CannotStart, port: int) -> str:
    """Say a start-up problem with the demo's own option rather than a variable it ignores."""
    cause = error.__cause__
    if isinstance(cause, OSError) and cause.errno == errno.EADDRINUSE:
        return f"port {port} is taken by another program; choose a free one with --port"
    return str(error)
