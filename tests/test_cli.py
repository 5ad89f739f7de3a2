"""The `meetbot` command as an admin uses it: run, db upgrade, check, --version."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import sqlite3
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import ORGANIZER, SECRET_KEY, SIGNING_SECRET, TEAM_ID
from tests.fakes.slack_api import FakeSlack
from tests.support.flows import send_invitations
from tests.support.mailbox import Mailbox
from tests.support.network import free_port
from tests.support.signed import SlackSender

ROOT = Path(__file__).resolve().parent.parent


def meetbot_command() -> str:
    """Return the `meetbot` console script `pip install -e .` made, beside this Python's."""
    found = shutil.which("meetbot", path=sysconfig.get_path("scripts")) or shutil.which("meetbot")
    if found is None:
        pytest.fail('no `meetbot` command: install Meetbot with `pip install -e ".[test]"`')
    return found


MEETBOT = [meetbot_command()]


def clean_environment(**values: str) -> dict[str, str]:
    """Return an environment with no Meetbot or Slack settings but the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MEETBOT_"))}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    env.update(values)
    return env


async def run_meetbot(*arguments: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """Run the command to completion and return its exit status and output."""
    process = await asyncio.create_subprocess_exec(
        *MEETBOT,
        *arguments,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


@pytest.fixture
def busy_port() -> Iterator[int]:
    """Hold a loopback port open, as another program would."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


@dataclass(frozen=True)
class BadSetting:
    """A setting gone wrong, the variable Meetbot's one line must name, and words it must hold.

    In values and words, {closed} is a loopback port nothing listens on, {busy} one another
    program holds, and {tmp} a folder of the test's own.
    """

    name: str
    settings: dict[str, str]
    variable: str
    words: str


