"""`meetbot run | db upgrade | check | demo`: the console script."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version

import aiosmtplib
from slack_sdk.errors import SlackApiError

from bot.app import Meetbot, build_mailers, build_slack_client, build_tls_context
from bot.config import Settings, SettingsError
from bot.demo import DEFAULT_DEMO_PORT, run_demo
from bot.heap import freeze_start_up_objects
from bot.logs import configure_logging, held_until_started
from bot.mail.imap import ImapPoller
from bot.mail.transport import Mailer, SmtpMailer
from bot.mailboxes import mailboxes_from
from bot.secret_key import key_file_of, missing_key_problem
from bot.settings_reading import (
    SettingsReading,
    load_database_url,
    load_settings,
    read_settings,
    slack_problems,
)
from bot.startup import CannotStart, reach_database, server_problem
from storage.database import create_engine, upgrade_database

logger = logging.getLogger("meetbot")
# Refused settings that leave nothing to try for a check.
MAIL_VARIABLES = (
    "MEETBOT_SMTP_URL",
    "MEETBOT_MAILBOXES",
    "MEETBOT_MAIL_FROM",
    "MEETBOT_MAIL_CA_FILE",
)
IMAP_VARIABLES = ("MEETBOT_IMAP_URL", "MEETBOT_MAIL_CA_FILE")
# report(name, ok, detail): one line of `meetbot check`.
_Report = Callable[[str, bool, str], None]


def _installed_version() -> str:
    try:
        return version("meetbot")
    except PackageNotFoundError:
        return "(not installed: run `pip install -e .`)"


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"must be a port from 1 to 65535, not {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    """Return the command line's grammar."""
    parser = argparse.ArgumentParser(
        prog="meetbot", description="Meet people outside your company from Slack."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_installed_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="serve Slack, the guest pages and deliveries")
    database = commands.add_parser("db", help="database maintenance")
    database.add_argument("action", choices=["upgrade"], help="create or migrate the schema")
    commands.add_parser("check", help="check settings, database, Slack, SMTP and IMAP")
    demo = commands.add_parser(
        "demo", help="show what a guest gets, with a sample meeting; needs no Slack or settings"
    )
    demo.add_argument(
        "--port", type=_port, default=DEFAULT_DEMO_PORT, help="port of the guest pages"
    )
    demo.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (0.0.0.0 in a container)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    arguments = build_parser().parse_args(argv)
    if arguments.command == "demo":
        configure_logging(logging.WARNING)
        return asyncio.run(run_demo(arguments.host, arguments.port))
    if arguments.command == "check":
        # Only the check's own lines on stdout; libraries speak up on stderr when it matters.
        configure_logging(logging.WARNING)
        return asyncio.run(_check(read_settings()))
    if arguments.command == "db":
        configure_logging(logging.INFO)
        try:
            asyncio.run(_upgrade(load_database_url()))
        except (SettingsError, CannotStart) as error:
            return _refuse(error)
        print("meetbot: the database is up to date")
        return 0
    try:
        settings = load_settings()
    except SettingsError as error:
        return _refuse(error)
    configure_logging(logging.INFO, json=settings.log_format == "json")
    return asyncio.run(_run(settings))


def _refuse(error: SettingsError | CannotStart) -> int:
    """Print what is wrong, one line a problem, and return the exit status for it."""
    problems = error.problems if isinstance(error, SettingsError) else [str(error)]
    for problem in problems:
        print(f"meetbot: {problem}", file=sys.stderr)
    return 2


