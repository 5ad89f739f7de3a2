"""Requests to the running app, signed the way Slack signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from tests.fakes.slack_api import FakeSlack


def sign(secret: str, timestamp: str, body: str) -> str:
    """Return Slack's v0 signature of a request body."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class SlackResponse:
    """What the app answered Slack."""

    status: int
    text: str

    def json(self) -> dict[str, Any]:
        """Return the body as JSON (an empty ack is an empty object)."""
        return json.loads(self.text) if self.text.strip() else {}


def state_values(view: dict[str, Any], **typed: Any) -> dict[str, Any]:
    """Return a view's submitted state as Slack builds it: initial values, then what was typed.

    `typed` maps a block id to the value a person entered: text for text inputs,
    a timestamp for datetimepickers, a list of user ids for user pickers, a
    list of option values for checkboxes, an option value for selects and radio
    buttons, "HH:MM" for timepickers, a list of Slack file objects for file inputs,
    "YYYY-MM-DD" for datepickers and text for number inputs.
    """
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        kind = element["type"]
        block_id = block["block_id"]
        given = typed.get(block_id)
        if kind == "plain_text_input":
            state = {
                "type": kind,
                "value": given if given is not None else element.get("initial_value"),
            }
        elif kind == "datetimepicker":
            state = {
                "type": kind,
                "selected_date_time": given
                if given is not None
                else element.get("initial_date_time"),
            }
        elif kind == "multi_users_select":
            state = {
                "type": kind,
                "selected_users": given if given is not None else element.get("initial_users", []),
            }
        elif kind == "checkboxes":
            chosen = (
                given
                if given is not None
                else [o["value"] for o in element.get("initial_options", [])]
            )
            state = {
                "type": kind,
                "selected_options": [o for o in element["options"] if o["value"] in chosen],
            }
        elif kind == "timepicker":
            state = {
                "type": kind,
                "selected_time": given if given is not None else element.get("initial_time"),
            }
        elif kind in ("static_select", "radio_buttons"):
            initial = element.get("initial_option")
            option = next((o for o in element["options"] if o["value"] == given), initial)
            state = {"type": kind, "selected_option": option}
        elif kind == "file_input":
            state = {"type": kind, "files": given or []}
        elif kind == "datepicker":
            state = {
                "type": kind,
                "selected_date": given if given is not None else element.get("initial_date"),
            }
        elif kind == "number_input":
            state = {
                "type": kind,
                "value": given if given is not None else element.get("initial_value"),
            }
        else:
            raise AssertionError(f"the test cannot fill a {kind} yet")
        values[block_id] = {element["action_id"]: state}
    return values


def find_button(
    surface: dict[str, Any], action_id: str, value: str | None = None
) -> tuple[dict[str, Any], str]:
    """Return a button shown in a message or view, and its block id."""
    for block in surface.get("blocks", []):
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if element.get("action_id") == action_id and value in (None, element.get("value")):
                return element, block.get("block_id", "")
    raise AssertionError(f"no button {action_id} ({value}) is shown")