BAD_SETTINGS = [
    BadSetting(
        "no-slack-at-all",
        {"SLACK_BOT_TOKEN": "", "SLACK_SIGNING_SECRET": ""},
        "SLACK_BOT_TOKEN",
        'README.md, "Create the Slack app"',
    ),
    BadSetting("user-token", {"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN", "xoxb-"),
    BadSetting(
        "no-signing-secret", {"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"
    ),
    BadSetting("bot-token-as-app-token", {"SLACK_APP_TOKEN": "xoxb-2"}, "SLACK_APP_TOKEN", "xapp-"),
    BadSetting(
        "database-url-unparsable",
        {"MEETBOT_DATABASE_URL": "bogus"},
        "MEETBOT_DATABASE_URL",
        "postgresql+asyncpg://",
    ),
    BadSetting(
        "database-url-no-async-driver",
        {"MEETBOT_DATABASE_URL": "postgresql://meetbot@127.0.0.1/meetbot"},
        "MEETBOT_DATABASE_URL",
        "write postgresql+asyncpg:// instead of postgresql://",
    ),
    BadSetting(
        "database-unknown",
        {"MEETBOT_DATABASE_URL": "oracle+nope://x"},
        "MEETBOT_DATABASE_URL",
        "does not know",
    ),
    BadSetting(
        "database-unreachable",
        {"MEETBOT_DATABASE_URL": "postgresql+asyncpg://meetbot@127.0.0.1:{closed}/meetbot"},
        "MEETBOT_DATABASE_URL",
        "127.0.0.1:{closed}",
    ),
    BadSetting(
        "database-folder-missing",
        {"MEETBOT_DATABASE_URL": "sqlite+aiosqlite:///{tmp}/no/such/folder/meetbot.db"},
        "MEETBOT_DATABASE_URL",
        "folder exists",
    ),
    BadSetting(
        "mailboxes-not-json", {"MEETBOT_MAILBOXES": "notjson"}, "MEETBOT_MAILBOXES", "is not JSON"
    ),
    BadSetting(
        "mailbox-without-address",
        {"MEETBOT_MAILBOXES": '[{"name": "x"}]'},
        "MEETBOT_MAILBOXES",
        'entry 1 ("x") lacks "address"',
    ),
    BadSetting(
        "mailbox-bad-address",
        {"MEETBOT_MAILBOXES": '[{"name": "Sales", "address": "sales"}]'},
        "MEETBOT_MAILBOXES",
        'entry 1 "address"',
    ),
    BadSetting(
        "mail-from-not-an-address",
        {"MEETBOT_MAIL_FROM": "Meet invites"},
        "MEETBOT_MAIL_FROM",
        "Meet <invites@acme.example>",
    ),
    BadSetting(
        "smtp-url-without-scheme",
        {"MEETBOT_SMTP_URL": "mail.example"},
        "MEETBOT_SMTP_URL",
        "smtp://",
    ),
    BadSetting(
        "public-url-without-scheme",
        {"MEETBOT_PUBLIC_URL": "meet.example.com"},
        "MEETBOT_PUBLIC_URL",
        "https://meet.example.com",
    ),
    BadSetting(
        "slack-api-url-without-scheme",
        {"SLACK_API_URL": "slack.com/api/"},
        "SLACK_API_URL",
        "https://",
    ),
    BadSetting(
        "port-not-a-number",
        {"MEETBOT_PORT": "web"},
        "MEETBOT_PORT",
        'must be a whole number, not "web"',
    ),
    BadSetting("port-too-high", {"MEETBOT_PORT": "70000"}, "MEETBOT_PORT", "at most 65535"),
    BadSetting("port-in-use", {"MEETBOT_PORT": "{busy}"}, "MEETBOT_PORT", "port {busy} is taken"),
    BadSetting("host-not-here", {"MEETBOT_HOST": "192.0.2.1"}, "MEETBOT_HOST", "192.0.2.1"),
    BadSetting(
        "inbound-port-in-use",
        {"MEETBOT_INBOUND_SMTP": "127.0.0.1:{busy}"},
        "MEETBOT_INBOUND_SMTP",
        "port {busy} is taken",
    ),
    BadSetting(
        "interval-zero", {"MEETBOT_OUTBOX_INTERVAL": "0"}, "MEETBOT_OUTBOX_INTERVAL", "more than 0"
    ),
    BadSetting(
        "log-format", {"MEETBOT_LOG_FORMAT": "xml"}, "MEETBOT_LOG_FORMAT", "'text' or 'json'"
    ),
    BadSetting(
        "placeholder-secret",
        {"MEETBOT_SECRET_KEY": "changeme"},
        "MEETBOT_SECRET_KEY",
        "32 characters",
    ),
]


# What `db upgrade` reads: the database URL alone.
def bad_setting_cases() -> Iterator[object]:
    """Yield each command with each bad setting it reads; `db upgrade` reads the database's."""
    for bad in BAD_SETTINGS:
        yield pytest.param(["run"], bad, id=f"run-{bad.name}")
        if "MEETBOT_DATABASE_URL" in bad.settings:
            yield pytest.param(["db", "upgrade"], bad, id=f"db-upgrade-{bad.name}")


@pytest.mark.parametrize(("command", "bad"), bad_setting_cases())
async def test_a_bad_setting_stops_meetbot_with_one_line_naming_it_and_what_to_do(
    command: list[str], bad: BadSetting, busy_port: int, tmp_path: Path
) -> None:
    places = {"{closed}": str(free_port()), "{busy}": str(busy_port), "{tmp}": str(tmp_path)}

    def fill(text: str) -> str:
        for place, value in places.items():
            text = text.replace(place, value)
        return text

    env = clean_environment(
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        MEETBOT_SECRET_KEY=SECRET_KEY,
        SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/",
        MEETBOT_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'meetbot.db'}",
        MEETBOT_HOST="127.0.0.1",
        MEETBOT_PORT=str(free_port()),
    )
    env.update({name: fill(value) for name, value in bad.settings.items()})

    status, stdout, stderr = await run_meetbot(*command, env=env, cwd=tmp_path)

    assert status == 2, stderr
    [line] = stderr.splitlines()
    assert line.startswith(f"meetbot: {bad.variable}"), line
    assert fill(bad.words) in line
    assert stdout == ""


def test_the_first_run_points_to_where_the_readme_tells_how_to_create_the_slack_app() -> None:
    headings = re.findall(r"^#+ (.+)$", (ROOT / "README.md").read_text(), flags=re.MULTILINE)
    [first_run] = [bad for bad in BAD_SETTINGS if bad.name == "no-slack-at-all"]

    assert first_run.words.removeprefix("README.md, ").strip('"') in headings


async def test_version_is_the_installed_package_version(tmp_path: Path) -> None:
    status, stdout, _ = await run_meetbot("--version", env=clean_environment(), cwd=tmp_path)

    assert status == 0
    assert stdout.strip() == f"meetbot {version('meetbot')}"


async def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    database = tmp_path / "meetbot.db"
    env = clean_environment(MEETBOT_DATABASE_URL=f"sqlite+aiosqlite:///{database}")

    status, stdout, _ = await run_meetbot("db", "upgrade", env=env, cwd=tmp_path)

    assert status == 0 and "up to date" in stdout
    with sqlite3.connect(database) as connection:
        tables = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    assert {"events", "attendees", "outbox", "alembic_version"} <= tables


async def test_check_reports_each_part_and_fails_on_a_bad_token(
    slack: FakeSlack, mailbox: Mailbox, tmp_path: Path
) -> None:
    env = clean_environment(
        SLACK_BOT_TOKEN=slack.bot_token,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        MEETBOT_SECRET_KEY=SECRET_KEY,
        SLACK_API_URL=slack.api_url,
        MEETBOT_SMTP_URL=mailbox.url,
        MEETBOT_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'meetbot.db'}",
    )

    status, stdout, stderr = await run_meetbot("check", env=env, cwd=tmp_path)
    assert status == 0, stdout
    assert [line.split()[0] for line in stdout.splitlines()] == ["ok"] * 5
    assert "smtp://127.0.0.1" in stdout
    assert "ok   secrets: sealed with MEETBOT_SECRET_KEY" in stdout.splitlines()
    assert stderr == ""  # only its own lines: no library's INFO lines in between

    env["SLACK_BOT_TOKEN"] = "xoxb-revoked"
    status, stdout, stderr = await run_meetbot("check", env=env, cwd=tmp_path)
    assert status == 2
    assert any(
        line.startswith("FAIL slack: SLACK_BOT_TOKEN") and "invalid_auth" in line
        for line in stdout.splitlines()
    )
    assert stderr == ""


