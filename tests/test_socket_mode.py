"""Socket Mode: with SLACK_APP_TOKEN set, the real app dials Slack and serves /meet over it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import Meetbot
from tests.conftest import ANA, BEN, ORGANIZER, SIGNING_SECRET, TEAM_ID, make_settings
from tests.fakes.slack_api import FakeSlack
from tests.support.flows import in_days
from tests.support.mailbox import Mailbox
from tests.support.meetings import eventually, texts
from tests.support.network import free_port
from tests.support.processes import nothing_owed, owed_messages, wait_until
from tests.support.signed import SlackSender

# The create modal's input blocks named in DESIGN.md; tests/handlers/test_meet.py checks
# the whole form, this file only that it is the form that Socket Mode brought up.
INPUT_BLOCKS = ["title", "start", "end", "location", "description", "members", "guests", "notify"]


def slash_command(slack: FakeSlack, user_id: str, text: str, trigger_id: str) -> dict[str, Any]:
    """Return a /meet payload as Slack puts it in a slash_commands envelope."""
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "team_domain": "acme",
        "channel_id": "C0GENERAL",
        "channel_name": "general",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": "/meet",
        "text": text,
        "api_app_id": slack.app_id,
        "is_enterprise_install": "false",
        "response_url": f"{slack.response_url_base}/commands/{user_id}",
        "trigger_id": trigger_id,
    }


def pending_tasks(other_than: set[asyncio.Task[Any]]) -> set[asyncio.Task[Any]]:
    """Return the unfinished tasks that were not running before, besides this one."""
    return {
        task
        for task in asyncio.all_tasks()
        if not task.done() and task not in other_than and task is not asyncio.current_task()
    }


async def settled(before: set[asyncio.Task[Any]], timeout: float = 2.0) -> set[asyncio.Task[Any]]:  # noqa: ASYNC109
    """Let cancelled and finishing tasks run out; return those still left after ``timeout``."""
    if left := pending_tasks(before):
        await asyncio.wait(left, timeout=timeout)
    return pending_tasks(before)


async def test_meet_is_served_over_socket_mode_and_not_over_http(
    database_url: str, slack: FakeSlack, mailbox: Mailbox, app_port: int
) -> None:
    settings = make_settings(
        database_url, slack, mailbox, app_port, SLACK_APP_TOKEN=slack.app_token
    )
    assert settings.socket_mode
    before = asyncio.all_tasks()
    app = Meetbot(settings)
    try:
        await app.start()
        await slack.wait_for_socket()
        # The URL was asked for with the app-level token; the fake refuses any other.
        assert len(slack.calls_to("apps.connections.open")) == 1

        trigger_id = slack.new_trigger_id()
        envelope_id = await slack.send_envelope(
            "slash_commands", slash_command(slack, ORGANIZER, "", trigger_id)
        )

        # Slack needs the ack within 3 s (the fake notes a late one in socket_problems).
        # Bolt polls for ack() every 10 ms, so views.open may land before or after it.
        ack = await slack.wait_for_ack(envelope_id)
        assert ack["envelope_id"] == envelope_id
        assert ack.get("payload") in (None, {})  # a bare ack: the answer is the modal
        call = await slack.wait_for("views.open", lambda c: c.args["trigger_id"] == trigger_id)
        view = call.args["view"]
        assert view["type"] == "modal"
        inputs = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
        assert [block_id for block_id in inputs if block_id in INPUT_BLOCKS] == INPUT_BLOCKS
        assert slack.rejected() == []
        assert slack.socket_problems == []
        assert slack.pings_answered >= 1  # the SDK pings at once and counts on the pong

        # Socket Mode has no Slack endpoint on the web server; the guest pages stay.
        sender = SlackSender(settings.base_url, SIGNING_SECRET, slack, TEAM_ID)
        http_trigger = slack.new_trigger_id()
        refused = await sender.command(ORGANIZER, trigger_id=http_trigger)
        assert refused.status == 404
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{settings.base_url}/healthz") as health,
        ):
            assert health.status == 200
        assert not any(c.args.get("trigger_id") == http_trigger for c in slack.calls)
    finally:
        await app.stop()

    await slack.wait_for_disconnect()
    left = await settled(before)
    assert not left, f"tasks left running after stop(): {left}"


async def test_the_app_keeps_one_connection_and_closes_it_on_stop(
    database_url: str, slack: FakeSlack, mailbox: Mailbox, app_port: int
) -> None:
    app = Meetbot(
        make_settings(database_url, slack, mailbox, app_port, SLACK_APP_TOKEN=slack.app_token)
    )
    try:
        await app.start()
        await slack.wait_for_socket()
        assert slack.connected_sockets == 1
    finally:
        await app.stop()
    await slack.wait_for_disconnect()
    assert slack.socket_connections == 1
    assert slack.socket_problems == []


async def test_a_refused_app_token_fails_start_at_once(
    database_url: str, slack: FakeSlack, mailbox: Mailbox, app_port: int
) -> None:
    app = Meetbot(
        make_settings(database_url, slack, mailbox, app_port, SLACK_APP_TOKEN="xapp-1-revoked")
    )
    try:
        async with asyncio.timeout(3):
            await app.start()
    except TimeoutError:
        pytest.fail("start() was still retrying after 3 s")
    except SlackApiError as error:
        assert error.response["error"] == "invalid_auth"
    else:
        pytest.fail("start() succeeded with an app token Slack refuses")
    finally:
        await app.stop()
    assert slack.socket_connections == 0


# -- the fake's side of Socket Mode, as a raw client sees it -----------------


@pytest.fixture
def app_client(slack: FakeSlack) -> AsyncWebClient:
    """Return a Web API client holding the bot token, as the app's is."""
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)


