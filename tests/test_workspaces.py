"""Installing Meetbot into many workspaces through Slack's OAuth flow, and leaving them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import yaml
from sqlalchemy import select

from bot.app import Meetbot
from bot.config import BOT_SCOPES, SettingsError
from bot.settings_reading import load_settings
from bot.workspaces import DISCONNECTED
from storage.models import OutboxEntry
from tests.conftest import ANA, ORGANIZER, SIGNING_SECRET, TEAM_ID, make_settings
from tests.fakes.slack_api import AUTHORIZE_URL, FakeSlack
from tests.support.flows import send_invitations
from tests.support.mailbox import Mailbox
from tests.support.meetings import (
    answer_link,
    eventually,
    fetch,
    summary,
    texts,
    wait_for_mails,
    wait_for_summary,
)
from tests.support.signed import SlackSender

BETA = "T0BETA"
BORIS = "U0BORIS"  # organizes meetings in the other workspace
BEA = "U0BEA"
GUEST = "gina@guest.example"
STATE_COOKIE = "slack-app-oauth-state"


@pytest.fixture
async def two_workspaces(slack: FakeSlack) -> FakeSlack:
    """Give the fake Slack a second workspace, with people of its own."""
    slack.add_workspace(BETA, name="Beta Corp", bot_user_id="U0BETABOT")
    slack.add_user(BORIS, real_name="Boris Beta", email="boris@beta.example", team_id=BETA)
    slack.add_user(BEA, real_name="Bea Beta", email="bea@beta.example", team_id=BETA)
    return slack


async def start_installable(
    database_url: str, slack: FakeSlack, mailbox: Mailbox, port: int, **extra: Any
) -> Meetbot:
    """Start Meetbot with the app's client id and secret and no bot token."""
    settings = make_settings(
        database_url,
        slack,
        mailbox,
        port,
        SLACK_BOT_TOKEN=None,
        SLACK_CLIENT_ID=slack.client_id,
        SLACK_CLIENT_SECRET=slack.client_secret,
        **extra,
    )
    app = Meetbot(settings)
    await app.start()
    return app


@pytest.fixture
async def installable(
    database_url: str, two_workspaces: FakeSlack, mailbox: Mailbox, app_port: int
) -> AsyncIterator[Meetbot]:
    """Run Meetbot in OAuth mode, installed nowhere yet."""
    app = await start_installable(database_url, two_workspaces, mailbox, app_port)
    yield app
    await app.stop()


async def install(app: Meetbot, slack: FakeSlack, team_id: str, user_id: str) -> tuple[int, str]:
    """Install Meetbot as a person does in a browser; return the last page's status and text."""
    base = app.settings.base_url
    async with aiohttp.ClientSession() as browser:
        async with browser.get(f"{base}/slack/install", allow_redirects=False) as started:
            assert started.status == 302, await started.text()
            authorize_url = started.headers["Location"]
            cookie = started.cookies[STATE_COOKIE].value
        state = parse_qs(urlsplit(authorize_url).query)["state"][0]
        code = slack.approve_install(authorize_url, team_id=team_id, user_id=user_id)
        # Browsers send the state cookie back over https; the test hands it over itself.
        async with browser.get(
            f"{base}/slack/oauth_redirect",
            params={"code": code, "state": state},
            headers={"Cookie": f"{STATE_COOKIE}={cookie}"},
        ) as finished:
            return finished.status, await finished.text()


def sender_for(app: Meetbot, slack: FakeSlack, team_id: str) -> SlackSender:
    """Return a sender of signed requests from one workspace."""
    return SlackSender(app.settings.base_url, SIGNING_SECRET, slack, team_id)


async def outbox_rows(app: Meetbot, team_id: str) -> list[OutboxEntry]:
    """Return a workspace's deliveries as stored."""
    async with app.sessions() as session:
        rows = await session.scalars(
            select(OutboxEntry).where(OutboxEntry.team_id == team_id).order_by(OutboxEntry.id)
        )
        return list(rows)


