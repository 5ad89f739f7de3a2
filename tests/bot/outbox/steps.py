"""Steps the outbox tests share: a meeting that owes deliveries, the outbox as stored, waiting."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select, update

from bot.app import Meetbot
from bot.clock import utc_now
from bot.drafts import MeetingDraft
from bot.guests import Guest
from bot.meetings.model import Meeting, Organizer
from bot.outbox.worker import Outbox
from bot.services import Services
from storage.models import Attendee, OutboxEntry
from tests.conftest import ORGANIZER, TEAM_ID
from tests.fakes.slack_api import FakeSlack
from tests.support.flows import in_days

OLGA = Organizer(ORGANIZER, "Olga Organizer", "olga@acme.example", "Europe/Warsaw")


def services(app: Meetbot) -> Services:
    """Return the running app's services."""
    assert app.services is not None
    return app.services


def outbox(app: Meetbot) -> Outbox:
    """Return the running app's outbox."""
    return services(app).outbox


def draft(
    *,
    title: str = "Design review",
    days: int = 2,
    members: Sequence[str] = (),
    guests: Sequence[str] = (),
) -> MeetingDraft:
    """Return a checked form for a 45-minute meeting some days ahead."""
    start = in_days(days)
    return MeetingDraft(
        title=title,
        start=start,
        end=start + timedelta(minutes=45),
        location="Room 4",
        member_ids=tuple(members),
        guests=tuple(Guest(address) for address in guests),
    )


async def new_meeting(
    app: Meetbot, *, members: Sequence[str] = (), guests: Sequence[str] = ()
) -> Meeting:
    """Have Olga create a meeting, which queues everything it owes people."""
    return await services(app).meetings.create(TEAM_ID, OLGA, draft(members=members, guests=guests))


async def outbox_rows(app: Meetbot) -> list[OutboxEntry]:
    """Return every outbox entry as stored, oldest first."""
    async with app.sessions() as session:
        return list(await session.scalars(select(OutboxEntry).order_by(OutboxEntry.id)))


async def rows_of(app: Meetbot, kind: str) -> list[OutboxEntry]:
    """Return the outbox entries of one kind, oldest first."""
    return [row for row in await outbox_rows(app) if row.kind == kind]


async def attendee_id(app: Meetbot, meeting: Meeting, address_or_user: str) -> int:
    """Return the attendee id of a member (by Slack id) or a guest (by address)."""
    async with app.sessions() as session:
        found = await session.scalar(
            select(Attendee.id).where(
                Attendee.event_id == meeting.id,
                (Attendee.slack_user_id == address_or_user)
                | (Attendee.email_key == address_or_user.lower()),
            )
        )
    assert found is not None
    return found


async def time_passes(app: Meetbot) -> None:
    """Bring every owed entry due now: retry delays and leases have run out."""
    async with app.sessions.begin() as session:
        await session.execute(
            update(OutboxEntry).where(OutboxEntry.state == "pending").values(available_at=utc_now())
        )


def posts_in_dm(slack: FakeSlack, user_id: str) -> int:
    """Return how many times Slack was asked to post a new message in someone's DM."""
    channel = slack.dm_channel(user_id)
    return sum(1 for call in slack.calls_to("chat.postMessage") if call.args["channel"] == channel)


def updates_in_dm(slack: FakeSlack, user_id: str) -> int:
    """Return how many times Slack was asked to redraw a message in someone's DM."""
    channel = slack.dm_channel(user_id)
    return sum(1 for call in slack.calls_to("chat.update") if call.args["channel"] == channel)