@pytest.fixture
async def socket(
    slack: FakeSlack, app_client: AsyncWebClient
) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """Open a Socket Mode connection the way slack_sdk does, and close it afterwards."""
    opened = await app_client.apps_connections_open(app_token=slack.app_token)
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(opened["url"], autoping=False) as connection,
    ):
        yield connection


async def test_connections_open_takes_only_the_app_token_in_the_header(
    slack: FakeSlack, app_client: AsyncWebClient
) -> None:
    with pytest.raises(SlackApiError) as with_bot_token:
        await app_client.api_call("apps.connections.open", http_verb="POST")
    assert with_bot_token.value.response["error"] == "not_allowed_token_type"

    with pytest.raises(SlackApiError) as in_the_body:
        await AsyncWebClient(base_url=slack.api_url).api_call(
            "apps.connections.open", data={"token": slack.app_token}
        )
    assert in_the_body.value.response["error"] == "invalid_auth"

    with pytest.raises(SlackApiError) as wrong:
        await app_client.apps_connections_open(app_token="xapp-1-someone-else")
    assert wrong.value.response["error"] == "invalid_auth"

    with pytest.raises(SlackApiError) as app_token_for_bot_work:
        await AsyncWebClient(token=slack.app_token, base_url=slack.api_url).auth_test()
    assert app_token_for_bot_work.value.response["error"] == "not_allowed_token_type"

    opened = await app_client.apps_connections_open(app_token=slack.app_token)
    assert opened["url"].startswith("ws://127.0.0.1:")
    assert "ticket=" in opened["url"]


async def test_the_socket_says_hello_answers_pings_and_records_acks(
    slack: FakeSlack, socket: aiohttp.ClientWebSocketResponse
) -> None:
    hello = await socket.receive_json(timeout=5)
    assert hello["type"] == "hello"
    assert hello["num_connections"] == 1
    assert hello["connection_info"] == {"app_id": slack.app_id}
    assert set(hello["debug_info"]) >= {"host", "approximate_connection_time"}
    await slack.wait_for_socket()

    await socket.ping(b"sdk-ping-pong:1")
    pong = await socket.receive(timeout=5)
    assert (pong.type, pong.data) == (WSMsgType.PONG, b"sdk-ping-pong:1")

    envelope_id = await slack.send_envelope("events_api", {"event": {"type": "app_home_opened"}})
    envelope = await socket.receive_json(timeout=5)
    assert envelope == {
        "envelope_id": envelope_id,
        "payload": {"event": {"type": "app_home_opened"}},
        "type": "events_api",
        "accepts_response_payload": False,
        "retry_attempt": 0,
        "retry_reason": "",
    }
    await socket.send_str(json.dumps({"envelope_id": envelope_id}))
    assert await slack.wait_for_ack(envelope_id) == {"envelope_id": envelope_id}
    assert slack.socket_problems == []


