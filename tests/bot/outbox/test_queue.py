"""Leasing the outbox: each entry taken by one process, handed back, retried or given up."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import aiosmtplib
import pytest
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import utc_now
from bot.deliveries import FeedFailure, HomeRefresh, enqueue
from bot.metrics import Metrics
from bot.outbox.queue import (
    BATCH_SIZE,
    LEASE,
    MARK_EVERY,
    OutboxQueue,
    PermanentFailure,
    describe_failure,
    is_permanent,
    retry_delay,
)
from bot.slack_clients import DISCONNECTED, WorkspaceNotInstalled
from storage.database import create_engine, create_session_factory
from storage.models import OutboxEntry
from tests.conftest import ANA, BEN, TEAM_ID

Sessions = async_sessionmaker[AsyncSession]


def queue_of(sessions: Sessions, lease: timedelta = LEASE) -> OutboxQueue:
    """Return an outbox queue as the app builds it: one per process."""
    return OutboxQueue(sessions, Metrics(), lease)


async def owe_feed_notices(sessions: Sessions, count: int) -> None:
    """Queue notices to members that their calendar feed could not be read."""
    async with sessions.begin() as session:
        for n in range(count):
            enqueue(session, TEAM_ID, FeedFailure(None, user_id=f"U{n:05d}", reason="404"))


async def owe_home_refresh(sessions: Sessions, user_id: str) -> None:
    """Queue a redraw of someone's Home tab."""
    async with sessions.begin() as session:
        enqueue(session, TEAM_ID, HomeRefresh(None, user_id=user_id))


async def stored(sessions: Sessions) -> list[OutboxEntry]:
    """Return every outbox entry as stored, oldest first."""
    async with sessions() as session:
        return list(await session.scalars(select(OutboxEntry).order_by(OutboxEntry.id)))


async def test_two_processes_claiming_at_once_never_take_the_same_entry(
    database_url: str, sessions: Sessions
) -> None:
    owed = BATCH_SIZE + 50
    await owe_feed_notices(sessions, owed)
    other_process = create_engine(database_url)
    try:
        first, second = await asyncio.gather(
            queue_of(sessions).claim_batch(),
            queue_of(create_session_factory(other_process)).claim_batch(),
        )
    finally:
        await other_process.dispose()

    first_ids = {entry.id for entry in first.entries}
    second_ids = {entry.id for entry in second.entries}
    assert first_ids.isdisjoint(second_ids)
    assert len(first_ids | second_ids) == owed
    assert [row.claims for row in await stored(sessions)] == [1] * owed
    # Leased is not delivered: everything is still owed, and hidden from a third claimer.
    assert (await queue_of(sessions).claim_batch()).entries == []
    assert await queue_of(sessions).pending_count() == owed


async def test_entries_handed_back_are_due_at_once_and_not_taken_for_a_crash(
    sessions: Sessions,
) -> None:
    await owe_feed_notices(sessions, 4)
    queue = queue_of(sessions)
    batch = await queue.claim_batch()

    await queue.release(batch.entries[2:], batch.lease_until)

    again = await queue_of(sessions).claim_batch()
    assert [entry.id for entry in again.entries] == [entry.id for entry in batch.entries[2:]]
    # The release took its claim back: nobody will look in Slack for a post never begun.
    assert [entry.maybe_posted for entry in again.entries] == [False, False]


async def test_a_lease_that_runs_out_hands_the_entry_on_as_perhaps_posted(
    sessions: Sessions,
) -> None:
    await owe_feed_notices(sessions, 1)
    # Long enough for the next claim to come within it on a loaded machine.
    dying = queue_of(sessions, lease=timedelta(seconds=1.5))
    taken = await dying.claim_batch()
    assert [entry.maybe_posted for entry in taken.entries] == [False]
    assert (await queue_of(sessions).claim_batch()).entries == []  # hidden while leased

    await asyncio.sleep((taken.lease_until - utc_now()).total_seconds() + 0.1)
    successor = await queue_of(sessions).claim_batch()

    assert [entry.id for entry in successor.entries] == [entry.id for entry in taken.entries]
    # Its first lease ended with no outcome: Slack may show the post already.
    assert [entry.maybe_posted for entry in successor.entries] == [True]
    # The first holder, too late, hands it back: that must not take it from the successor.
    await dying.release(taken.entries, taken.lease_until)
    assert (await queue_of(sessions).claim_batch()).entries == []
    [row] = await stored(sessions)
    assert row.claims == 2