async def rows_when(
    app: Meetbot, condition: Callable[[list[OutboxEntry]], bool]
) -> list[OutboxEntry]:
    """Wait (up to ten seconds) until Acme's stored deliveries meet a condition; return them."""
    rows: list[OutboxEntry] = []
    try:
        async with asyncio.timeout(10):
            # The database has no event to wait on; look again shortly.
            while not condition(rows := await outbox_rows(app, TEAM_ID)):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    except TimeoutError:
        states = [(r.kind, r.state) for r in rows]
        raise AssertionError(f"deliveries never got there: {states}") from None
    return rows


async def test_a_workspace_installs_and_its_members_meet_with_its_own_token(
    installable: Meetbot, slack: FakeSlack
) -> None:
    async with (
        aiohttp.ClientSession() as browser,
        browser.get(
            f"{installable.settings.base_url}/slack/install", allow_redirects=False
        ) as started,
    ):
        authorize_url = started.headers["Location"]
    query = parse_qs(urlsplit(authorize_url).query)
    assert authorize_url.startswith(AUTHORIZE_URL + "?")
    assert query["client_id"] == [slack.client_id]
    assert set(query["scope"][0].split(",")) == set(BOT_SCOPES)
    assert query["redirect_uri"] == [f"{installable.settings.base_url}/slack/oauth_redirect"]

    status, page = await install(installable, slack, BETA, BORIS)

    assert status == 200
    assert "Meetbot is installed in Beta Corp" in page
    [token] = slack.tokens_of(BETA)
    assert installable.installations is not None
    stored = await installable.installations.async_find_installation(
        enterprise_id=None, team_id=BETA
    )
    assert stored is not None and stored.bot_token == token and stored.user_id == BORIS

    beta = sender_for(installable, slack, BETA)
    await send_invitations(beta, slack, BORIS, title="Beta planning", members=[BEA])
    invitation = await slack.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] == slack.dm_channel(BEA)
    )
    assert "Beta planning" in invitation.args["text"]
    assert invitation.token == token
    assert {c.token for c in slack.calls if c.method == "views.open"} == {token}
    assert slack.rejected() == []


async def test_an_install_not_started_in_this_browser_or_cancelled_gets_a_clear_page(
    installable: Meetbot, slack: FakeSlack
) -> None:
    base = installable.settings.base_url
    async with aiohttp.ClientSession() as browser:
        async with browser.get(f"{base}/slack/install", allow_redirects=False) as started:
            authorize_url = started.headers["Location"]
        state = parse_qs(urlsplit(authorize_url).query)["state"][0]
        code = slack.approve_install(authorize_url, team_id=BETA, user_id=BORIS)
        async with browser.get(
            f"{base}/slack/oauth_redirect", params={"code": code, "state": state}
        ) as foreign:
            foreign_page = await foreign.text()
            assert foreign.status == 400
        async with browser.get(
            f"{base}/slack/oauth_redirect", params={"error": "access_denied", "state": state}
        ) as cancelled:
            cancelled_page = await cancelled.text()
        # A browser asking for Polish reads the page in Polish.
        async with browser.get(
            f"{base}/slack/oauth_redirect",
            params={"error": "access_denied", "state": state},
            headers={"Accept-Language": "pl-PL,pl;q=0.9,en;q=0.5"},
        ) as in_polish:
            polish_page = await in_polish.text()

    assert "Meetbot was not installed" in foreign_page
    assert "This browser did not start the installation" in foreign_page
    assert "Traceback" not in foreign_page
    assert "You cancelled the installation" in cancelled_page
    assert 'href="/slack/install"' in cancelled_page
    assert '<html lang="pl">' in polish_page
    assert "Meetbot nie został zainstalowany" in polish_page
    assert "Instalacja została anulowana na stronie Slacka." in polish_page
    assert slack.tokens_of(BETA) == []
    assert installable.installations is not None
    assert (
        await installable.installations.async_find_installation(enterprise_id=None, team_id=BETA)
        is None
    )


