"""The composition root: settings -> database -> services -> Slack app, web pages, scheduler."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from apscheduler.executors.base import run_coroutine_job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import handlers
from bot.availability import Availability
from bot.config import Settings
from bot.feeds import CalendarFeeds
from bot.file_links import FileLinkSigner
from bot.files import SlackFiles
from bot.held_forms import HeldForms
from bot.home import HomeTab
from bot.jobs import drain_outbox, poll_mailbox, queue_due_reminders, refresh_calendar_feeds
from bot.mail.imap import ImapPoller
from bot.mail.inbox import Inbox
from bot.mail.receiver import Quarantine, SmtpReceiver
from bot.mail.return_paths import ReturnPaths
from bot.mail.transport import FolderMailer, Mailer, SmtpMailer
from bot.mail.trust import Resolver, dns_txt
from bot.mailboxes import Mailboxes, mailboxes_from
from bot.meetings.files import MeetingFiles
from bot.meetings.ledger import DeliveryLedger
from bot.meetings.pictures import GuestMailPictures
from bot.meetings.posts import MeetingPosts
from bot.meetings.quota import GuestQuota
from bot.meetings.replies import Replies
from bot.meetings.series import SeriesChanges
from bot.meetings.service import Meetings
from bot.meetings.submissions import Submissions
from bot.metrics import Metrics
from bot.outbox.queue import OutboxQueue
from bot.outbox.worker import Outbox
from bot.people import People
from bot.preferences import Preferences
from bot.quick.reader import read_quick_text
from bot.ratelimit import AnswerLimits
from bot.sealed_installations import SealedInstallationStore
from bot.secret_key import master_key, unlock
from bot.services import Services
from bot.slack_clients import InstalledWorkspaces, NoSlack, SingleWorkspace, SlackClients
from bot.startup import CannotStart, listen_problem, reach_database, server_problem
from bot.tokens import TokenMinter
from bot.workspaces import Workspaces
from handlers.install import INSTALL_PAGES
from handlers.web import HEALTH_KEY, SERVICES_KEY, add_routes
from storage.database import create_engine, create_session_factory, upgrade_database

logger = logging.getLogger(__name__)

JOB_GRACE_SECONDS = 30.0
OUTBOX_JOB = "outbox"
REMINDER_JOB = "reminders"
IMAP_JOB = "imap"
FEEDS_JOB = "calendar_feeds"
INSTALL_PATH = "/slack/install"
OAUTH_REDIRECT_PATH = "/slack/oauth_redirect"
# How long a person has between opening /slack/install and pressing Allow in Slack.
OAUTH_STATE_SECONDS = 600


def build_tls_context(settings: Settings) -> ssl.SSLContext:
    """Return the TLS settings for our mail servers, trusting an extra CA if one is set."""
    context = ssl.create_default_context()
    if settings.mail_ca_file is not None:
        context.load_verify_locations(cafile=settings.mail_ca_file)
    return context


def build_mailer(settings: Settings, smtp_url: str | None) -> Mailer:
    """Return the SMTP mailer when a server is configured, else the .eml folder."""
    if smtp_url:
        return SmtpMailer(smtp_url, tls_context=build_tls_context(settings))
    return FolderMailer(settings.mail_dir)


def build_mailers(settings: Settings, mailboxes: Mailboxes) -> dict[str, Mailer]:
    """Return each sending mailbox's mailer; mailboxes on one server share its mailer."""
    by_server: dict[str | None, Mailer] = {}
    for box in mailboxes.all:
        if box.smtp_url not in by_server:
            by_server[box.smtp_url] = build_mailer(settings, box.smtp_url)
    return {box.key: by_server[box.smtp_url] for box in mailboxes.all}


def build_imap_poller(settings: Settings, inbox: Inbox) -> ImapPoller | None:
    """Return the IMAP poller when a mailbox is configured."""
    if not settings.imap_url:
        return None
    return ImapPoller(settings.imap_url, inbox, tls_context=build_tls_context(settings))


