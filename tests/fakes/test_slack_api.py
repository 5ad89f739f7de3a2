"""The fake Slack Web API answers and refuses like Slack, over real HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import FakeSlack


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """Run a fake Slack for one test."""
    fake = FakeSlack()
    fake.add_user("U1ANA", real_name="Ana Nowak", email="ana@example.com")
    fake.add_user("U2BOB", real_name="Bob Smith", email=None, tz="America/New_York")
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    """Return the real slack_sdk client pointed at the fake."""
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)


def plain(text: str) -> dict[str, Any]:
    """Return a plain_text object."""
    return {"type": "plain_text", "text": text, "emoji": True}


def section(text: str, block_id: str | None = None) -> dict[str, Any]:
    """Return a mrkdwn section block."""
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id is not None:
        block["block_id"] = block_id
    return block


def title_input() -> dict[str, Any]:
    """Return an input block with a plain-text input."""
    return {
        "type": "input",
        "block_id": "title",
        "label": plain("Title"),
        "element": {"type": "plain_text_input", "action_id": "value", "max_length": 150},
    }


def modal(title: str = "New meeting", blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Return a small valid modal."""
    return {
        "type": "modal",
        "callback_id": "meet_create",
        "title": plain(title),
        "submit": plain("Send"),
        "close": plain("Cancel"),
        "blocks": blocks if blocks is not None else [title_input()],
    }


async def refusal(call: Awaitable[Any]) -> dict[str, Any]:
    """Await a client call that must fail and return Slack's answer."""
    with pytest.raises(SlackApiError) as caught:
        await call
    data: dict[str, Any] = caught.value.response.data
    return data


def explained(answer: dict[str, Any], fragment: str) -> bool:
    """Tell whether one of the answer's response_metadata messages mentions ``fragment``."""
    return any(fragment in m for m in answer.get("response_metadata", {}).get("messages", []))