async def test_two_workspaces_never_see_or_change_each_others_meetings(
    installable: Meetbot, slack: FakeSlack, mailbox: Mailbox
) -> None:
    assert (await install(installable, slack, TEAM_ID, ORGANIZER))[0] == 200
    assert (await install(installable, slack, BETA, BORIS))[0] == 200
    acme = sender_for(installable, slack, TEAM_ID)
    beta = sender_for(installable, slack, BETA)
    await send_invitations(acme, slack, ORGANIZER, title="Acme secret roadmap", members=[ANA])
    acme_summary = await wait_for_summary(slack)
    await slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == slack.dm_channel(ANA))
    opened_before = len(slack.calls_to("views.open"))

    # Boris replays Acme's buttons from his own workspace, with Acme's meeting id in them.
    await beta.click(BORIS, acme_summary, slack.dm_channel(BORIS), "edit_meeting")
    await beta.click(BORIS, acme_summary, slack.dm_channel(BORIS), "cancel_meeting")
    ana_dm = slack.messages(slack.dm_channel(ANA))[0]
    await beta.click(BORIS, ana_dm, slack.dm_channel(BORIS), "answer_declined")
    await beta.command(BORIS, "list")
    await beta.open_home(BORIS)
    home = await slack.wait_for("views.publish", lambda c: c.args["user_id"] == BORIS)
    await eventually(lambda: len(slack.responses) >= 4)

    assert len(slack.calls_to("views.open")) == opened_before
    assert "Acme secret roadmap" not in str(slack.responses)
    assert "Acme secret roadmap" not in str(home.args["view"])
    assert home.token == slack.tokens_of(BETA)[0]
    shown = texts(summary(slack))
    assert "declined" not in shown.replace("0 declined", "") and "Cancelled" not in shown
    # Acme's people do not exist for Beta's token, whatever a payload names.
    assert all(c.token != slack.tokens_of(BETA)[0] for c in slack.calls if ANA in str(c.args))


async def test_a_guest_answering_at_night_reaches_the_organizer_through_a_refreshed_token(
    database_url: str, two_workspaces: FakeSlack, mailbox: Mailbox, app_port: int
) -> None:
    slack = two_workspaces
    slack.token_rotation = True
    slack.token_lifetime_seconds = 3
    app = await start_installable(
        database_url, slack, mailbox, app_port, MEETBOT_TOKEN_REFRESH_MINUTES=0
    )
    try:
        await install(app, slack, TEAM_ID, ORGANIZER)
        [first_token] = slack.tokens_of(TEAM_ID)
        acme = sender_for(app, slack, TEAM_ID)
        await send_invitations(acme, slack, ORGANIZER, title="Night review", guests=GUEST)
        [invitation] = await wait_for_mails(mailbox, GUEST, 1)
        await wait_for_summary(slack)

        await eventually(lambda: slack.token_expired(first_token), timeout=10)
        status, page = await fetch("POST", answer_link(invitation), {"answer": "accepted"})

        assert status == 200 and "You accepted" in page
        notice = await slack.wait_for(
            "chat.postMessage",
            lambda c: (
                c.args["channel"] == slack.dm_channel(ORGANIZER)
                and "accepted" in c.args.get("text", "")
            ),
            timeout=10,
        )
        assert notice.token != first_token and notice.token in slack.tokens_of(TEAM_ID)
        refreshes = [c for c in slack.calls_to("oauth.v2.access") if c.args.get("grant_type")]
        assert refreshes and all(c.args["grant_type"] == "refresh_token" for c in refreshes)
        assert [error for _, error in slack.rejected()] == []
        assert app.installations is not None
        stored = await app.installations.async_find_installation(
            enterprise_id=None, team_id=TEAM_ID
        )
        assert stored is not None and stored.bot_token == notice.token
    finally:
        await app.stop()