def build_slack_client(settings: Settings, token: str | None = None) -> AsyncWebClient:
    """Return a Web API client (the environment's token by default) that waits out 429s."""
    return AsyncWebClient(
        token=token or settings.slack_bot_token,
        base_url=settings.slack_api_url,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


async def listen(
    start: Awaitable[None], port_variable: str, host_variable: str, host: str, port: int
) -> None:
    """Start listening, or raise CannotStart naming the setting that chose the host or port."""
    try:
        await start
    except OSError as error:
        raise CannotStart(
            listen_problem(port_variable, host_variable, host, port, error)
        ) from error


def build_bolt_app(
    client: AsyncWebClient, signing_secret: str, oauth_settings: AsyncOAuthSettings | None
) -> AsyncApp:
    """Return the Bolt app that speaks for Meetbot through our own Web API client."""
    # Bolt reads SLACK_BOT_TOKEN from the environment by itself and warns that the client we
    # hand it wins; that client was made from the same token, so the warning is no news.
    bolt_logger = logging.getLogger("slack_bolt.AsyncApp")
    same_token = _DropMessage(warning_client_prioritized_and_token_skipped())
    bolt_logger.addFilter(same_token)
    try:
        return AsyncApp(
            client=client,
            signing_secret=signing_secret,
            # Listeners ack first and work after, so Slack never waits on the database.
            process_before_response=False,
            oauth_settings=oauth_settings,
        )
    finally:
        bolt_logger.removeFilter(same_token)


class _DropMessage(logging.Filter):
    """Drop one exact log message."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self._message = message

    def filter(self, record: logging.LogRecord) -> bool:
        """Let through anything but the message."""
        return record.getMessage() != self._message


# Work that outlives the request that started it: APScheduler's coroutine jobs, Bolt's
# listeners still running after their ack, and the SMTP receiver's open sessions.
BACKGROUND_WORK = (
    run_coroutine_job.__qualname__,
    "AsyncioListenerRunner.run.<locals>.run_ack_function_asynchronously",
    "SMTP._handle_client",
)


def _is_background_work(task: asyncio.Task[object]) -> bool:
    return getattr(task.get_coro(), "__qualname__", "") in BACKGROUND_WORK


def add_install_routes(web_app: web.Application, bolt: AsyncApp) -> None:
    """Serve Slack's OAuth flow: the install link and the page Slack sends people back to."""
    flow = bolt.oauth_flow
    assert flow is not None

    async def begin_install(request: web.Request) -> web.Response:
        return await to_aiohttp_response(
            await flow.handle_installation(await to_bolt_request(request))
        )

    async def finish_install(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))

    web_app.router.add_get(flow.install_path, begin_install)
    web_app.router.add_get(flow.redirect_uri_path, finish_install)