async def test_the_fake_reports_what_slack_would_not_accept(
    slack: FakeSlack, socket: aiohttp.ClientWebSocketResponse
) -> None:
    await socket.receive_json(timeout=5)
    await slack.wait_for_socket()
    event = {"event": {"type": "app_home_opened"}}
    envelope_id = await slack.send_envelope("events_api", event)
    last_id = await slack.send_envelope("events_api", event)
    await socket.receive_json(timeout=5)
    await socket.receive_json(timeout=5)

    await socket.send_str("not json")
    await socket.send_str(json.dumps({"envelope_id": "never-sent"}))
    await socket.send_str(json.dumps({"envelope_id": envelope_id, "payload": {"text": "hi"}}))
    await socket.send_str(json.dumps({"envelope_id": envelope_id}))
    await socket.send_str(json.dumps({"envelope_id": last_id}))
    await slack.wait_for_ack(last_id)  # the fake reads in order: all before it are recorded

    assert len(slack.socket_problems) == 4
    assert slack.socket_problems[0].startswith("not JSON")
    assert "never sent" in slack.socket_problems[1]
    assert "takes no response payload" in slack.socket_problems[2]
    assert "acknowledged twice" in slack.socket_problems[3]


async def test_a_socket_url_serves_one_connection(
    slack: FakeSlack, app_client: AsyncWebClient
) -> None:
    opened = await app_client.apps_connections_open(app_token=slack.app_token)
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(opened["url"]) as first:
            assert (await first.receive_json(timeout=5))["type"] == "hello"
        with pytest.raises(aiohttp.WSServerHandshakeError) as second:
            await session.ws_connect(opened["url"])
    assert second.value.status == 401
    assert slack.socket_connections == 1


async def test_stop_closes_open_sockets_as_going_away(
    slack: FakeSlack, socket: aiohttp.ClientWebSocketResponse
) -> None:
    await socket.receive_json(timeout=5)
    await slack.wait_for_socket()

    stopping = asyncio.create_task(slack.stop())
    closing = await socket.receive(timeout=5)
    await stopping

    assert closing.type == WSMsgType.CLOSE
    assert closing.data == aiohttp.WSCloseCode.GOING_AWAY
    assert slack.connected_sockets == 0


# -- several connections: two Meetbot processes' worth on one database -------


def meet_form_entries(start: datetime) -> dict[str, Any]:
    """Return what the organizer types into the create form."""
    return {
        "title": "Design review",
        "start": int(start.timestamp()),
        "end": int((start + timedelta(minutes=45)).timestamp()),
        "location": "Room 4",
        "description": "Walk through the new onboarding.",
        "members": [ANA],
        "guests": "bob@client.example\ncleo@client.example",
        "notify": ["notify"],
        "reminder": "15",
    }


def home_opened(slack: FakeSlack, user_id: str) -> dict[str, Any]:
    """Return an app_home_opened event as Slack puts it in an events_api envelope."""
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": slack.app_id,
        "type": "event_callback",
        "event_id": "Ev0HOME0001",
        "event_time": 1_700_000_000,
        "event": {
            "type": "app_home_opened",
            "user": user_id,
            "channel": f"D{user_id}",
            "tab": "home",
            "event_ts": "1700000000.000100",
        },
    }