async def test_uninstalling_deletes_the_tokens_and_stops_the_workspaces_deliveries(
    installable: Meetbot, slack: FakeSlack, mailbox: Mailbox
) -> None:
    await install(installable, slack, TEAM_ID, ORGANIZER)
    acme = sender_for(installable, slack, TEAM_ID)
    # Slack is down for DMs (however slow this machine is, retries keep failing), so they
    # still wait for a retry when the workspace leaves.
    for _ in range(20):
        slack.fail_next("conversations.open")
    await send_invitations(acme, slack, ORGANIZER, members=[ANA], guests=GUEST, notify=True)
    [invitation] = await wait_for_mails(mailbox, GUEST, 1)
    await eventually(lambda: len(slack.rejected()) >= 2)
    # The guest's invitation went out and is recorded so; only Slack's deliveries still wait.
    await rows_when(
        installable,
        lambda rows: any(r.kind == "guest_invitation" and r.state == "sent" for r in rows),
    )

    slack.uninstall(TEAM_ID)
    response = await acme.event({"type": "app_uninstalled"})
    assert response.status == 200

    rows = await rows_when(installable, lambda rows: all(r.state != "pending" for r in rows))
    dropped = [row for row in rows if row.last_error == DISCONNECTED]
    assert {row.kind for row in dropped} >= {"organizer_summary", "member_invitation"}
    assert all(row.state == "failed" for row in dropped)
    assert installable.installations is not None
    assert (
        await installable.installations.async_find_installation(enterprise_id=None, team_id=TEAM_ID)
        is None
    )

    # The guest's page keeps working; telling the organizer is given up at once.
    calls_before = len(slack.calls)
    status, page = await fetch("POST", answer_link(invitation), {"answer": "declined"})
    assert status == 200 and "You declined" in page
    # The notice and the summary's redraw the answer queued are all given up, none left waiting.
    rows = await rows_when(
        installable,
        lambda rows: (
            any(r.kind == "decision_notice" for r in rows)
            and all(r.state != "pending" for r in rows)
        ),
    )
    [notice] = [row for row in rows if row.kind == "decision_notice"]
    assert notice.state == "failed" and notice.attempts == 1
    assert notice.last_error is not None and "WorkspaceNotInstalled" in notice.last_error
    assert len(slack.calls) == calls_before  # nothing was tried with the revoked token


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID"),
        ({"SLACK_SIGNING_SECRET": "s", "SLACK_CLIENT_ID": "1.2"}, "SLACK_CLIENT_SECRET"),
        ({"SLACK_SIGNING_SECRET": "s", "SLACK_CLIENT_SECRET": "abcdef0123456"}, "SLACK_CLIENT_ID"),
        (
            {
                "SLACK_SIGNING_SECRET": "s",
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_CLIENT_ID": "1.2",
                "SLACK_CLIENT_SECRET": "abcdef0123456",
            },
            "not both",
        ),
        (
            {
                "SLACK_SIGNING_SECRET": "s",
                "SLACK_CLIENT_ID": "1.2",
                "SLACK_CLIENT_SECRET": "secret",
            },
            "SLACK_CLIENT_SECRET",
        ),
    ],
)
def test_settings_say_which_slack_credentials_are_missing(
    environment: dict[str, str], named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError, match=re.escape(named)):
        load_settings()


def test_workspaces_are_asked_for_the_scopes_the_manifest_lists() -> None:
    manifest = yaml.safe_load((Path(__file__).parent.parent / "manifest.yml").read_text())

    assert tuple(manifest["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES
    assert {"app_uninstalled", "tokens_revoked"} <= set(
        manifest["settings"]["event_subscriptions"]["bot_events"]
    )


async def test_a_reminder_falling_due_after_the_uninstall_is_not_sent(
    installable: Meetbot, slack: FakeSlack, mailbox: Mailbox
) -> None:
    await install(installable, slack, TEAM_ID, ORGANIZER)
    acme = sender_for(installable, slack, TEAM_ID)
    # The five-minute reminder of a meeting starting in five minutes and three seconds.
    start = datetime.now(UTC) + timedelta(minutes=5, seconds=3)
    await send_invitations(
        acme, slack, ORGANIZER, start=start, reminder="5", remind_guests=True, guests=GUEST
    )
    await wait_for_mails(mailbox, GUEST, 1)

    slack.uninstall(TEAM_ID)
    assert (await acme.event({"type": "app_uninstalled"})).status == 200

    rows = await rows_when(
        installable,
        lambda rows: any(r.kind == "guest_reminder" and r.state != "pending" for r in rows),
    )
    [reminder] = [row for row in rows if row.kind == "guest_reminder"]
    assert reminder.state == "failed"
    assert reminder.last_error is not None and "WorkspaceNotInstalled" in reminder.last_error
    assert len(mailbox.to(GUEST)) == 1  # the invitation only