async def test_an_older_redraw_is_skipped_unless_it_was_cut_off_mid_post(
    sessions: Sessions,
) -> None:
    for user_id in (ANA, ANA, BEN, ANA):
        await owe_home_refresh(sessions, user_id)
    batch = await queue_of(sessions).claim_batch()
    ana_1, ana_2, ben, ana_3 = (entry.id for entry in batch.entries)
    assert batch.superseded == {ana_1, ana_2}

    # One redraw cut off mid-post, then a newer one: the older looks for its post in Slack.
    marks = queue_of(sessions).marks()
    for entry_id in (ana_1, ana_2, ben, ana_3):
        await marks.add(entry_id, "sent")
    await marks.flush()
    await owe_home_refresh(sessions, BEN)
    dying = queue_of(sessions, lease=timedelta(milliseconds=300))
    [cut_off] = (await dying.claim_batch()).entries
    await asyncio.sleep(0.4)
    await owe_home_refresh(sessions, BEN)

    batch = await queue_of(sessions).claim_batch()

    older, newer = batch.entries
    assert (older.id, older.maybe_posted) == (cut_off.id, True)
    assert newer.redraw_key == older.redraw_key
    assert batch.superseded == set()


async def test_deliveries_are_recorded_together_within_moments(sessions: Sessions) -> None:
    await owe_feed_notices(sessions, MARK_EVERY + 1)
    queue = queue_of(sessions)
    *together, last = (await queue.claim_batch()).entries
    marks = queue.marks()

    for entry in together:
        await marks.add(entry.id, "sent")

    # The write runs beside the sending (the send that filled it does not wait), so look
    # until it lands; a crash meanwhile resends at most these few.
    for _ in range(100):
        rows = await stored(sessions)
        if rows[0].state != "pending":
            break
        await asyncio.sleep(0.02)
    assert [row.state for row in rows] == ["sent"] * MARK_EVERY + ["pending"]
    assert all(row.attempts == 1 and row.sent_at is not None for row in rows[:MARK_EVERY])

    # A lone outcome is written soon too, with no flush: a crash then resends none of it.
    await marks.add(last.id, "superseded")
    for _ in range(100):
        if (await stored(sessions))[-1].state != "pending":
            break
        await asyncio.sleep(0.02)
    assert (await stored(sessions))[-1].state == "superseded"
    await marks.flush()
    assert await queue.pending_count() == 0


def test_a_retry_waits_double_the_last_from_seconds_to_ten_minutes() -> None:
    waits = [retry_delay(attempts).total_seconds() for attempts in range(1, 11)]
    assert waits == [5, 10, 20, 40, 80, 160, 320, 600, 600, 600]


def refused(*replies: tuple[int, str]) -> aiosmtplib.SMTPRecipientsRefused:
    """Return the error aiosmtplib raises when the server refuses every recipient."""
    return aiosmtplib.SMTPRecipientsRefused(
        [
            aiosmtplib.SMTPRecipientRefused(code, text, "ivy@nowhere.example")
            for code, text in replies
        ]
    )


def slack_refused(error: str) -> SlackApiError:
    """Return the error Slack's client raises for an `ok: false` answer."""
    return SlackApiError(  # type: ignore[no-untyped-call]
        f"The request to the Slack API failed: {error}", {"ok": False, "error": error}
    )


@pytest.mark.parametrize(
    ("error", "permanent", "organizer_reads"),
    [
        (refused((550, "5.1.1 User unknown")), True, "550 5.1.1 User unknown"),
        (refused((451, "4.3.0 Try again later")), False, "451 4.3.0 Try again later"),
        (
            refused((550, "5.1.1 User unknown"), (451, "4.3.0 Later")),
            False,
            "550 5.1.1 User unknown",
        ),
        (aiosmtplib.SMTPDataError(554, "5.7.1 Rejected"), True, "554 5.7.1 Rejected"),
        (aiosmtplib.SMTPDataError(452, "4.3.1 Out of space"), False, "452 4.3.1 Out of space"),
        (
            aiosmtplib.SMTPConnectError("Connection refused"),
            False,
            "the mail server could not be reached for two days",
        ),
        (slack_refused("channel_not_found"), True, "Slack answered channel_not_found"),
        (slack_refused("user_disabled"), True, "Slack answered user_disabled"),
        (slack_refused("token_revoked"), True, "Slack answered token_revoked"),
        (slack_refused("ratelimited"), False, "Slack answered ratelimited"),
        (slack_refused("internal_error"), False, "Slack answered internal_error"),
        (WorkspaceNotInstalled(TEAM_ID), True, DISCONNECTED),
        (
            PermanentFailure("unreadable guest_invitation entry"),
            True,
            "unreadable guest_invitation entry",
        ),
    ],
)
def test_only_failures_no_retry_can_mend_are_given_up_at_once(
    error: Exception, permanent: bool, organizer_reads: str
) -> None:
    assert is_permanent(error) is permanent
    assert describe_failure(error) == organizer_reads