async def test_valid_modal_opens_and_can_be_updated(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    opened = await client.views_open(trigger_id=slack.new_trigger_id(), view=modal())
    view = opened["view"]
    assert view["id"].startswith("V") and view["hash"] and view["title"]["text"] == "New meeting"

    updated = await client.views_update(
        view_id=view["id"], hash=view["hash"], view=modal(title="Edit meeting")
    )

    assert updated["view"]["id"] == view["id"]
    assert updated["view"]["hash"] != view["hash"]
    [current] = slack.opened_views()
    assert current["id"] == view["id"] and current["hash"] == updated["view"]["hash"]
    assert current["view"]["title"]["text"] == "Edit meeting"
    call = await slack.wait_for("views.update", lambda c: c.args["view_id"] == view["id"])
    assert call.args["view"]["title"]["text"] == "Edit meeting"


async def test_a_stale_hash_is_refused(slack: FakeSlack, client: AsyncWebClient) -> None:
    view = (await client.views_open(trigger_id=slack.new_trigger_id(), view=modal()))["view"]
    await client.views_update(view_id=view["id"], hash=view["hash"], view=modal(title="Second"))

    answer = await refusal(
        client.views_update(view_id=view["id"], hash=view["hash"], view=modal(title="Third"))
    )

    assert answer["error"] == "hash_conflict"
    assert slack.opened_views()[0]["view"]["title"]["text"] == "Second"
    assert [error for _, error in slack.rejected()] == ["hash_conflict"]


async def test_an_unknown_view_is_not_found(client: AsyncWebClient) -> None:
    answer = await refusal(client.views_update(view_id="V0NOPE", view=modal()))

    assert answer["error"] == "not_found"


async def test_a_message_of_51_blocks_is_refused(slack: FakeSlack, client: AsyncWebClient) -> None:
    blocks = [section(f"line {n}") for n in range(51)]

    answer = await refusal(client.chat_postMessage(channel="U1ANA", text="many", blocks=blocks))

    assert answer["error"] == "invalid_blocks"
    assert explained(answer, "no more than 50 items")
    assert slack.messages("U1ANA") == []
    [(call, error)] = slack.rejected()
    assert call.method == "chat.postMessage" and error == "invalid_blocks"


async def test_a_section_over_3000_characters_is_refused(client: AsyncWebClient) -> None:
    answer = await refusal(
        client.chat_postMessage(channel="U1ANA", text="long", blocks=[section("x" * 3001)])
    )

    assert answer["error"] == "invalid_blocks"
    assert explained(answer, "json-pointer:/blocks/0/text/text")


async def test_a_duplicate_block_id_is_refused(client: AsyncWebClient) -> None:
    blocks = [section("one", block_id="same"), section("two", block_id="same")]

    answer = await refusal(client.chat_postMessage(channel="U1ANA", text="dup", blocks=blocks))

    assert answer["error"] == "invalid_blocks"
    assert explained(answer, "duplicate block_id 'same'")


async def test_a_duplicate_block_id_in_a_modal_is_refused(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    view = modal(blocks=[title_input(), title_input()])

    answer = await refusal(client.views_open(trigger_id=slack.new_trigger_id(), view=view))

    assert answer["error"] == "invalid_arguments"
    assert explained(answer, "json-pointer:/view/blocks/1/block_id")


async def test_an_input_block_in_a_message_is_refused(client: AsyncWebClient) -> None:
    answer = await refusal(
        client.chat_postMessage(channel="U1ANA", text="form", blocks=[title_input()])
    )

    assert answer["error"] == "invalid_blocks"
    assert explained(answer, "only allowed in modals")


async def test_a_modal_title_over_24_characters_is_refused(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    answer = await refusal(
        client.views_open(trigger_id=slack.new_trigger_id(), view=modal(title="x" * 25))
    )

    assert answer["error"] == "invalid_arguments"
    assert explained(answer, "json-pointer:/view/title/text")
    assert slack.opened_views() == []


async def test_a_trigger_id_opens_one_view_only(slack: FakeSlack, client: AsyncWebClient) -> None:
    trigger_id = slack.new_trigger_id()
    await client.views_open(trigger_id=trigger_id, view=modal())

    answer = await refusal(client.views_open(trigger_id=trigger_id, view=modal()))

    assert answer["error"] == "exchanged_trigger_id"
    assert len(slack.opened_views()) == 1


async def test_an_unknown_or_expired_trigger_id_is_refused(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    unknown = await refusal(client.views_open(trigger_id="123.456.abc", view=modal()))
    slack.trigger_lifetime = 0.05
    trigger_id = slack.new_trigger_id()
    await asyncio.sleep(0.1)
    expired = await refusal(client.views_open(trigger_id=trigger_id, view=modal()))

    assert unknown["error"] == "invalid_trigger_id"
    assert expired["error"] == "expired_trigger_id"


async def test_a_wrong_or_missing_token_is_refused(slack: FakeSlack) -> None:
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=slack.api_url)
    anonymous = AsyncWebClient(base_url=slack.api_url)

    assert (await refusal(wrong.auth_test()))["error"] == "invalid_auth"
    assert (await refusal(anonymous.auth_test()))["error"] == "not_authed"


async def test_auth_test_names_the_bot(slack: FakeSlack, client: AsyncWebClient) -> None:
    answer = await client.auth_test()

    assert answer["user_id"] == slack.bot_user_id and answer["team_id"] == slack.team_id


async def test_users_info_describes_a_member(client: AsyncWebClient) -> None:
    ana = (await client.users_info(user="U1ANA"))["user"]
    bob = (await client.users_info(user="U2BOB"))["user"]

    warsaw_offset = datetime.now(tz=ZoneInfo("Europe/Warsaw")).utcoffset()
    assert warsaw_offset is not None
    assert ana["tz"] == "Europe/Warsaw" and ana["tz_offset"] == warsaw_offset.total_seconds()
    assert ana["profile"]["email"] == "ana@example.com" and ana["real_name"] == "Ana Nowak"
    assert ana["is_bot"] is False and ana["deleted"] is False
    assert "email" not in bob["profile"]
    assert (await refusal(client.users_info(user="U9NOBODY")))["error"] == "user_not_found"


async def test_users_info_tells_the_locale_only_when_asked(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.add_user("U3PIOTR", real_name="Piotr Nowak", email=None, locale="pl-PL")

    assert "locale" not in (await client.users_info(user="U3PIOTR"))["user"]
    asked = await client.users_info(user="U3PIOTR", include_locale=True)
    assert asked["user"]["locale"] == "pl-PL"
    assert (await client.users_info(user="U1ANA", include_locale=True))["user"]["locale"] == "en-US"


async def test_a_dm_is_posted_and_updated(slack: FakeSlack, client: AsyncWebClient) -> None:
    channel = (await client.conversations_open(users="U1ANA"))["channel"]["id"]
    posted = await client.chat_postMessage(channel=channel, text="Invite", blocks=[section("v1")])

    await client.chat_update(
        channel=channel, ts=posted["ts"], text="Invite (edited)", blocks=[section("v2")]
    )

    assert channel == slack.dm_channel("U1ANA")
    [message] = slack.messages(channel)
    assert message["ts"] == posted["ts"]
    assert message["text"] == "Invite (edited)"
    assert message["blocks"] == [section("v2")]
    assert [c.args["ts"] for c in slack.calls_to("chat.update")] == [posted["ts"]]


async def test_a_dms_history_shows_newest_first_with_metadata_when_asked(
    client: AsyncWebClient,
) -> None:
    channel = (await client.conversations_open(users="U1ANA"))["channel"]["id"]
    tagged = {"event_type": "meetbot_delivery", "event_payload": {"entry": 7}}
    first = await client.chat_postMessage(channel=channel, text="one", metadata=tagged)
    await client.chat_postMessage(channel=channel, text="two")

    plain_history = await client.conversations_history(channel=channel, limit=10)
    full = await client.conversations_history(channel=channel, include_all_metadata=True)
    later = await client.conversations_history(channel=channel, oldest=first["ts"])
    bad = await refusal(
        client.chat_postMessage(channel=channel, text="x", metadata={"event_type": "a b"})
    )

    assert [m["text"] for m in plain_history["messages"]] == ["two", "one"]
    assert all("metadata" not in m for m in plain_history["messages"])
    assert full["messages"][1]["metadata"] == tagged and "metadata" not in full["messages"][0]
    assert [m["text"] for m in later["messages"]] == ["two"]
    assert bad["error"] == "invalid_metadata_format"


async def test_posting_to_a_user_id_lands_in_their_dm(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    first = await client.chat_postMessage(channel="U2BOB", text="one")
    second = await client.chat_postMessage(channel="U2BOB", text="two")

    assert first["channel"] == second["channel"] == slack.dm_channel("U2BOB")
    assert float(first["ts"]) < float(second["ts"])
    assert [m["text"] for m in slack.messages(slack.dm_channel("U2BOB"))] == ["one", "two"]


async def test_posting_needs_a_known_channel_and_some_text(client: AsyncWebClient) -> None:
    unknown_channel = await refusal(client.chat_postMessage(channel="C0GENERAL", text="hi"))
    unopened_dm = await refusal(client.chat_postMessage(channel="DU1ANA", text="hi"))
    with pytest.warns(UserWarning, match="top-level `text` argument is missing"):
        no_text = await refusal(client.chat_postMessage(channel="U1ANA"))
    too_long = await refusal(client.chat_postMessage(channel="U1ANA", text="x" * 40_001))

    assert unknown_channel["error"] == "channel_not_found"
    assert unopened_dm["error"] == "channel_not_found"
    assert no_text["error"] == "no_text"
    assert too_long["error"] == "msg_too_long"


async def test_updating_an_unknown_message_is_refused(client: AsyncWebClient) -> None:
    channel = (await client.conversations_open(users="U1ANA"))["channel"]["id"]

    answer = await refusal(client.chat_update(channel=channel, ts="1.000001", text="x"))

    assert answer["error"] == "message_not_found"


async def test_an_ephemeral_message_is_recorded(slack: FakeSlack, client: AsyncWebClient) -> None:
    answer = await client.chat_postEphemeral(channel="C0GENERAL", user="U1ANA", text="Only you")

    [shown] = slack.ephemeral_messages("U1ANA")
    assert shown["ts"] == answer["message_ts"] and shown["text"] == "Only you"


async def test_a_home_tab_is_published_and_replaced(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    home = {"type": "home", "blocks": [section("Your meetings")]}
    first = await client.views_publish(user_id="U1ANA", view=home)
    second = await client.views_publish(user_id="U1ANA", view={**home, "blocks": [section("None")]})
    wrong_type = await refusal(client.views_publish(user_id="U1ANA", view=modal()))

    assert first["view"]["id"] == second["view"]["id"]
    assert wrong_type["error"] == "invalid_arguments"
    [current] = slack.opened_views()
    assert current["user_id"] == "U1ANA" and current["view"]["blocks"] == [section("None")]


@pytest.mark.parametrize(
    ("view", "pointer"),
    [
        pytest.param(
            {k: v for k, v in modal().items() if k != "submit"},
            "/view/submit",
            id="input-needs-submit",
        ),
        pytest.param(
            modal(
                blocks=[
                    {
                        **title_input(),
                        "element": {
                            "type": "plain_text_input",
                            "action_id": "value",
                            "max_length": 5,
                            "initial_value": "too long",
                        },
                    }
                ]
            ),
            "/view/blocks/0/element/initial_value",
            id="initial-value-over-max-length",
        ),
        pytest.param(
            {**modal(), "private_metadata": "x" * 3001}, "/view/private_metadata", id="metadata"
        ),
        pytest.param({**modal(), "colour": "red"}, "/view/colour", id="unknown-view-key"),
        pytest.param(
            modal(
                blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "x", "emoji": True}}]
            ),
            "/view/blocks/0/text/emoji",
            id="emoji-on-mrkdwn",
        ),
        pytest.param(
            modal(blocks=[{"type": "header", "text": {"type": "mrkdwn", "text": "Hi"}}]),
            "/view/blocks/0/text/type",
            id="mrkdwn-header",
        ),
        pytest.param(
            modal(blocks=[{**section("x"), "accesory": {"type": "button", "text": plain("Go")}}]),
            "/view/blocks/0/accesory",
            id="misspelt-key",
        ),
        pytest.param(
            modal(blocks=[{"type": "sectoin", "text": {"type": "mrkdwn", "text": "x"}}]),
            "/view/blocks/0/type",
            id="unknown-block-type",
        ),
        pytest.param(
            modal(
                blocks=[
                    {
                        **title_input(),
                        "element": {
                            "type": "static_select",
                            "action_id": "value",
                            "options": [{"text": plain("A"), "value": "a"}],
                            "initial_option": {"text": plain("B"), "value": "b"},
                        },
                    }
                ]
            ),
            "/view/blocks/0/element/initial_option",
            id="initial-option-not-offered",
        ),
        pytest.param(
            modal(
                blocks=[
                    {
                        "type": "actions",
                        "elements": [
                            {
                                "type": "button",
                                "action_id": "go",
                                "text": plain("x" * 76),
                                "value": "v",
                            }
                        ],
                    }
                ]
            ),
            "/view/blocks/0/elements/0/text/text",
            id="button-text",
        ),
    ],
)
async def test_a_view_slack_would_refuse_is_refused(
    slack: FakeSlack, client: AsyncWebClient, view: dict[str, Any], pointer: str
) -> None:
    answer = await refusal(client.views_open(trigger_id=slack.new_trigger_id(), view=view))

    assert answer["error"] == "invalid_arguments"
    assert explained(answer, f"[json-pointer:{pointer}]"), answer


async def test_a_refused_view_leaves_the_trigger_usable(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    trigger_id = slack.new_trigger_id()
    await refusal(client.views_open(trigger_id=trigger_id, view=modal(title="x" * 25)))

    await client.views_open(trigger_id=trigger_id, view=modal())

    assert len(slack.calls_to("views.open")) == 1


async def test_a_rate_limit_answers_429_with_retry_after(slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", "ratelimited", status=429, retry_after=7)
    headers = {"Authorization": f"Bearer {slack.bot_token}"}
    payload = {"channel": "U1ANA", "text": "hi"}

    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.post(f"{slack.api_url}chat.postMessage", json=payload) as limited:
            limited_body = await limited.json()
        async with session.post(f"{slack.api_url}chat.postMessage", json=payload) as retried:
            retried_body = await retried.json()

    assert limited.status == 429 and limited.headers["Retry-After"] == "7"
    assert limited_body == {"ok": False, "error": "ratelimited"}
    assert retried.status == 200 and retried_body["ok"] is True
    assert [error for _, error in slack.rejected()] == ["ratelimited"]


async def test_fail_next_fails_only_the_next_call(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.fail_next("users.info")

    failed = await refusal(client.users_info(user="U1ANA"))
    await client.users_info(user="U1ANA")

    assert failed["error"] == "internal_error"
    assert len(slack.calls_to("users.info")) == 1


async def test_form_encoded_calls_with_json_strings_are_decoded(slack: FakeSlack) -> None:
    blocks = [section("from a form")]
    form = {"token": slack.bot_token, "channel": "U1ANA", "blocks": json.dumps(blocks)}

    url = f"{slack.api_url}chat.postMessage"
    async with aiohttp.ClientSession() as session, session.post(url, data=form) as response:
        body = await response.json()

    assert body["ok"] is True
    [call] = slack.calls_to("chat.postMessage")
    assert call.args["blocks"] == blocks and "token" not in call.args


async def test_an_unknown_method_is_refused(client: AsyncWebClient) -> None:
    answer = await refusal(client.api_call("chat.postMesage", json={"channel": "U1ANA"}))

    assert answer["error"] == "unknown_method"


async def test_wait_for_explains_a_timeout(slack: FakeSlack, client: AsyncWebClient) -> None:
    await refusal(client.chat_postMessage(channel="C0NOWHERE", text="hi"))

    with pytest.raises(AssertionError, match=r"no successful chat\.postMessage") as caught:
        await slack.wait_for("chat.postMessage", timeout=0.05)

    assert "ERR channel_not_found chat.postMessage" in str(caught.value)


async def test_wait_for_returns_a_call_made_while_waiting(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    waiting = asyncio.create_task(
        slack.wait_for("chat.postMessage", lambda c: c.args["text"] == "second")
    )
    await client.chat_postMessage(channel="U1ANA", text="first")
    await client.chat_postMessage(channel="U1ANA", text="second")

    call = await waiting

    assert call.args["text"] == "second"


async def install_beta(slack: FakeSlack, *, rotation: bool) -> dict[str, Any]:
    """Install the app into a second workspace through oauth.v2.access; return the answer."""
    slack.add_workspace("T2BETA", name="Beta", bot_user_id="U2BETABOT")
    slack.add_user("U2BEA", real_name="Bea Beta", email="bea@beta.example", team_id="T2BETA")
    slack.token_rotation = rotation
    code = slack.approve_install(
        f"https://slack.com/oauth/v2/authorize?client_id={slack.client_id}&scope=commands"
        "&state=s1&redirect_uri=https://meet.example/slack/oauth_redirect",
        team_id="T2BETA",
        user_id="U2BEA",
    )
    answer = await AsyncWebClient(base_url=slack.api_url).oauth_v2_access(
        client_id=slack.client_id,
        client_secret=slack.client_secret,
        code=code,
        redirect_uri="https://meet.example/slack/oauth_redirect",
    )
    return answer.data  # type: ignore[return-value]


async def test_a_workspaces_token_sees_only_its_own_people(slack: FakeSlack) -> None:
    answer = await install_beta(slack, rotation=False)
    beta = AsyncWebClient(token=answer["access_token"], base_url=slack.api_url)

    assert answer["team"] == {"name": "Beta", "id": "T2BETA"}
    assert answer["bot_user_id"] == "U2BETABOT" and answer["token_type"] == "bot"
    assert (await beta.auth_test())["team_id"] == "T2BETA"
    assert (await beta.users_info(user="U2BEA"))["user"]["team_id"] == "T2BETA"
    with pytest.raises(SlackApiError) as refused:
        await beta.users_info(user="U1ANA")
    assert refused.value.response["error"] == "user_not_found"
    with pytest.raises(SlackApiError) as refused:
        await beta.chat_postMessage(channel="U1ANA", text="hello from Beta")
    assert refused.value.response["error"] == "channel_not_found"


async def test_a_code_works_once_and_only_with_the_apps_secret(slack: FakeSlack) -> None:
    await install_beta(slack, rotation=False)
    code = slack.approve_install(
        f"https://slack.com/oauth/v2/authorize?client_id={slack.client_id}&scope=commands&state=s",
        team_id="T2BETA",
        user_id="U2BEA",
    )
    anonymous = AsyncWebClient(base_url=slack.api_url)

    with pytest.raises(SlackApiError) as refused:
        await anonymous.oauth_v2_access(client_id=slack.client_id, client_secret="nope", code=code)
    assert refused.value.response["error"] == "bad_client_secret"
    await anonymous.oauth_v2_access(
        client_id=slack.client_id, client_secret=slack.client_secret, code=code
    )
    with pytest.raises(SlackApiError) as refused:
        await anonymous.oauth_v2_access(
            client_id=slack.client_id, client_secret=slack.client_secret, code=code
        )
    assert refused.value.response["error"] == "invalid_code"


async def test_rotating_tokens_expire_refresh_once_and_die_with_the_uninstall(
    slack: FakeSlack,
) -> None:
    slack.token_lifetime_seconds = 1
    answer = await install_beta(slack, rotation=True)
    anonymous = AsyncWebClient(base_url=slack.api_url)
    assert answer["expires_in"] == 1 and answer["access_token"].startswith("xoxe.xoxb-")

    await asyncio.sleep(1.1)
    with pytest.raises(SlackApiError) as refused:
        await AsyncWebClient(token=answer["access_token"], base_url=slack.api_url).auth_test()
    assert refused.value.response["error"] == "token_expired"
    refreshed = await anonymous.oauth_v2_access(
        client_id=slack.client_id,
        client_secret=slack.client_secret,
        grant_type="refresh_token",
        refresh_token=answer["refresh_token"],
    )
    renewed = AsyncWebClient(token=refreshed["access_token"], base_url=slack.api_url)
    assert (await renewed.auth_test())["team_id"] == "T2BETA"
    with pytest.raises(SlackApiError) as refused:
        await anonymous.oauth_v2_access(
            client_id=slack.client_id,
            client_secret=slack.client_secret,
            grant_type="refresh_token",
            refresh_token=answer["refresh_token"],
        )
    assert refused.value.response["error"] == "invalid_refresh_token"

    slack.uninstall("T2BETA")
    with pytest.raises(SlackApiError) as refused:
        await renewed.auth_test()
    assert refused.value.response["error"] == "token_revoked"
