"""The scheduler's jobs: plain functions of the services they run, one line of work each."""

from __future__ import annotations

import imaplib
import logging
from datetime import UTC, datetime

from bot.feeds import CalendarFeeds
from bot.mail.imap import ImapPoller
from bot.meetings.service import Meetings
from bot.outbox.worker import Outbox

logger = logging.getLogger(__name__)


async def poll_mailbox(poller: ImapPoller) -> None:
    """Take in replies and bounces waiting in the mailbox."""
    try:
        await poller.poll()
    except (OSError, imaplib.IMAP4.error) as error:
        # The mailbox being away is ordinary weather; the next poll tries again.
        logger.warning("could not poll %s: %s", poller.describe(), error)


async def drain_outbox(outbox: Outbox) -> None:
    """Deliver whatever the outbox owes."""
    await outbox.drain()


async def refresh_calendar_feeds(feeds: CalendarFeeds) -> None:
    """Read the members' connected calendars that are due."""
    await feeds.refresh_due(datetime.now(UTC))


async def queue_due_reminders(meetings: Meetings) -> None:
    """Queue the reminders whose time has come."""
    await meetings.queue_due_reminders(datetime.now(UTC))