async def _upgrade(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await reach_database(engine)
        await upgrade_database(engine)
    finally:
        await engine.dispose()


def smtp_servers(settings: Settings, mailers: dict[str, Mailer]) -> list[tuple[str, SmtpMailer]]:
    """Return each SMTP server once, with the variable that names it."""
    found: dict[int, tuple[str, SmtpMailer]] = {}
    for box in mailboxes_from(settings).all:
        mailer = mailers[box.key]
        if isinstance(mailer, SmtpMailer) and id(mailer) not in found:
            own = box.smtp_url is not None and box.smtp_url != settings.smtp_url
            found[id(mailer)] = ("MEETBOT_MAILBOXES" if own else "MEETBOT_SMTP_URL", mailer)
    return list(found.values())


async def warn_about_unusable_mail_servers(settings: Settings, mailers: dict[str, Mailer]) -> None:
    """Say, once at start, which SMTP server cannot be used yet; mail waits for it meanwhile."""
    for variable, mailer in smtp_servers(settings, mailers):
        try:
            await mailer.check()
        except (OSError, aiosmtplib.SMTPException) as error:
            logger.warning(
                "%s (guest e-mails wait in the outbox until it can be used)",
                server_problem(variable, mailer.describe(), error),
            )


async def _run(settings: Settings) -> int:
    meetbot = Meetbot(settings)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    try:
        with held_until_started():
            await meetbot.start()
    except SlackApiError as error:
        variable = "SLACK_APP_TOKEN" if settings.socket_mode else "SLACK_BOT_TOKEN"
        print(f"meetbot: Slack refused {variable}: {error.response.get('error')}", file=sys.stderr)
        await meetbot.stop()
        return 2
    except CannotStart as error:
        await meetbot.stop()
        return _refuse(error)
    freeze_start_up_objects()
    for mailbox in meetbot.mailboxes.all:
        if not mailbox.smtp_url:
            logger.warning(
                "no SMTP server for %s (MEETBOT_SMTP_URL is not set): guest e-mails are "
                "written as .eml files into %s",
                mailbox.address,
                settings.mail_dir.resolve(),
            )
    mail_check = asyncio.create_task(warn_about_unusable_mail_servers(settings, meetbot.mailers))
    await stopping.wait()
    logger.info("stopping")
    mail_check.cancel()
    await meetbot.stop()
    return 0


async def _check(reading: SettingsReading) -> int:
    settings = reading.settings
    failures = 0

    def report(name: str, ok: bool, detail: str) -> None:
        nonlocal failures
        failures += 0 if ok else 1
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)

    def skip(name: str, detail: str) -> None:
        print(f"skip {name}: not tried, {detail}", flush=True)

    slack_refused = any(variable.startswith("SLACK_") for variable in reading.refused)
    problems = reading.problems + ([] if slack_refused else slack_problems(settings))
    for problem in problems:
        report("settings", False, problem)
    if not problems:
        report("settings", True, "read from the environment")
    _check_secret_key(settings, report)

    if reading.refused_any("MEETBOT_DATABASE_URL"):
        skip("database", "MEETBOT_DATABASE_URL is wrong")
    else:
        engine = create_engine(settings.database_url)
        try:
            await reach_database(engine)
            report("database", True, engine.url.render_as_string(hide_password=True))
        except CannotStart as error:
            report("database", False, str(error))
        finally:
            await engine.dispose()

    if slack_refused or slack_problems(settings):
        skip("slack", "the Slack settings are wrong or missing")
    elif settings.installs_into_many_workspaces:
        # Each workspace's token arrives through Slack's flow as it installs; none is here.
        report("slack", True, f"workspaces install at {settings.base_url}/slack/install")
    else:
        await _check_slack(settings, report)

    if reading.refused_any(*MAIL_VARIABLES):
        skip("smtp", "the mail settings are wrong")
    else:
        mailers = build_mailers(settings, mailboxes_from(settings))
        for variable, mailer in smtp_servers(settings, mailers):
            try:
                await mailer.check()
                report("smtp", True, mailer.describe())
            except Exception as error:  # whatever it is, the check reports it and goes on
                report("smtp", False, server_problem(variable, mailer.describe(), error))
        if not smtp_servers(settings, mailers):
            folder = settings.mail_dir.resolve()
            report("smtp", True, f"not configured; e-mail goes to the folder {folder}")

    if reading.refused_any(*IMAP_VARIABLES):
        skip("imap", "the IMAP settings are wrong")
    elif settings.imap_url:
        poller = ImapPoller(settings.imap_url, inbox=None, tls_context=build_tls_context(settings))
        try:
            await poller.check()
            report("imap", True, poller.describe())
        except Exception as error:  # whatever it is, the check reports it and goes on
            report("imap", False, server_problem("MEETBOT_IMAP_URL", poller.describe(), error))
    return 2 if failures else 0


def _check_secret_key(settings: Settings, report: _Report) -> None:
    """Say where the key sealing the database's secrets comes from, or that it is missing."""
    problem = missing_key_problem(settings)
    if problem is not None:
        report("secrets", False, problem)
    elif settings.secret_key is not None:
        report("secrets", True, "sealed with MEETBOT_SECRET_KEY")
    else:
        report("secrets", True, f"sealed with the key in {key_file_of(settings).resolve()}")


async def _check_slack(settings: Settings, report: _Report) -> None:
    """Ask Slack who the bot token belongs to."""
    try:
        identity = await build_slack_client(settings).auth_test()
    except SlackApiError as error:
        report(
            "slack",
            False,
            f"SLACK_BOT_TOKEN was refused: auth.test answered {error.response.get('error')}; "
            'copy the Bot User OAuth Token again (README.md, "Create the Slack app")',
        )
    except Exception as error:  # whatever it is, the check reports it and goes on
        report("slack", False, server_problem("SLACK_API_URL", settings.slack_api_url, error))
    else:
        report("slack", True, f"bot {identity.get('user')} in workspace {identity.get('team')}")


if __name__ == "__main__":
    sys.exit(main())
