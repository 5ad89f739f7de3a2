"""The `meetbot` command as an admin uses it: run, db upgrade, check."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import ORGANIZER, SIGNING_SECRET, TEAM_ID
from tests.fakes.slack_api import FakeSlack
from tests.support.flows import send_invitations
from tests.support.mailbox import Mailbox
from tests.support.network import free_port
from tests.support.signed import SlackSender

MEETBOT = [sys.executable, "-m", "bot.cli"]


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


@pytest.mark.parametrize(
    ("settings", "variable"),
    [
        ({}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"}, "SLACK_APP_TOKEN"),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "MEETBOT_PORT": "web"},
            "MEETBOT_PORT",
        ),
        (
            {
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_SIGNING_SECRET": "s",
                "MEETBOT_SMTP_URL": "mail.example",
            },
            "MEETBOT_SMTP_URL",
        ),
        (
            {
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_SIGNING_SECRET": "s",
                "MEETBOT_SECRET_KEY": "changeme",
            },
            "MEETBOT_SECRET_KEY",
        ),
    ],
)
async def test_a_missing_or_wrong_setting_stops_run_with_one_line_naming_it(
    settings: dict[str, str], variable: str, tmp_path: Path
) -> None:
    status, _, stderr = await run_meetbot("run", env=clean_environment(**settings), cwd=tmp_path)

    assert status == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"meetbot: {variable}")
    assert "Traceback" not in stderr


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
        SLACK_API_URL=slack.api_url,
        MEETBOT_SMTP_URL=mailbox.url,
        MEETBOT_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'meetbot.db'}",
    )

    status, stdout, _ = await run_meetbot("check", env=env, cwd=tmp_path)
    assert status == 0, stdout
    assert [line.split()[0] for line in stdout.splitlines()] == ["ok"] * 4
    assert "smtp://127.0.0.1" in stdout

    env["SLACK_BOT_TOKEN"] = "xoxb-revoked"
    status, stdout, _ = await run_meetbot("check", env=env, cwd=tmp_path)
    assert status == 1
    assert any(
        line.startswith("FAIL slack") and "invalid_auth" in line for line in stdout.splitlines()
    )


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
