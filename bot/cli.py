"""`meetbot run | db upgrade | check`: the console script."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from pythonjsonlogger.json import JsonFormatter
from slack_sdk.errors import SlackApiError
from sqlalchemy import text

from bot.app import Meetbot, build_mailers, build_slack_client, build_tls_context
from bot.config import Settings, SettingsError, load_database_url, load_settings
from bot.mail.imap import ImapPoller
from bot.mail.transport import SmtpMailer
from bot.mailboxes import mailboxes_from
from storage.database import create_engine, upgrade_database

logger = logging.getLogger("meetbot")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    parser = argparse.ArgumentParser(
        prog="meetbot", description="Meet people outside your company from Slack."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="serve Slack, the guest pages and deliveries")
    database = commands.add_parser("db", help="database maintenance")
    database.add_argument("action", choices=["upgrade"], help="create or migrate the schema")
    commands.add_parser("check", help="check settings, database, Slack and SMTP")
    arguments = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        if arguments.command == "db":
            asyncio.run(_upgrade(load_database_url()))
            print("meetbot: the database is up to date")
            return 0
        settings = load_settings()
    except SettingsError as error:
        print(f"meetbot: {error}", file=sys.stderr)
        return 2
    if settings.log_format == "json":
        use_json_logs()
    if arguments.command == "check":
        return asyncio.run(_check(settings))
    return asyncio.run(_run(settings))


def use_json_logs() -> None:
    """Log one JSON object a line, with any team and event ids the message carries."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields={"levelname": "level"}
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]


async def _upgrade(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade_database(engine)
    finally:
        await engine.dispose()


async def _run(settings: Settings) -> int:
    for mailbox in mailboxes_from(settings).all:
        if not mailbox.smtp_url:
            logger.warning(
                "no SMTP server for %s (MEETBOT_SMTP_URL is not set): guest e-mails are "
                "written as .eml files into %s",
                mailbox.address,
                settings.mail_dir.resolve(),
            )
    meetbot = Meetbot(settings)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    try:
        await meetbot.start()
    except SlackApiError as error:
        variable = "SLACK_APP_TOKEN" if settings.socket_mode else "SLACK_BOT_TOKEN"
        print(f"meetbot: Slack refused {variable}: {error.response.get('error')}", file=sys.stderr)
        await meetbot.stop()
        return 2
    except OSError as error:
        print(f"meetbot: cannot start: {error}", file=sys.stderr)
        await meetbot.stop()
        return 1
    await stopping.wait()
    logger.info("stopping")
    await meetbot.stop()
    return 0


async def _check(settings: Settings) -> int:
    failures = 0

    def report(name: str, ok: bool, detail: str) -> None:
        nonlocal failures
        failures += 0 if ok else 1
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")

    report("settings", True, "read from the environment")
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        report("database", True, engine.url.render_as_string(hide_password=True))
    except Exception as error:
        report("database", False, str(error).splitlines()[0])
    finally:
        await engine.dispose()
    if settings.installs_into_many_workspaces:
        # Each workspace's token arrives through Slack's flow as it installs; none is here.
        report("slack", True, f"workspaces install at {settings.base_url}/slack/install")
    else:
        try:
            identity = await build_slack_client(settings).auth_test()
            report("slack", True, f"bot {identity.get('user')} in workspace {identity.get('team')}")
        except SlackApiError as error:
            report("slack", False, f"auth.test answered {error.response.get('error')}")
        except Exception as error:
            report("slack", False, str(error).splitlines()[0])
    for mailer in {
        id(m): m for m in build_mailers(settings, mailboxes_from(settings)).values()
    }.values():
        if isinstance(mailer, SmtpMailer):
            try:
                await mailer.check()
                report("smtp", True, mailer.describe())
            except Exception as error:
                report("smtp", False, f"{mailer.describe()}: {error}")
        else:
            report("smtp", True, f"not configured; e-mail goes to {mailer.describe()}")
    if settings.imap_url:
        poller = ImapPoller(settings.imap_url, inbox=None, tls_context=build_tls_context(settings))
        try:
            await poller.check()
            report("imap", True, poller.describe())
        except Exception as error:
            report("imap", False, f"{poller.describe()}: {error}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