class Meetbot:
    """One running Meetbot process: database, Slack app, web server and scheduler.

    With `slack=False` (the demo) there is no Slack app: the guest pages and e-mail work,
    and whatever is owed to Slack is given up at once.
    """

    def __init__(
        self, settings: Settings, *, slack: bool = True, dkim_resolver: Resolver | None = None
    ) -> None:
        self.settings = settings
        self.slack = slack
        # How DKIM keys are looked up; tests resolve their own keys without any network.
        self.dkim_resolver = dkim_resolver or (dns_txt if settings.verify_dkim else None)
        self.engine: AsyncEngine = create_engine(settings.database_url)
        self.sessions = create_session_factory(self.engine)
        self.client = build_slack_client(settings)
        self.installations: SealedInstallationStore | None = None
        self.clients: SlackClients = SingleWorkspace(self.client) if slack else NoSlack()
        if slack and settings.installs_into_many_workspaces:
            assert settings.slack_client_id and settings.slack_client_secret
            self.installations = SealedInstallationStore(settings.slack_client_id, self.engine)
            rotator = AsyncTokenRotator(
                client_id=settings.slack_client_id,
                client_secret=settings.slack_client_secret.get_secret_value(),
                client=self.client,
            )
            self.clients = InstalledWorkspaces(
                self.installations,
                rotator,
                lambda token: build_slack_client(settings, token),
                refresh_minutes=settings.token_refresh_minutes,
            )
        self.mailboxes = mailboxes_from(settings)
        self.mailers = build_mailers(settings, self.mailboxes)
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._runner: web.AppRunner | None = None
        self._receiver: SmtpReceiver | None = None
        self._socket_mode: AsyncSocketModeHandler | None = None
        self.services: Services | None = None

    async def start(self) -> None:
        """Migrate the database, then start serving Slack, the guest pages and the outbox.

        Raises CannotStart, naming the setting, when the database cannot be reached or a
        port cannot be listened on.
        """
        await reach_database(self.engine)
        key = master_key(self.settings, self.slack)
        await upgrade_database(self.engine)
        # dateparser loads its language data on first use; pay that now, not on a /meet.
        await asyncio.to_thread(
            read_quick_text, "tomorrow 9am", now=datetime.now(UTC), zone=ZoneInfo("UTC")
        )
        unlocked = await unlock(key, self.sessions)
        link_keys = (unlocked.link_key, *unlocked.earlier_link_keys)
        if self.installations is not None:
            self.installations.unlock(unlocked.sealer)
            await self.installations.seal_stored()
        files = MeetingFiles(self.sessions, SlackFiles(self.clients))
        file_links = FileLinkSigner(*link_keys)
        quota = GuestQuota(self.sessions, self.settings.guest_cap)
        meetings = Meetings(
            self.sessions,
            TokenMinter(*link_keys),
            files,
            quota,
            on_deliveries=lambda: outbox.wake(),
            video_service=self.settings.video_url,
        )
        ledger = DeliveryLedger(
            self.sessions, TokenMinter(*link_keys), quota, on_deliveries=lambda: outbox.wake()
        )
        replies = Replies(self.sessions, meetings, on_deliveries=lambda: outbox.wake())
        return_paths = ReturnPaths(*link_keys)
        feeds = CalendarFeeds.from_settings(
            self.settings, self.sessions, unlocked.sealer, lambda: outbox.wake()
        )
        await feeds.seal_stored()
        people = People(self.clients)
        preferences = Preferences(self.sessions)
        home = HomeTab(meetings, feeds, preferences, self.mailboxes, people)
        metrics = Metrics()
        outbox = Outbox(
            OutboxQueue(
                self.sessions, metrics, timedelta(seconds=self.settings.outbox_lease_seconds)
            ),
            meetings,
            replies,
            files,
            MeetingPosts(self.sessions),
            self.clients,
            self.mailboxes,
            self.mailers,
            self.settings.base_url,
            home,
            people,
            file_links,
            GuestMailPictures(self.sessions),
            attachment_limit=int(self.settings.attachment_limit_mb * 1024 * 1024),
            return_paths=return_paths if self.settings.verp else None,
            ledger=ledger,
        )
        services = Services(
            settings=self.settings,
            meetings=meetings,
            replies=replies,
            files=files,
            file_links=file_links,
            people=people,
            outbox=outbox,
            availability=Availability(self.sessions, people, preferences),
            feeds=feeds,
            home=home,
            metrics=metrics,
            answer_limits=AnswerLimits(
                self.settings.rsvp_rate_per_link, self.settings.rsvp_rate_per_address
            ),
            preferences=preferences,
            mailboxes=self.mailboxes,
            held_forms=HeldForms(self.sessions),
            submissions=Submissions(meetings, preferences, self.mailboxes),
            workspaces=Workspaces(self.sessions, self.clients, self.installations),
            ledger=ledger,
            series=SeriesChanges(
                self.sessions, meetings, files, on_deliveries=lambda: outbox.wake()
            ),
        )
        self.services = services
        bolt: AsyncApp | None = None
        if self.slack:
            bolt = build_bolt_app(
                self.client, self.settings.slack_signing_secret or "", self._oauth_settings()
            )
            handlers.register(bolt, services)

        self._every(self.settings.outbox_interval_seconds, OUTBOX_JOB, drain_outbox, outbox)
        self._every(
            self.settings.reminder_interval_seconds, REMINDER_JOB, queue_due_reminders, meetings
        )
        self._every(self.settings.feed_interval_seconds, FEEDS_JOB, refresh_calendar_feeds, feeds)
        outbox.set_waker(self._run_outbox_now)
        inbox = Inbox(
            replies,
            metrics,
            return_paths=return_paths,
            resolver=self.dkim_resolver,
            trusted_authserv_id=self.settings.trusted_authserv_id,
        )
        poller = build_imap_poller(self.settings, inbox)
        if poller is not None:
            self._every(self.settings.imap_interval_seconds, IMAP_JOB, poll_mailbox, poller)
            logger.info("polling %s for replies and bounces", poller.describe())
        self.scheduler.start()
        inbound = self.settings.inbound_address
        if inbound is not None:
            self._receiver = SmtpReceiver(
                inbox,
                inbound[0],
                inbound[1],
                self.mailboxes.domains,
                quarantine=Quarantine(self.settings.quarantine_dir),
            )
            await listen(
                self._receiver.start(), "MEETBOT_INBOUND_SMTP", "MEETBOT_INBOUND_SMTP", *inbound
            )

        web_app = web.Application()
        web_app[SERVICES_KEY] = services
        web_app[HEALTH_KEY] = self.health
        add_routes(web_app)
        if bolt is not None and not self.settings.socket_mode:
            slack_app = bolt

            async def slack_events(request: web.Request) -> web.Response:
                with services.after_ack.answering():
                    answer = await slack_app.async_dispatch(await to_bolt_request(request))
                return await to_aiohttp_response(answer)

            web_app.router.add_post("/slack/events", slack_events)
        if bolt is not None and bolt.oauth_flow is not None:
            add_install_routes(web_app, bolt)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        await listen(
            site.start(), "MEETBOT_PORT", "MEETBOT_HOST", self.settings.host, self.settings.port
        )
        logger.info("guest pages on %s (port %s)", self.settings.base_url, self.settings.port)
        for box in self.mailboxes.all:
            logger.info("e-mail from %s goes to %s", box.address, self.mailers[box.key].describe())
        if bolt is None:
            return
        if self.settings.socket_mode:
            await self._connect_socket_mode(bolt)
        else:
            logger.info("serving Slack at POST /slack/events")

    async def _connect_socket_mode(self, bolt: AsyncApp) -> None:
        """Open the Socket Mode connection; Slack's refusal is raised as SlackApiError."""
        assert self.settings.slack_app_token is not None
        self._socket_mode = AsyncSocketModeHandler(bolt, self.settings.slack_app_token)
        try:
            # slack_sdk retries a refused apps.connections.open every 10 s forever; ask once
            # here so a wrong or revoked SLACK_APP_TOKEN fails start() with Slack's error.
            opened = await self.client.apps_connections_open(
                app_token=self.settings.slack_app_token
            )
        except (OSError, aiohttp.ClientError) as error:
            raise CannotStart(
                server_problem("SLACK_API_URL", self.settings.slack_api_url, error)
            ) from error
        self._socket_mode.client.wss_uri = opened["url"]
        await self._socket_mode.connect_async()  # type: ignore[no-untyped-call]
        logger.info("connected to Slack in Socket Mode")

    def _oauth_settings(self) -> AsyncOAuthSettings | None:
        """Return how workspaces install Meetbot through Slack, when they do."""
        if self.installations is None:
            return None
        assert self.settings.slack_client_id and self.settings.slack_client_secret
        return AsyncOAuthSettings(
            client_id=self.settings.slack_client_id,
            client_secret=self.settings.slack_client_secret.get_secret_value(),
            scopes=self.settings.bot_scopes,
            user_scopes=[],
            redirect_uri=f"{self.settings.base_url}{OAUTH_REDIRECT_PATH}",
            install_path=INSTALL_PATH,
            redirect_uri_path=OAUTH_REDIRECT_PATH,
            # Straight on to Slack's page: our own "Add to Slack" page would be one more click.
            install_page_rendering_enabled=False,
            callback_options=INSTALL_PAGES,
            installation_store=self.installations,
            state_store=AsyncSQLAlchemyOAuthStateStore(
                expiration_seconds=OAUTH_STATE_SECONDS, engine=self.engine
            ),
            token_rotation_expiration_minutes=self.settings.token_refresh_minutes,
        )

    def _every(
        self, seconds: float, job_id: str, job: Callable[[Any], Awaitable[None]], target: object
    ) -> None:
        """Run a job now and then every so many seconds, one run at a time."""
        self.scheduler.add_job(
            job,
            "interval",
            args=[target],
            id=job_id,
            seconds=seconds,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )

    async def health(self) -> dict[str, str]:
        """Say whether the database answers and the scheduler runs."""
        report = {"database": "ok", "scheduler": "ok" if self.scheduler.running else "stopped"}
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:  # any database failure makes the process unhealthy
            report["database"] = f"error: {type(error).__name__}"
        return report

    async def background_work_finished(self) -> None:
        """Wait for scheduler jobs, Slack listeners and mail sessions still at work."""
        running = [
            task
            for task in asyncio.all_tasks()
            if task is not asyncio.current_task() and _is_background_work(task)
        ]
        if running:
            await asyncio.wait(running, timeout=JOB_GRACE_SECONDS)

    def _run_outbox_now(self) -> None:
        if self.scheduler.running:
            self.scheduler.modify_job(OUTBOX_JOB, next_run_time=datetime.now(UTC))

    async def stop(self) -> None:
        """Stop taking work, then close connections."""
        if self.services is not None:
            self.services.outbox.stop_taking_work()
        if self._receiver is not None:
            await self._receiver.stop()
            self._receiver = None
        if self._socket_mode is not None:
            await self._socket_mode.close_async()  # type: ignore[no-untyped-call]
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.scheduler.running:
            self.scheduler.pause()
        # APScheduler cancels running coroutine jobs on shutdown; let all work finish first.
        await self.background_work_finished()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.services is not None:
            self.services.meetings.close()
        await self.engine.dispose()
