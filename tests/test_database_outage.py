"""PostgreSQL unreachable for a while in the middle of a fan-out to a few hundred guests.

Gone (connections refused and reset) or silent (nothing answers): every guest gets the
invitation once the database is back, no one more than one extra copy, and when it is
back within the outbox lease, no one a second copy at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import make_url

from bot.app import Meetbot
from bot.outbox.queue import MARK_EVERY
from bot.outbox.worker import MAILS_IN_FLIGHT
from tests.conftest import ORGANIZER, POSTGRES_URL, SIGNING_SECRET, TEAM_ID, make_settings
from tests.fakes.slack_api import FakeSlack
from tests.support.flows import send_invitations
from tests.support.mailbox import Mailbox
from tests.support.processes import nothing_owed, wait_until
from tests.support.signed import SlackSender
from tests.support.tcp_proxy import TcpProxy
from tests.test_crash_safety import message_ids_by_recipient

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="MEETBOT_TEST_POSTGRES_URL is not set")

GUESTS = sorted(f"guest{n:03}@client.example" for n in range(300))
# Sent once the database is gone: the few in flight, and those that finished in the
# milliseconds before a write of their marks failed and the sender heard of it.
AT_MOST_AFTER_THE_CUT = MARK_EVERY + 2 * MAILS_IN_FLIGHT


@pytest.fixture
async def proxy(database_url: str) -> AsyncIterator[TcpProxy]:
    """Put a proxy the test can cut between Meetbot and PostgreSQL."""
    target = make_url(database_url)
    started = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await started.start()
    yield started
    await started.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    ("outage", "outage_seconds", "lease_seconds"),
    [
        pytest.param("gone", 4.0, 30, id="gone-back-within-the-lease"),
        pytest.param("gone", 7.0, 3, id="gone-longer-than-the-lease"),
        pytest.param("silent", 4.0, 30, id="silent-back-within-the-lease"),
    ],
)
async def test_a_database_outage_mid_fan_out_costs_each_guest_at_most_one_extra_copy(
    database_url: str,
    proxy: TcpProxy,
    outage: str,
    outage_seconds: float,
    lease_seconds: int,
    slack: FakeSlack,
    mailbox: Mailbox,
    app_port: int,
) -> None:
    through_proxy = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
    app = Meetbot(
        make_settings(
            through_proxy.render_as_string(hide_password=False),
            slack,
            mailbox,
            app_port,
            MEETBOT_OUTBOX_LEASE_SECONDS=lease_seconds,
        )
    )
    # A server taking 20 ms a message, as real ones under load do: the fan-out then lasts
    # long enough (over a second) for the outage to come in its middle, however fast
    # Meetbot builds and sends the messages.
    mailbox.take_each_message(0.02)
    await app.start()
    try:
        sender = SlackSender(app.settings.base_url, SIGNING_SECRET, slack, TEAM_ID)
        await send_invitations(sender, slack, ORGANIZER, guests="\n".join(GUESTS))
        await mailbox.wait_for(40, timeout=60)
        # Gone: connections refused and reset. Silent: nothing answers, nothing fails.
        await proxy.cut() if outage == "gone" else proxy.freeze()
        at_the_cut = len(mailbox.received)
        await asyncio.sleep(outage_seconds)
        during_the_outage = len(mailbox.received) - at_the_cut
        await proxy.restore() if outage == "gone" else proxy.thaw()
        await wait_until(lambda: nothing_owed(database_url), timeout=60 + lease_seconds)
    finally:
        await app.stop()

    copies = message_ids_by_recipient(mailbox)
    assert sorted(copies) == GUESTS  # everyone got the invitation in the end
    assert at_the_cut < len(GUESTS) - AT_MOST_AFTER_THE_CUT  # the cut came mid-fan-out
    # Sending stopped as soon as a delivery could not be recorded; with a silent database,
    # once marks had waited MARK_STALLED_SECONDS (a second: far from the whole rest).
    if outage == "gone":
        assert during_the_outage <= AT_MOST_AFTER_THE_CUT
    else:
        assert during_the_outage < len(GUESTS) - at_the_cut - AT_MOST_AFTER_THE_CUT
    doubled = sorted(guest for guest, ids in copies.items() if len(ids) > 1)
    assert all(len(ids) <= 2 for ids in copies.values()), doubled
    # A second copy is the same message again (mail programs show it once).
    assert all(len(set(ids)) == 1 for ids in copies.values())
    if outage_seconds < lease_seconds:
        assert doubled == []  # the marks that failed were written once it was back
    else:
        assert len(doubled) <= AT_MOST_AFTER_THE_CUT
