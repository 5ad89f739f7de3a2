"""A guest's answer is confirmed only once it is stored, and stored whole or not at all."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from storage.models import Attendee, OutboxEntry
from tests.conftest import ORGANIZER, SIGNING_SECRET, TEAM_ID
from tests.fakes.slack_api import FakeSlack
from tests.support.flows import send_invitations
from tests.support.mailbox import Mailbox
from tests.support.meetings import answer_link, fetch, wait_for_mails
from tests.support.network import free_port
from tests.support.processes import meetbot_environment, nothing_owed, start_meetbot, wait_until
from tests.support.signed import SlackSender

GUEST = "bob@client.example"


@contextlib.asynccontextmanager
async def writes_held(database_url: str) -> AsyncIterator[None]:
    """Keep Meetbot's answer transaction from committing while the block runs.

    SQLite: another connection holds the write lock, so the batch waits to begin.
    PostgreSQL: the outbox is locked against writes, so the batch has updated the guest's
    row and waits, uncommitted, to queue the organizer's redraws: half-way through.
    """
    if database_url.startswith("sqlite"):
        holder = sqlite3.connect(make_url(database_url).database or "", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("LOCK TABLE outbox IN SHARE MODE"))
            yield
            await connection.rollback()
    finally:
        await engine.dispose()


async def answer_waits_on_a_lock(database_url: str) -> bool:
    """Tell whether a statement of the guest's answer waits for the outbox lock (PostgreSQL)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            waiting = await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND query ILIKE '%outbox%'"
                )
            )
            return bool(waiting)
    finally:
        await engine.dispose()


async def stored(database_url: str) -> tuple[str, str, int]:
    """Return the guest's stored answer and comment, and how many deliveries are queued."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            answer, comment = (
                await connection.execute(
                    select(Attendee.response, Attendee.comment).where(Attendee.email == GUEST)
                )
            ).one()
            queued = await connection.scalar(select(func.count()).select_from(OutboxEntry))
            return answer, comment, int(queued or 0)
    finally:
        await engine.dispose()


async def test_a_guest_is_never_told_recorded_before_it_is_stored(
    database_url: str, slack: FakeSlack, mailbox: Mailbox, tmp_path: Path
) -> None:
    port = free_port()
    env = meetbot_environment(database_url, slack, mailbox, port)
    meetbot = await start_meetbot(env, tmp_path, port, "meetbot")
    try:
        sender = SlackSender(meetbot.url, SIGNING_SECRET, slack, TEAM_ID)
        await send_invitations(sender, slack, ORGANIZER, guests=GUEST, notify=True)
        [invitation] = await wait_for_mails(mailbox, GUEST, 1)
        await wait_until(lambda: nothing_owed(database_url), timeout=15)
        before = await stored(database_url)
        link = answer_link(invitation)

        async with writes_held(database_url):
            press = asyncio.create_task(
                fetch("POST", link, {"answer": "accepted", "comment": "Yes"})
            )
            if database_url.startswith("sqlite"):
                # Nothing outside the process shows a wait for SQLite's lock: give the
                # press time to reach the writer (it cannot finish while we hold the lock).
                await asyncio.sleep(0.5)
            else:
                await wait_until(lambda: answer_waits_on_a_lock(database_url), timeout=10)
            assert not press.done()
            await meetbot.kill()
            # The guest's browser got no page at all: the connection dropped.
            with pytest.raises(aiohttp.ClientError):
                await press
    finally:
        if meetbot.process.returncode is None:
            await meetbot.kill()

    # Nothing half-written: no answer, no comment, no redraw or notice for the organizer.
    assert before[0] == "needs-action"
    assert await stored(database_url) == before