class SlackSender:
    """Send the app what Slack would: slash commands, view submissions, button clicks."""

    def __init__(self, app_url: str, signing_secret: str, slack: FakeSlack, team_id: str) -> None:
        self.app_url = app_url
        self.signing_secret = signing_secret
        self.slack = slack
        self.team_id = team_id

    async def post(
        self,
        body: str,
        *,
        content_type: str,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> SlackResponse:
        """POST a raw body to /slack/events with a signature."""
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": sign(secret or self.signing_secret, stamp, body),
        }
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.app_url}/slack/events", data=body.encode(), headers=headers
            ) as response,
        ):
            return SlackResponse(response.status, await response.text())

    async def command(
        self, user_id: str, text: str = "", *, trigger_id: str | None = None
    ) -> SlackResponse:
        """Type `/meet <text>` as this user."""
        form = {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "team_domain": "acme",
            "channel_id": "C0GENERAL",
            "channel_name": "general",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": "/meet",
            "text": text,
            "api_app_id": "A0MEETBOT",
            "response_url": f"{self.slack.response_url_base}/commands/{user_id}",
            "trigger_id": trigger_id or self.slack.new_trigger_id(),
        }
        return await self.post(urlencode(form), content_type="application/x-www-form-urlencoded")

    async def event(self, event: dict[str, Any]) -> SlackResponse:
        """Deliver an Events API event (JSON body), as Slack's event subscriptions do."""
        body = {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "api_app_id": "A0MEETBOT",
            "type": "event_callback",
            "event_id": f"Ev{time.time_ns()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": self.team_id, "user_id": "UBOT", "is_bot": True}],
            "event": event,
        }
        return await self.post(json.dumps(body), content_type="application/json")

    async def open_home(self, user_id: str) -> SlackResponse:
        """Open the app's Home tab as this user."""
        return await self.event(
            {
                "type": "app_home_opened",
                "user": user_id,
                "channel": f"D{user_id}",
                "tab": "home",
                "event_ts": f"{time.time():.6f}",
            }
        )

    async def interact(self, payload: dict[str, Any]) -> SlackResponse:
        """Send an interactivity payload (form-encoded `payload=`)."""
        return await self.post(
            urlencode({"payload": json.dumps(payload)}),
            content_type="application/x-www-form-urlencoded",
        )

    async def submit_view(self, user_id: str, view: dict[str, Any], **typed: Any) -> SlackResponse:
        """Submit a modal the user has open, with what they typed."""
        return await self.interact(self.view_submission(user_id, view, **typed))

    def view_submission(self, user_id: str, view: dict[str, Any], **typed: Any) -> dict[str, Any]:
        """Return the view_submission payload of a modal the user has open, with what they typed."""
        return {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": "acme"},
            "user": {"id": user_id, "team_id": self.team_id, "name": user_id.lower()},
            "api_app_id": "A0MEETBOT",
            "token": "legacy-verification-token",
            "trigger_id": self.slack.new_trigger_id(),
            "view": {
                **view,
                "team_id": self.team_id,
                "state": {"values": state_values(view, **typed)},
            },
            "response_urls": [],
        }

    def _button_press(
        self, user_id: str, button: dict[str, Any], block_id: str, where: dict[str, Any]
    ) -> dict[str, Any]:
        """Return the block_actions payload Slack sends when a person presses a button."""
        return {
            "type": "block_actions",
            "team": {"id": self.team_id, "domain": "acme"},
            "user": {"id": user_id, "team_id": self.team_id, "name": user_id.lower()},
            "api_app_id": "A0MEETBOT",
            "token": "legacy-verification-token",
            "trigger_id": self.slack.new_trigger_id(),
            **where,
            "actions": [
                {
                    "type": "button",
                    "action_id": button["action_id"],
                    "block_id": block_id,
                    "value": button.get("value"),
                    "text": button["text"],
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }

    async def change_in_view(
        self, user_id: str, opened: dict[str, Any], block_id: str, **typed: Any
    ) -> SlackResponse:
        """Change an input that dispatches actions in an open modal, as Slack reports it.

        `opened` is the fake's record of the view (id, hash, view); `typed` holds what the
        person has entered so far, this change included.
        """
        view = opened["view"]
        values = state_values(view, **typed)
        block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
        element = block["element"]
        action = {
            "type": element["type"],
            "action_id": element["action_id"],
            "block_id": block_id,
            "action_ts": f"{time.time():.6f}",
            **{k: v for k, v in values[block_id][element["action_id"]].items() if k != "type"},
        }
        payload = {
            "type": "block_actions",
            "team": {"id": self.team_id, "domain": "acme"},
            "user": {"id": user_id, "team_id": self.team_id, "name": user_id.lower()},
            "api_app_id": "A0MEETBOT",
            "token": "legacy-verification-token",
            "trigger_id": self.slack.new_trigger_id(),
            "container": {"type": "view", "view_id": opened["id"]},
            "view": {
                **view,
                "id": opened["id"],
                "hash": opened["hash"],
                "team_id": self.team_id,
                "state": {"values": values},
            },
            "actions": [action],
        }
        return await self.interact(payload)

    async def press_in_view(
        self,
        user_id: str,
        opened: dict[str, Any],
        action_id: str,
        value: str | None = None,
        **typed: Any,
    ) -> SlackResponse:
        """Press a button inside an open modal, with the form's current entries."""
        view = opened["view"]
        button, block_id = find_button(view, action_id, value)
        where = {
            "container": {"type": "view", "view_id": opened["id"]},
            "view": {
                **view,
                "id": opened["id"],
                "hash": opened["hash"],
                "team_id": self.team_id,
                "state": {"values": state_values(view, **typed)},
            },
        }
        return await self.interact(self._button_press(user_id, button, block_id, where))

    async def click_on_home(
        self, user_id: str, home: dict[str, Any], action_id: str, value: str | None = None
    ) -> SlackResponse:
        """Press a button on the user's Home tab (the first with this action id, or this value)."""
        button, block_id = find_button(home, action_id, value)
        view_id = home.get("id", "V0HOME")
        where = {
            "container": {"type": "view", "view_id": view_id},
            "view": {**home, "id": view_id, "team_id": self.team_id},
        }
        return await self.interact(self._button_press(user_id, button, block_id, where))

    async def click(
        self,
        user_id: str,
        message: dict[str, Any],
        channel: str,
        action_id: str,
        value: str | None = None,
    ) -> SlackResponse:
        """Press the button with this action id (and value) in a message the user sees."""
        return await self.interact(self.button_press(user_id, message, channel, action_id, value))

    def button_press(
        self,
        user_id: str,
        message: dict[str, Any],
        channel: str,
        action_id: str,
        value: str | None = None,
    ) -> dict[str, Any]:
        """Return the block_actions payload of pressing a button in a message the user sees."""
        button, block_id = find_button(message, action_id, value)
        where = {
            "container": {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": channel,
                "is_ephemeral": False,
            },
            "channel": {"id": channel, "name": "directmessage"},
            "message": message,
            "response_url": f"{self.slack.response_url_base}/actions/{user_id}",
        }
        return self._button_press(user_id, button, block_id, where)
