"""Sealing values for the database: bound to their place, opened only with their key."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.sealing import CannotOpen, Sealer, is_sealed

KEY = "a-master-key-of-enough-length-0123456789"
FEED = "https://calendar.example/ical/private-abc123/basic.ics"


def test_a_sealed_value_opens_for_its_own_row_only() -> None:
    sealer = Sealer(KEY)

    sealed = sealer.seal(FEED, "calendar_feeds.url:T1:U1")

    assert is_sealed(sealed) and "private-abc123" not in sealed
    assert sealer.open(sealed, "calendar_feeds.url:T1:U1") == FEED
    assert sealer.seal(FEED, "calendar_feeds.url:T1:U1") != sealed  # a fresh nonce each time
    with pytest.raises(CannotOpen):
        sealer.open(sealed, "calendar_feeds.url:T1:U2")  # moved to another member's row
    with pytest.raises(CannotOpen):
        Sealer("another-master-key-of-enough-length-0123").open(sealed, "calendar_feeds.url:T1:U1")


def test_plaintext_of_earlier_versions_is_read_as_it_is_and_sealed_once() -> None:
    sealer = Sealer(KEY)

    assert sealer.open("xoxb-1-plain", "slack.bot_token:::") == "xoxb-1-plain"
    sealed = sealer.seal_once("xoxb-1-plain", "slack.bot_token:::")
    assert sealer.seal_once(sealed, "slack.bot_token:::") == sealed
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(CannotOpen):
        sealer.open(tampered, "slack.bot_token:::")


def test_the_guest_link_key_is_derived_from_the_master_key_and_differs_from_it() -> None:
    assert Sealer(KEY).link_key == Sealer(KEY).link_key
    assert Sealer(KEY).link_key != Sealer(KEY + "x").link_key
    assert KEY not in Sealer(KEY).link_key


def test_settings_never_show_their_secrets() -> None:
    settings = Settings(
        SLACK_BOT_TOKEN="xoxb-bot-token-5ecret",
        SLACK_SIGNING_SECRET="signing-5ecret",
        SLACK_APP_TOKEN="xapp-app-token-5ecret",
        SLACK_CLIENT_SECRET="client-5ecret",
        MEETBOT_SMTP_URL="smtp://user:smtp-5ecret@mail.example",
        MEETBOT_IMAP_URL="imaps://user:imap-5ecret@mail.example/INBOX",
        MEETBOT_MAILBOXES='[{"name": "Sales", "address": "s@acme.example", '
        '"smtp_url": "smtp://s:box-5ecret@mail.example"}]',
        MEETBOT_SECRET_KEY=KEY,
        MEETBOT_METRICS_TOKEN="metrics-5ecret",
    )

    shown = repr(settings) + str(settings) + repr(settings.mailboxes)

    assert "5ecret" not in shown and KEY not in shown
    assert "secret_key=SecretStr('**********')" in shown
