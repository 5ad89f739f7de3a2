"""Secrets at rest: a copy of the database alone opens no workspace, calendar or guest link.

Meetbot is installed into a workspace through Slack's OAuth flow, a member connects her
calendar and a guest is invited; then the database is read as a thief would (the SQLite
file's bytes, or every PostgreSQL row as text) and nothing secret may be found in it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import Meetbot
from bot.sealing import Sealer
from bot.startup import CannotStart
from bot.tokens import TokenMinter, hash_token
from tests.conftest import ANA, ORGANIZER, SECRET_KEY, SIGNING_SECRET, TEAM_ID, make_settings
from tests.fakes.slack_api import FakeSlack
from tests.mail.conftest import certificate as certificate  # the fixtures
from tests.mail.conftest import servers as servers
from tests.mail.servers import Certificate, Servers
from tests.support.flows import send_invitations
from tests.support.mailbox import Mailbox
from tests.support.meetings import (
    answer_link,
    eventually,
    fetch,
    open_form_from,
    summary,
    wait_for_mails,
    wait_for_summary,
)
from tests.support.network import free_port
from tests.support.signed import SlackSender
from tests.test_calendar_feeds import CalendarServer, connect, wait_until_read
from tests.test_calendar_feeds import calendar_server as calendar_server  # the fixture
from tests.test_workspaces import install, sender_for, start_installable

GUEST = "gina@guest.example"
OTHER_KEY = "another-key-0123456789abcdef-0123456789abcdef"


async def database_text(database_url: str) -> str:
    """Return everything the database holds, as someone with a copy of it could read it."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        main = Path(url.database)
        files = sorted(main.parent.glob(main.name + "*"))  # with any -wal or -journal beside it
        return "".join(file.read_bytes().decode("latin-1") for file in files)
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            tables = await connection.scalars(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
            rows = []
            for table in list(tables):
                every_row = f'SELECT CAST(t AS text) FROM "{table}" t'  # noqa: S608 - our tables
                found = await connection.scalars(text(every_row))
                rows += list(found)
        return "\n".join(rows)
    finally:
        await engine.dispose()


async def execute(database_url: str, statement: str, **values: Any) -> None:
    """Change the database behind Meetbot's back, as an earlier version had left it."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(statement), values)
    finally:
        await engine.dispose()


@pytest.fixture
def rotating_slack(slack: FakeSlack) -> FakeSlack:
    """Slack with token rotation on: installs hand out a refresh token as well."""
    slack.token_rotation = True
    slack.token_lifetime_seconds = 12 * 3600  # beyond the refresh window: none is refreshed
    return slack


async def test_a_copy_of_the_database_reveals_no_token_calendar_or_guest_link(
    database_url: str,
    rotating_slack: FakeSlack,
    mailbox: Mailbox,
    app_port: int,
    calendar_server: CalendarServer,
) -> None:
    slack = rotating_slack
    options = {"MEETBOT_FEEDS_ALLOW_PRIVATE": True}
    app = await start_installable(database_url, slack, mailbox, app_port, **options)
    try:
        await install(app, slack, TEAM_ID, ORGANIZER)
        acme = sender_for(app, slack, TEAM_ID)
        assert await connect(acme, slack, calendar_server.url) == {}
        await wait_until_read(app)
        await send_invitations(acme, slack, ORGANIZER, title="Sealed review", guests=GUEST)
        [invitation] = await wait_for_mails(mailbox, GUEST, 1)
        link = answer_link(invitation)
        assert app.installations is not None
        installed = await app.installations.async_find_installation(
            enterprise_id=None, team_id=TEAM_ID
        )
        assert installed is not None and installed.bot_refresh_token
    finally:
        await app.stop()

    stored = await database_text(database_url)
    [token] = slack.tokens_of(TEAM_ID)
    secrets = {
        "bot token": token,
        "refresh token": installed.bot_refresh_token,
        "calendar address": calendar_server.url,
        "calendar's secret part": "private-abc123",
        "guest link": link.rsplit("/", 1)[-1],
        "master key": SECRET_KEY,
        "guest-link key": Sealer(SECRET_KEY).link_key,
    }
    assert "Sealed review" in stored  # the copy is readable; what is secret is not
    assert [name for name, secret in secrets.items() if secret in stored] == []

    again = await start_installable(database_url, slack, mailbox, app_port, **options)
    try:
        status, page = await fetch("POST", link, {"answer": "accepted"})
        assert status == 200 and "You accepted" in page
        notice = await slack.wait_for(
            "chat.postMessage",
            lambda c: c.args["channel"] == slack.dm_channel(ORGANIZER) and c.token == token,
        )
        assert notice.token == token  # the workspace's token, opened after the restart
        assert again.services is not None
        feed = await again.services.feeds.status(TEAM_ID, ANA)
        assert feed is not None and feed.host == "127.0.0.1"
    finally:
        await again.stop()


async def test_a_wrong_key_stops_meetbot_at_start_naming_the_setting(
    database_url: str, slack: FakeSlack, mailbox: Mailbox, app_port: int
) -> None:
    first = Meetbot(make_settings(database_url, slack, mailbox, app_port))
    await first.start()
    await first.stop()

    wrong = Meetbot(
        make_settings(database_url, slack, mailbox, app_port, MEETBOT_SECRET_KEY=OTHER_KEY)
    )
    try:
        with pytest.raises(CannotStart, match=r"^MEETBOT_SECRET_KEY is not the key this database"):
            await wrong.start()
    finally:
        await wrong.stop()


async def test_over_http_meetbot_does_not_start_without_a_secret_key(
    tmp_path: Path, slack: FakeSlack, mailbox: Mailbox, app_port: int
) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'meetbot.db'}"
    app = Meetbot(make_settings(database, slack, mailbox, app_port, MEETBOT_SECRET_KEY=None))
    try:
        with pytest.raises(CannotStart, match=r"^MEETBOT_SECRET_KEY is required when Meetbot"):
            await app.start()
    finally:
        await app.stop()
    assert not (tmp_path / "meetbot-secret.key").exists()


async def test_in_socket_mode_a_key_is_generated_into_a_private_file_and_said_so(
    tmp_path: Path,
    slack: FakeSlack,
    mailbox: Mailbox,
    app_port: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'meetbot.db'}"
    settings = make_settings(
        database,
        slack,
        mailbox,
        app_port,
        SLACK_APP_TOKEN=slack.app_token,
        MEETBOT_SECRET_KEY=None,
    )
    key_file = tmp_path / "meetbot-secret.key"
    caplog.set_level(logging.INFO, logger="bot.secret_key")
    app = Meetbot(settings)
    await app.start()
    await app.stop()

    assert key_file.stat().st_mode & 0o777 == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 32
    [said] = [r.getMessage() for r in caplog.records if r.name == "bot.secret_key"]
    assert said.startswith(f"generated a secret key into {key_file}")
    assert key not in (tmp_path / "meetbot.db").read_bytes().decode("latin-1")

    caplog.clear()
    again = Meetbot(settings)
    await again.start()
    await again.stop()
    assert key_file.read_text().strip() == key
    [said] = [r.getMessage() for r in caplog.records if r.name == "bot.secret_key"]
    assert said == f"secrets in the database are sealed with the key in {key_file}"

    key_file.chmod(0o644)
    shown = Meetbot(settings)
    try:
        with pytest.raises(CannotStart, match=r"^MEETBOT_SECRET_KEY_FILE: .* run `chmod 600 "):
            await shown.start()
    finally:
        await shown.stop()


async def test_an_upgrade_seals_what_earlier_versions_stored_and_old_links_keep_working(
    database_url: str,
    rotating_slack: FakeSlack,
    mailbox: Mailbox,
    app_port: int,
    calendar_server: CalendarServer,
) -> None:
    slack = rotating_slack
    options = {"MEETBOT_FEEDS_ALLOW_PRIVATE": True}
    app = await start_installable(database_url, slack, mailbox, app_port, **options)
    try:
        await install(app, slack, TEAM_ID, ORGANIZER)
        acme = sender_for(app, slack, TEAM_ID)
        assert await connect(acme, slack, calendar_server.url) == {}
        await wait_until_read(app)
        await send_invitations(acme, slack, ORGANIZER, title="Old review", guests=GUEST)
        await wait_for_mails(mailbox, GUEST, 1)
        await wait_for_summary(slack)
    finally:
        await app.stop()
    # As an earlier version left it: its own link key in the database and the guest's link
    # made with it, the calendar address and the workspace's token in plaintext.
    [token] = slack.tokens_of(TEAM_ID)
    old_key = "an-old-generated-link-key-0123456789abcdefghijklmnop"
    await execute(
        database_url,
        "INSERT INTO instance_secrets (name, value) VALUES ('link_key', :v)",
        v=old_key,
    )
    engine = create_async_engine(database_url)
    async with engine.connect() as connection:
        salt = await connection.scalar(
            text("SELECT token_salt FROM attendees WHERE kind = 'guest'")
        )
    await engine.dispose()
    old_token = TokenMinter(old_key).token_for(salt)
    await execute(
        database_url,
        "UPDATE attendees SET token_hash = :h WHERE kind = 'guest'",
        h=hash_token(old_token),
    )
    await execute(database_url, "UPDATE calendar_feeds SET url = :u", u=calendar_server.url)
    await execute(database_url, "UPDATE slack_bots SET bot_token = :t", t=token)
    await execute(database_url, "UPDATE slack_installations SET bot_token = :t", t=token)

    again = await start_installable(database_url, slack, mailbox, app_port, **options)
    try:
        status, page = await fetch("GET", f"{again.settings.base_url}/rsvp/{old_token}")
        assert status == 200 and "Old review" in page
        form = await open_form_from(
            sender_for(again, slack, TEAM_ID), slack, ORGANIZER, summary(slack), "edit_meeting"
        )
        await sender_for(again, slack, TEAM_ID).submit_view(ORGANIZER, form, location="Room 2")
        _, update = await wait_for_mails(mailbox, GUEST, 2)
        assert answer_link(update).endswith(old_token)  # the link the guest already has
        assert again.services is not None
        feed = await again.services.feeds.status(TEAM_ID, ANA)
        assert feed is not None and feed.host == "127.0.0.1"
    finally:
        await again.stop()

    stored = await database_text(database_url)
    assert [secret for secret in (old_key, calendar_server.url, token) if secret in stored] == []


async def test_passwords_tokens_and_calendar_addresses_never_reach_the_log(
    database_url: str,
    slack: FakeSlack,
    mailbox: Mailbox,
    app_port: int,
    calendar_server: CalendarServer,
    servers: Servers,
    certificate: Certificate,
    caplog: pytest.LogCaptureFixture,
) -> None:
    smtp = servers.starttls("meetbot", "smtp-pass-5ecret")
    calendar_server.failing = True
    imap_password = "imap-pass-5ecret"
    caplog.set_level(logging.DEBUG)
    app = Meetbot(
        make_settings(
            database_url,
            slack,
            mailbox,
            app_port,
            MEETBOT_SMTP_URL=smtp.url(userinfo="meetbot:smtp-pass-5ecret-but-wrong"),
            MEETBOT_MAIL_CA_FILE=str(certificate.cert),
            MEETBOT_IMAP_URL=f"imap://meetbot:{imap_password}@127.0.0.1:{free_port()}/INBOX",
            MEETBOT_IMAP_INTERVAL=0.2,
            MEETBOT_FEEDS_ALLOW_PRIVATE=True,
        )
    )
    await app.start()
    try:
        sender = SlackSender(app.settings.base_url, SIGNING_SECRET, slack, TEAM_ID)
        assert await connect(sender, slack, calendar_server.url) == {}
        await wait_until_read(app, failed=True)
        await send_invitations(sender, slack, ORGANIZER, guests=GUEST)
        await eventually(lambda: smtp.logins and failed_delivery_logged(caplog))
        await eventually(lambda: any("could not poll" in r.getMessage() for r in caplog.records))
    finally:
        await app.stop()

    secrets = (
        "smtp-pass-5ecret",
        imap_password,
        "private-abc123",
        SECRET_KEY,
        SIGNING_SECRET,
        slack.bot_token,
    )
    formatter = logging.Formatter()
    written = [
        formatter.format(record) + repr(record.args) + repr(record.__dict__)
        for record in caplog.records
    ]
    assert len(written) > 20  # DEBUG lines of Meetbot and its libraries were captured
    assert [s for s in secrets if any(s in line for line in written)] == []


def failed_delivery_logged(caplog: pytest.LogCaptureFixture) -> bool:
    """Tell whether the outbox has logged the guest's failed invitation (with its traceback)."""
    return any(
        "(guest_invitation)" in r.getMessage() and r.exc_info is not None for r in caplog.records
    )