async def test_two_connections_serve_meet_and_a_redelivered_envelope_creates_nothing_twice(
    postgres_database: str, slack: FakeSlack, mailbox: Mailbox
) -> None:
    # Several processes share PostgreSQL, not a SQLite file.
    apps = [
        Meetbot(
            make_settings(
                postgres_database, slack, mailbox, free_port(), SLACK_APP_TOKEN=slack.app_token
            )
        )
        for _ in range(2)
    ]
    try:
        for count, app in enumerate(apps, start=1):
            await app.start()
            await slack.wait_for_socket(count=count)
        first, second = slack.open_connections
        sender = SlackSender(apps[0].settings.base_url, SIGNING_SECRET, slack, TEAM_ID)

        # /meet reaches the first process; the form's submission the second.
        trigger_id = slack.new_trigger_id()
        command = await slack.send_envelope(
            "slash_commands", slash_command(slack, ORGANIZER, "", trigger_id), connection=first
        )
        await slack.wait_for_ack(command)
        opened = await slack.wait_for("views.open", lambda c: c.args["trigger_id"] == trigger_id)
        view = {**opened.args["view"], "id": opened.response["view"]["id"]}
        submission = sender.view_submission(ORGANIZER, view, **meet_form_entries(in_days(2)))
        submitted = await slack.send_envelope("interactive", submission, connection=second)
        answer = (await slack.wait_for_ack(submitted))["payload"]
        # Slack gives the same submission again, to the other process.
        again = await slack.redeliver(submitted, connection=first)
        await slack.wait_for_ack(again)
        # The organizer's first guests: the sending mailbox shown over the form is confirmed,
        # and that answer too is delivered twice, to either process.
        assert answer["response_action"] == "push"
        confirmed = sender.view_submission(ORGANIZER, answer["view"])
        confirmation = await slack.send_envelope("interactive", confirmed, connection=first)
        assert (await slack.wait_for_ack(confirmation))["payload"] == {"response_action": "clear"}
        await slack.wait_for_ack(await slack.redeliver(confirmation, connection=second))

        await mailbox.wait_for(2)
        await eventually(lambda: slack.messages(ANA), timeout=10)
        invitation = slack.messages(ANA)[0]

        # Ana's Accept reaches the second process and, again, the first.
        press = sender.button_press(ANA, invitation, slack.dm_channel(ANA), "answer_accepted")
        accepted = await slack.send_envelope("interactive", press, connection=second)
        accepted_again = await slack.redeliver(accepted, connection=first)
        await slack.wait_for_ack(accepted)
        await slack.wait_for_ack(accepted_again)

        # The Home tab: the first delivery is handled, Slack's retry of it is not.
        home = await slack.send_envelope("events_api", home_opened(slack, BEN), connection=first)
        await slack.wait_for_ack(home)
        await slack.wait_for("views.publish", lambda c: c.args["user_id"] == BEN)
        await slack.wait_for_ack(await slack.redeliver(home, connection=second))
        await wait_until(lambda: nothing_owed(postgres_database), timeout=20)
    finally:
        for app in apps:
            await app.stop()  # waits for listeners still at work after their ack

    assert slack.socket_problems == []
    assert sorted(r for m in mailbox.received for r in m.recipients) == [
        "bob@client.example",
        "cleo@client.example",
    ]
    assert len(slack.messages(ANA)) == 1
    assert "Your answer: *accepted*" in texts(slack.messages(ANA)[0])
    organizer = slack.messages(ORGANIZER)
    # The summary, and one notice of Ana's decision.
    assert len(organizer) == 2, [texts(m)[:200] for m in organizer]
    assert f"<@{ANA}> accepted" in texts(organizer[1])
    assert len([c for c in slack.calls_to("views.publish") if c.args["user_id"] == BEN]) == 1
    assert len(await owed_messages(postgres_database, "guest_invitation")) == 2


async def test_the_fake_holds_ten_connections_and_delivers_to_the_one_chosen(
    slack: FakeSlack, app_client: AsyncWebClient
) -> None:
    async with aiohttp.ClientSession() as session:
        sockets = []
        for number in range(1, 11):
            opened = await app_client.apps_connections_open(app_token=slack.app_token)
            socket = await session.ws_connect(opened["url"], autoping=False)
            hello = await socket.receive_json(timeout=5)
            assert hello["num_connections"] == number
            sockets.append(socket)
        await slack.wait_for_socket(count=10)
        opened = await app_client.apps_connections_open(app_token=slack.app_token)
        with pytest.raises(aiohttp.WSServerHandshakeError) as eleventh:
            await session.ws_connect(opened["url"])
        assert eleventh.value.status == 429
        assert slack.open_connections == list(range(1, 11))

        event = {"type": "event_callback", "event": {"type": "app_home_opened"}}
        envelope_id = await slack.send_envelope("events_api", event, connection=3)
        received = await sockets[2].receive_json(timeout=5)
        assert received["envelope_id"] == envelope_id and received["retry_attempt"] == 0
        retry_id = await slack.redeliver(envelope_id, connection=7)
        retried = await sockets[6].receive_json(timeout=5)
        assert retried["envelope_id"] == retry_id != envelope_id
        assert (retried["retry_attempt"], retried["retry_reason"]) == (1, "timeout")
        assert retried["payload"] == event
        # Nobody else was given either envelope.
        for other in sockets[:2] + sockets[3:6] + sockets[7:]:
            with pytest.raises(TimeoutError):
                await other.receive_json(timeout=0.05)
        for socket in sockets:
            await socket.close()
    assert slack.socket_problems[-1].endswith("the app already holds 10 connections")
