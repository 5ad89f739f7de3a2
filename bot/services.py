"""The services handlers reach through Bolt's context and the web app."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.after_ack import AfterAck
from bot.availability import Availability
from bot.config import Settings
from bot.feeds import CalendarFeeds
from bot.file_links import FileLinkSigner
from bot.held_forms import HeldForms
from bot.home import HomeTab
from bot.mailboxes import Mailboxes
from bot.meetings.files import MeetingFiles
from bot.meetings.ledger import DeliveryLedger
from bot.meetings.replies import Replies
from bot.meetings.series import SeriesChanges
from bot.meetings.service import Meetings
from bot.meetings.submissions import Submissions
from bot.metrics import Metrics
from bot.outbox.worker import Outbox
from bot.people import People
from bot.preferences import Preferences
from bot.ratelimit import AnswerLimits
from bot.workspaces import Workspaces


@dataclass(frozen=True)
class Services:
    """Everything a handler may call, built once by the composition root."""

    settings: Settings
    meetings: Meetings
    replies: Replies
    files: MeetingFiles
    file_links: FileLinkSigner
    people: People
    outbox: Outbox
    availability: Availability
    feeds: CalendarFeeds
    home: HomeTab
    metrics: Metrics
    answer_limits: AnswerLimits
    preferences: Preferences
    mailboxes: Mailboxes
    held_forms: HeldForms
    submissions: Submissions
    workspaces: Workspaces
    ledger: DeliveryLedger
    series: SeriesChanges
    # Turns for Slack listeners' work after their ack (see bot/after_ack.py).
    after_ack: AfterAck = field(default_factory=AfterAck)