async def test_check_reports_every_failing_part_not_just_the_first(
    slack: FakeSlack, tmp_path: Path
) -> None:
    database_port, smtp_port = free_port(), free_port()
    env = clean_environment(
        SLACK_BOT_TOKEN=slack.bot_token,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        MEETBOT_SECRET_KEY=SECRET_KEY,
        SLACK_API_URL=slack.api_url,
        MEETBOT_PORT="web",
        MEETBOT_PUBLIC_URL="meet.example.com",
        MEETBOT_DATABASE_URL=f"postgresql+asyncpg://meetbot@127.0.0.1:{database_port}/meetbot",
        MEETBOT_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
    )

    status, stdout, stderr = await run_meetbot("check", env=env, cwd=tmp_path)

    assert status == 2
    failing = [line for line in stdout.splitlines() if line.startswith("FAIL")]
    assert [line.split(":")[0] for line in failing] == [
        "FAIL settings",
        "FAIL settings",
        "FAIL database",
        "FAIL smtp",
    ]
    assert failing[0].startswith("FAIL settings: MEETBOT_PUBLIC_URL ")
    assert failing[1].startswith("FAIL settings: MEETBOT_PORT ")
    assert f"MEETBOT_DATABASE_URL names postgresql at 127.0.0.1:{database_port}" in failing[2]
    assert f"MEETBOT_SMTP_URL names smtp://127.0.0.1:{smtp_port}" in failing[3]
    assert "ok   slack: bot" in stdout
    assert stderr == ""


async def wait_until_healthy(url: str, process: asyncio.subprocess.Process) -> None:
    """Poll /healthz until the process answers, failing if it exits first."""
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if process.returncode is not None:
                raise AssertionError("meetbot exited before it served anything")
            try:
                async with session.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("meetbot did not answer /healthz")


async def test_run_on_a_laptop_writes_guest_mail_to_a_folder_and_stops_cleanly(
    slack: FakeSlack, tmp_path: Path
) -> None:
    port = free_port()
    env = clean_environment(
        SLACK_BOT_TOKEN=slack.bot_token,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        MEETBOT_SECRET_KEY=SECRET_KEY,
        SLACK_API_URL=slack.api_url,
        MEETBOT_PORT=str(port),
        MEETBOT_HOST="127.0.0.1",
    )
    slack.add_user(ORGANIZER, real_name="Olga Organizer", email="olga@acme.example")
    process = await asyncio.create_subprocess_exec(
        *MEETBOT, "run", env=env, cwd=tmp_path, stderr=asyncio.subprocess.PIPE
    )
    try:
        await wait_until_healthy(f"http://127.0.0.1:{port}", process)
        sender = SlackSender(f"http://127.0.0.1:{port}", SIGNING_SECRET, slack, TEAM_ID)
        await send_invitations(sender, slack, ORGANIZER, guests="bob@client.example")
        folder = tmp_path / "meetbot-mail"
        for _ in range(100):
            if list(folder.glob("*.eml")):
                break
            await asyncio.sleep(0.1)
        written = list(folder.glob("*.eml"))
        assert len(written) == 1
        assert b"bob@client.example" in written[0].read_bytes()
        assert (tmp_path / "meetbot.db").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    log = stderr.decode()
    assert "MEETBOT_SMTP_URL is not set" in log and str(tmp_path / "meetbot-mail") in log
    assert "Traceback" not in log, log


async def test_run_stops_with_one_line_when_slack_refuses_the_app_token(
    slack: FakeSlack, tmp_path: Path
) -> None:
    env = clean_environment(
        SLACK_BOT_TOKEN=slack.bot_token,
        SLACK_APP_TOKEN="xapp-1-revoked",
        SLACK_API_URL=slack.api_url,
        MEETBOT_PORT=str(free_port()),
        MEETBOT_HOST="127.0.0.1",
    )

    status, _, stderr = await run_meetbot("run", env=env, cwd=tmp_path)

    assert status == 2
    assert "meetbot: Slack refused SLACK_APP_TOKEN: invalid_auth" in stderr.splitlines()
    assert "Traceback" not in stderr
