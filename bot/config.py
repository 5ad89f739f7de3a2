"""Settings: the one reader of Meetbot's environment."""

from __future__ import annotations

import json
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.config_mail import (
    MAILBOXES_EXAMPLE,
    MailboxSetting,
    authserv_id_checked,
    imap_url_checked,
    inbound_address_checked,
    smtp_url_checked,
    split_mail_from,
)
from storage.database import database_url_problem

# New guest invitations a workspace may send per month when Meetbot installs into many
# workspaces and the operator set no cap: enough for real use, not for a spam run.
DEFAULT_GUEST_CAP = 500
# Secrets people paste from examples; a deployment must not run on them.
PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "secret", "xxx", "placeholder", "test"})
# The bot scopes manifest.yml asks for; a workspace installing through /slack/install grants these.
BOT_SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "im:history",
    "users:read",
    "users:read.email",
    "files:read",
)


# Where an operator is sent when Meetbot has no way into Slack yet.
CREATE_THE_APP = 'README.md\'s "Create the Slack app" says where to find them'


class SettingsError(Exception):
    """Settings are missing or wrong; each problem is one line naming its variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class DatabaseSettings(BaseSettings):
    """Where Meetbot keeps its data: all `meetbot db` needs."""

    model_config = SettingsConfigDict(
        env_prefix="", extra="ignore", case_sensitive=False, populate_by_name=True
    )

    database_url: str = Field(
        default="sqlite+aiosqlite:///meetbot.db",
        alias="MEETBOT_DATABASE_URL",
        description="SQLAlchemy async URL; default a SQLite file in the working folder.",
    )

    @field_validator("database_url")
    @classmethod
    def _database_url_usable(cls, value: str) -> str:
        problem = database_url_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value


def _web_address(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        example = value if "://" not in value and value else "meet.example.com"
        raise ValueError(f"must be a full address with its scheme, e.g. https://{example}")
    return value


class Settings(DatabaseSettings):
    """Everything Meetbot reads from its environment, validated at start-up."""

    slack_bot_token: str | None = Field(
        default=None,
        alias="SLACK_BOT_TOKEN",
        repr=False,  # a secret, or holds one
        description="Bot token (xoxb-...) of the app installed in one workspace.",
    )
    slack_client_id: str | None = Field(
        default=None,
        alias="SLACK_CLIENT_ID",
        description="The app's Client ID; with the secret, workspaces install at /slack/install.",
    )
    slack_client_secret: SecretStr | None = Field(
        default=None,
        alias="SLACK_CLIENT_SECRET",
        description="The app's Client Secret, for Slack's OAuth flow and refreshing tokens.",
    )
    slack_scopes: str = Field(
        default=",".join(BOT_SCOPES),
        alias="SLACK_SCOPES",
        description="Bot scopes asked for on install, comma separated; default manifest.yml's.",
    )
    token_refresh_minutes: int = Field(
        default=120,
        alias="MEETBOT_TOKEN_REFRESH_MINUTES",
        ge=0,
        description="With token rotation on, refresh a workspace's token this long before expiry.",
    )
    slack_signing_secret: str | None = Field(
        default=None,
        alias="SLACK_SIGNING_SECRET",
        repr=False,  # a secret, or holds one
        description="Signs Slack's HTTP requests; required unless Socket Mode is used.",
    )
    slack_app_token: str | None = Field(
        default=None,
        alias="SLACK_APP_TOKEN",
        repr=False,  # a secret, or holds one
        description="App-level token (xapp-...); when present Meetbot connects in Socket Mode.",
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        alias="SLACK_API_URL",
        description="Base URL of Slack's Web API.",
    )
    smtp_url: str | None = Field(
        default=None,
        alias="MEETBOT_SMTP_URL",
        repr=False,  # a secret, or holds one
        description="smtp://user:pass@host:port (STARTTLS when offered) or smtps:// (TLS).",
    )
    mail_dir: Path = Field(
        default=Path("meetbot-mail"),
        alias="MEETBOT_MAIL_DIR",
        description="Folder that receives .eml files while no SMTP server is configured.",
    )
    mail_from: str = Field(
        default="meetbot@localhost",
        alias="MEETBOT_MAIL_FROM",
        description="Sending mailbox, `invites@acme.example` or `Meet <invites@acme.example>`; "
        "guests' calendars answer to it, and its name follows the organizer's in From.",
    )
    public_url: str | None = Field(
        default=None,
        alias="MEETBOT_PUBLIC_URL",
        description="Address guests reach the answer pages at; default http://localhost:PORT.",
    )
    port: int = Field(
        default=3000, alias="MEETBOT_PORT", ge=1, le=65535, description="HTTP port to listen on."
    )
    host: str = Field(
        default="0.0.0.0",  # noqa: S104 - a server is meant to be reachable
        alias="MEETBOT_HOST",
        description="Interface to listen on.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        alias="MEETBOT_SECRET_KEY",
        description="Master key (32+ random characters) sealing tokens, calendar addresses "
        "and the guest-link key in the database; required over HTTP or with many workspaces.",
    )
    secret_key_file: Path | None = Field(
        default=None,
        alias="MEETBOT_SECRET_KEY_FILE",
        description="Without MEETBOT_SECRET_KEY (one workspace, Socket Mode): the file a key "
        "is generated into (0600); default meetbot-secret.key beside the SQLite file, or in "
        "the working folder.",
    )
    attachment_limit_mb: float = Field(
        default=10.0,
        alias="MEETBOT_ATTACHMENT_LIMIT_MB",
        ge=0,
        description="Files above this total go to guests as download links, not attachments.",
    )
    reminder_interval_seconds: float = Field(
        default=30.0,
        alias="MEETBOT_REMINDER_INTERVAL",
        gt=0,
        description="How often due reminders are looked for.",
    )
    inbound_smtp: str | None = Field(
        default=None,
        alias="MEETBOT_INBOUND_SMTP",
        description="host:port for the built-in SMTP receiver of replies and bounces.",
    )
    imap_url: str | None = Field(
        default=None,
        alias="MEETBOT_IMAP_URL",
        repr=False,  # a secret, or holds one
        description="imaps://user:pass@host:993/INBOX (or imap:// with STARTTLS) to poll.",
    )
    imap_interval_seconds: float = Field(
        default=60.0,
        alias="MEETBOT_IMAP_INTERVAL",
        gt=0,
        description="How often the IMAP mailbox is polled.",
    )
    trusted_authserv_id: str | None = Field(
        default=None,
        alias="MEETBOT_TRUSTED_AUTHSERV_ID",
        description="authserv-id of your own mail server's Authentication-Results header "
        "(e.g. mx.example.com); its dkim=pass / dmarc=pass vouch for a guest's reply. Only "
        "set it if that server removes such headers coming from outside.",
    )
    verify_dkim: bool = Field(
        default=True,
        alias="MEETBOT_VERIFY_DKIM",
        description="Check DKIM signatures of guests' replies (looks up keys in DNS).",
    )
    verp: bool = Field(
        default=True,
        alias="MEETBOT_VERP",
        description="Send guest mail with a per-guest return path (mailbox+tag@domain), so a "
        "bounce names its guest; the mail server must deliver mailbox+tag to the mailbox.",
    )
    quarantine_dir: Path = Field(
        default=Path("meetbot-quarantine"),
        alias="MEETBOT_QUARANTINE_DIR",
        description="Where the SMTP receiver keeps mail it did not act on (.eml + .reason).",
    )
    mail_ca_file: Path | None = Field(
        default=None,
        alias="MEETBOT_MAIL_CA_FILE",
        description="Extra CA certificates to trust for the SMTP and IMAP servers.",
    )
    feed_interval_seconds: float = Field(
        default=60.0,
        alias="MEETBOT_FEED_INTERVAL",
        gt=0,
        description="How often connected calendars are checked for a due refresh.",
    )
    feeds_allow_private: bool = Field(
        default=False,
        alias="MEETBOT_FEEDS_ALLOW_PRIVATE",
        description="Read calendar feeds on loopback, private and shared (CGNAT) addresses, "
        "for a calendar server on the premises. Off, such addresses are refused, also after "
        "a redirect; link-local (cloud metadata), multicast and reserved ones always are.",
    )
    feed_max_bytes: int = Field(
        default=5 * 1024 * 1024,
        alias="MEETBOT_FEED_MAX_BYTES",
        ge=1024,
        description="Largest calendar feed Meetbot reads, in bytes; a larger one is refused.",
    )
    feed_expand_seconds: float = Field(
        default=20.0,
        alias="MEETBOT_FEED_EXPAND_SECONDS",
        gt=0,
        description="Time a calendar feed may take to be read and its repeating events worked "
        "out (in a separate process); a feed that takes longer is refused as too big.",
    )
    rsvp_rate_per_link: int = Field(
        default=20,
        alias="MEETBOT_RSVP_RATE_PER_LINK",
        ge=1,
        description="Answers one guest link may send per minute.",
    )
    rsvp_rate_per_address: int = Field(
        default=300,
        alias="MEETBOT_RSVP_RATE_PER_ADDRESS",
        ge=1,
        description="Answers one client address may send per minute.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        alias="MEETBOT_LOG_FORMAT",
        description="text, or json for one JSON object a line.",
    )
    # NoDecode: the JSON is read by _mailboxes_json, which says where it goes wrong.
    mailboxes: Annotated[list[MailboxSetting], NoDecode] = Field(
        default_factory=list,
        alias="MEETBOT_MAILBOXES",
        repr=False,  # a secret, or holds one
        description=(
            'Sending mailboxes organizers choose from, as JSON: [{"name": "Invitations", '
            '"address": "invites@acme.example", "smtp_url": "smtp://..."}]; unset, the one '
            "mailbox is MEETBOT_MAIL_FROM through MEETBOT_SMTP_URL."
        ),
    )
    guest_invites_per_month: int | None = Field(
        default=None,
        alias="MEETBOT_GUEST_INVITES_PER_MONTH",
        ge=0,
        description="New guest invitations a workspace may send per calendar month; unset, no cap.",
    )
    outbox_interval_seconds: float = Field(
        default=5.0,
        alias="MEETBOT_OUTBOX_INTERVAL",
        gt=0,
        description="How often the outbox is checked besides the wake-up after each change.",
    )
    outbox_lease_seconds: float = Field(
        default=120.0,
        alias="MEETBOT_OUTBOX_LEASE_SECONDS",
        gt=0,
        description="How long a delivery taken by one process is hidden from the others; "
        "after a crash mid-send it is sent again once this has passed.",
    )
    trusted_proxies: str = Field(
        default="",
        alias="MEETBOT_TRUSTED_PROXIES",
        description="Comma-separated addresses or networks of the reverse proxies in front of "
        "Meetbot (e.g. 127.0.0.1,10.0.0.0/8); X-Forwarded-For is believed only from them.",
    )
    video_url: str | None = Field(
        default=None,
        alias="MEETBOT_VIDEO_URL",
        description="Video service new rooms are made on, e.g. https://meet.jit.si/; unset, "
        'the form offers no "Add a video call".',
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        alias="MEETBOT_METRICS_TOKEN",
        description="Bearer token /metrics asks for. Required to see /metrics when Meetbot "
        "installs into many workspaces; otherwise /metrics is open unless it is set.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                try:
                    ip_network(part.strip(), strict=False)
                except ValueError as error:
                    raise ValueError(f"{part.strip()!r} is not an address or network") from error
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: str | None) -> str | None:
        if value and not value.startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value or None

    @field_validator("slack_api_url", "video_url")
    @classmethod
    def _api_url_slash(cls, value: str | None) -> str | None:
        if not value:
            return None
        _web_address(value)
        return value if value.endswith("/") else value + "/"

    @field_validator("public_url")
    @classmethod
    def _public_url_shape(cls, value: str | None) -> str | None:
        return _web_address(value) if value else None

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url_shape(cls, value: str | None) -> str | None:
        return smtp_url_checked(value)

    @field_validator("inbound_smtp")
    @classmethod
    def _inbound_shape(cls, value: str | None) -> str | None:
        return inbound_address_checked(value)

    @field_validator("trusted_authserv_id")
    @classmethod
    def _authserv_id_shape(cls, value: str | None) -> str | None:
        return authserv_id_checked(value)

    @field_validator("imap_url")
    @classmethod
    def _imap_url_shape(cls, value: str | None) -> str | None:
        return imap_url_checked(value)

    @field_validator("mail_ca_file")
    @classmethod
    def _ca_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @field_validator("mail_from")
    @classmethod
    def _mail_from_shape(cls, value: str) -> str:
        try:
            split_mail_from(value)
        except ValueError as error:
            raise ValueError(
                "must be an e-mail address, bare (invites@acme.example) or with a name "
                "(Meet <invites@acme.example>)"
            ) from error
        return value.strip()

    @field_validator("mailboxes", mode="before")
    @classmethod
    def _mailboxes_json(cls, value: object) -> object:
        if not isinstance(value, str | bytes):
            return value
        if not value.strip():
            return []
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"is not JSON ({error.msg} at character {error.pos}): "
                f"write a list like {MAILBOXES_EXAMPLE}"
            ) from error

    @field_validator("mailboxes")
    @classmethod
    def _mailboxes_distinct(cls, value: list[MailboxSetting]) -> list[MailboxSetting]:
        addresses = [box.address.lower() for box in value]
        if len(set(addresses)) != len(addresses):
            raise ValueError("lists the same address twice")
        return value

    @field_validator("secret_key")
    @classmethod
    def _secret_not_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        secret = value.get_secret_value()
        if secret.lower() in PLACEHOLDER_SECRETS or len(secret) < 32:
            raise ValueError("must be a random string of at least 32 characters")
        return value

    @field_validator("slack_client_id")
    @classmethod
    def _client_id_or_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value else None

    @field_validator("slack_client_secret")
    @classmethod
    def _client_secret_not_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if value.get_secret_value().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("must be the app's Client Secret (Basic Information in Slack)")
        return value

    @field_validator("slack_scopes")
    @classmethod
    def _scopes_listed(cls, value: str) -> str:
        scopes = [scope.strip() for scope in value.split(",") if scope.strip()]
        if not scopes:
            raise ValueError("must list at least one bot scope, e.g. commands,chat:write")
        return ",".join(scopes)

    @property
    def mail_from_address(self) -> str:
        """Return the bare address of MEETBOT_MAIL_FROM."""
        return split_mail_from(self.mail_from)[1]

    @property
    def mail_from_name(self) -> str | None:
        """Return the name MEETBOT_MAIL_FROM gives its address, if it gives one."""
        return split_mail_from(self.mail_from)[0]

    @property
    def socket_mode(self) -> bool:
        """Tell whether Slack is reached over Socket Mode rather than HTTP."""
        return self.slack_app_token is not None

    @property
    def installs_into_many_workspaces(self) -> bool:
        """Tell whether workspaces install Meetbot through Slack's OAuth flow."""
        return self.slack_client_id is not None

    @property
    def bot_scopes(self) -> list[str]:
        """Return the bot scopes asked for on install."""
        return self.slack_scopes.split(",")

    @property
    def inbound_address(self) -> tuple[str, int] | None:
        """Return where the built-in SMTP receiver listens, if it is on."""
        if not self.inbound_smtp:
            return None
        host, _, port = self.inbound_smtp.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def trusted_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """Return the reverse proxies whose X-Forwarded-For is believed."""
        return tuple(
            ip_network(part.strip(), strict=False)
            for part in self.trusted_proxies.split(",")
            if part.strip()
        )

    @property
    def guest_cap(self) -> int | None:
        """Return the monthly cap on new guest invitations per workspace (None: no cap).

        Installed into many workspaces, each gets a cap unless the operator sets one.
        """
        if self.guest_invites_per_month is not None:
            return self.guest_invites_per_month
        return DEFAULT_GUEST_CAP if self.installs_into_many_workspaces else None

    @property
    def base_url(self) -> str:
        """Return the public address of the guest pages, without a trailing slash."""
        return (self.public_url or f"http://localhost:{self.port}").rstrip("/")
