"""A strict fake of the Slack Web API, served over real HTTP on 127.0.0.1.

The app under test talks to it through an unmodified ``AsyncWebClient`` whose
``base_url`` is ``FakeSlack.api_url``. The fake answers like Slack (HTTP 200,
``{"ok": false, "error": ...}``) and refuses every payload Slack would refuse:
Block Kit is checked by explicit rules for the documented limits and then by a
round trip through ``slack_sdk.models`` that catches unknown keys and types.

Tokens belong to workspaces: the constructor's bot token speaks for ``team_id``,
and more workspaces install the app through Slack's OAuth v2 flow
(``approve_install`` stands for a person pressing Allow on Slack's page, then
``oauth.v2.access`` exchanges the code; with ``token_rotation`` on, tokens expire
and ``grant_type=refresh_token`` hands out new ones). A token sees only its own
workspace's people, conversations and views; expired, revoked or unknown tokens
are refused as Slack refuses them.

It also plays Slack's side of Socket Mode: ``apps.connections.open`` (app-level
token only) hands out a one-use WebSocket URL on the same server; the app
connects, is greeted with ``hello``, receives envelopes from ``send_envelope``
and must acknowledge each one (within 3 s, as Slack requires). Like Slack it
holds up to ten connections of one app and gives each envelope to one of them
(the test may choose which); ``redeliver`` sends an envelope's payload again, as
Slack retries an event that was not acknowledged in time.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import itertools
import json
import re
import secrets
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from aiohttp import WSCloseCode, WSMsgType, web
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

# Slack's documented limits (https://docs.slack.dev/reference/block-kit/).
MESSAGE_MAX_BLOCKS = 50
VIEW_MAX_BLOCKS = 100
MESSAGE_TEXT_MAX = 40_000
SECTION_TEXT_MAX = 3000
SECTION_FIELDS_MAX = 10
SECTION_FIELD_TEXT_MAX = 2000
HEADER_TEXT_MAX = 150
CONTEXT_ELEMENTS_MAX = 10
ACTIONS_ELEMENTS_MAX = 25
VIEW_TITLE_MAX = 24
ID_MAX = 255
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
URL_MAX = 3000
PLACEHOLDER_MAX = 150
LABEL_MAX = 2000
PLAIN_TEXT_INPUT_LENGTH_MAX = 3000
PRIVATE_METADATA_MAX = 3000
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
CONFIRM_TITLE_MAX = 100
CONFIRM_TEXT_MAX = 300
CONFIRM_BUTTON_MAX = 30
TRIGGER_LIFETIME_SECONDS = 3.0
ACK_DEADLINE_SECONDS = 3.0  # Slack retries (events) or fails (commands) an envelope acked later
MAX_SOCKET_CONNECTIONS = 10  # per app, at one time

_TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
_TEXT_KEYS = {
    "plain_text": frozenset({"type", "text", "emoji"}),
    "mrkdwn": frozenset({"type", "text", "verbatim"}),
}
_FREE_TEXT_INPUTS = frozenset(
    {
        "plain_text_input",
        "email_text_input",
        "url_text_input",
        "number_input",
        "rich_text_input",
        "file_input",
    }
)
_NOT_INPUT_ELEMENTS = frozenset({"button", "overflow", "image", "workflow_button", *_TEXT_TYPES})
# element type -> (max options, option text must be plain_text)
_OPTION_HOLDERS = {
    "static_select": (100, True),
    "multi_static_select": (100, True),
    "overflow": (5, True),
    "checkboxes": (10, False),
    "radio_buttons": (10, False),
}
_OPTION_KEYS = frozenset({"text", "value", "description", "url"})
_CONFIRM_KEYS = frozenset({"title", "text", "confirm", "deny", "style"})
_JSON_ARGUMENTS = ("blocks", "view", "attachments", "metadata")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
_FIRST_TS_MICROS = 1_700_000_000_000_100
# Methods that take the app-level token (xapp-...) instead of the bot token.
_APP_LEVEL_METHODS = frozenset({"apps.connections.open"})
# Methods that take the app's client id and secret instead of a token.
_CLIENT_CREDENTIAL_METHODS = frozenset({"oauth.v2.access"})
AUTHORIZE_URL = "https://slack.com/oauth/v2/authorize"
DEFAULT_TOKEN_LIFETIME_SECONDS = 43_200  # Slack's rotating tokens live twelve hours
_ENVELOPE_TYPES = frozenset({"slash_commands", "interactive", "events_api"})
# Interactive payloads whose ack may carry a response (response_action, options).
_RESPONDING_INTERACTIONS = frozenset({"view_submission", "block_suggestion"})
_ACK_KEYS = frozenset({"envelope_id", "payload"})


@dataclass
class SlackCall:
    """One request the fake received, with its arguments decoded."""

    method: str
    args: dict[str, Any]
    error: str | None = None
    response: dict[str, Any] = field(default_factory=dict)
    token: str | None = None


class SlackRefusal(Exception):
    """A Slack ``ok: false`` answer, raised inside the fake's method handlers."""

    def __init__(self, error: str, messages: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []


@dataclass
class _Failure:
    error: str
    status: int
    retry_after: int | None


@dataclass
class _Trigger:
    issued: float
    used: bool = False


@dataclass
class _StoredView:
    id: str
    hash: str
    view: dict[str, Any]
    user_id: str | None
    team_id: str = ""


@dataclass
class _User:
    id: str
    real_name: str
    email: str | None
    tz: str
    is_bot: bool
    deleted: bool
    team_id: str
    locale: str = "en-US"


@dataclass
class _Workspace:
    team_id: str
    name: str
    bot_user_id: str
    bot_id: str


@dataclass
class _Grant:
    """A token Slack handed out: whose it is, until when, and whether it was taken back."""

    team_id: str
    expires_at: float | None = None
    revoked: bool = False


@dataclass
class _Code:
    team_id: str
    installer: str
    redirect_uri: str | None
    scopes: str
    used: bool = False


# ---------------------------------------------------------------------------
# Block Kit validation
# ---------------------------------------------------------------------------


class _Report:
    """Collects Slack-style problem messages with JSON pointers."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, pointer: str, reason: str) -> None:
        self.messages.append(f"[ERROR] {reason} [json-pointer:{pointer}]")


def _check_string(
    report: _Report, holder: dict[str, Any], key: str, pointer: str, *, max_length: int
) -> None:
    if key not in holder:
        return
    value = holder[key]
    if not isinstance(value, str):
        report.add(f"{pointer}/{key}", "must be a string")
    elif len(value) > max_length:
        report.add(
            f"{pointer}/{key}", f"must be at most {max_length} characters (got {len(value)})"
        )


def _check_text(
    report: _Report,
    holder: dict[str, Any],
    key: str,
    pointer: str,
    *,
    max_length: int,
    plain_only: bool = False,
    required: bool = False,
) -> None:
    where = f"{pointer}/{key}"
    if key not in holder:
        if required:
            report.add(where, "missing required field")
        return
    _check_text_object(report, holder[key], where, max_length=max_length, plain_only=plain_only)


def _check_text_object(
    report: _Report, value: Any, pointer: str, *, max_length: int, plain_only: bool
) -> None:
    if not isinstance(value, dict):
        report.add(pointer, "must be a text object")
        return
    kind = value.get("type")
    if plain_only and kind != "plain_text":
        report.add(f"{pointer}/type", "must be plain_text")
        return
    if kind not in _TEXT_TYPES:
        report.add(f"{pointer}/type", "must be plain_text or mrkdwn")
        return
    for key in sorted(set(value) - _TEXT_KEYS[kind]):
        report.add(f"{pointer}/{key}", f"is not a property of a {kind} text object")
    text = value.get("text")
    if not isinstance(text, str) or not text:
        report.add(f"{pointer}/text", "must be a non-empty string")
    elif len(text) > max_length:
        report.add(f"{pointer}/text", f"must be at most {max_length} characters (got {len(text)})")


def _check_confirm(report: _Report, confirm: Any, pointer: str) -> None:
    if not isinstance(confirm, dict):
        report.add(pointer, "must be a confirmation dialog object")
        return
    for key in sorted(set(confirm) - _CONFIRM_KEYS):
        report.add(f"{pointer}/{key}", "is not a property of a confirmation dialog")
    _check_text(
        report,
        confirm,
        "title",
        pointer,
        max_length=CONFIRM_TITLE_MAX,
        plain_only=True,
        required=True,
    )
    _check_text(report, confirm, "text", pointer, max_length=CONFIRM_TEXT_MAX, required=True)
    for key in ("confirm", "deny"):
        _check_text(
            report,
            confirm,
            key,
            pointer,
            max_length=CONFIRM_BUTTON_MAX,
            plain_only=True,
            required=True,
        )
    if confirm.get("style", "primary") not in ("primary", "danger"):
        report.add(f"{pointer}/style", "must be primary or danger")


def _option_identity(option: Any) -> tuple[Any, Any]:
    if not isinstance(option, dict):
        return (None, None)
    text = option.get("text")
    return (option.get("value"), text.get("text") if isinstance(text, dict) else None)


def _check_option(
    report: _Report, option: Any, pointer: str, *, plain_only: bool, url_allowed: bool
) -> None:
    if not isinstance(option, dict):
        report.add(pointer, "must be an option object")
        return
    for key in sorted(set(option) - _OPTION_KEYS):
        report.add(f"{pointer}/{key}", "is not a property of an option object")
    if "url" in option and not url_allowed:
        report.add(f"{pointer}/url", "url is only allowed in overflow menu options")
    _check_text(
        report,
        option,
        "text",
        pointer,
        max_length=OPTION_TEXT_MAX,
        plain_only=plain_only,
        required=True,
    )
    _check_text(
        report, option, "description", pointer, max_length=OPTION_TEXT_MAX, plain_only=plain_only
    )
    value = option.get("value")
    if not isinstance(value, str) or not value:
        report.add(f"{pointer}/value", "must be a non-empty string")
    elif len(value) > OPTION_VALUE_MAX:
        report.add(
            f"{pointer}/value", f"must be at most {OPTION_VALUE_MAX} characters (got {len(value)})"
        )
    _check_string(report, option, "url", pointer, max_length=URL_MAX)


def _check_options(report: _Report, element: dict[str, Any], pointer: str, kind: str) -> None:
    max_options, plain_only = _OPTION_HOLDERS[kind]
    url_allowed = kind == "overflow"
    offered: list[tuple[Any, Any]] = []
    options = element.get("options")
    groups = element.get("option_groups")
    if options is not None and groups is not None:
        report.add(pointer, "options and option_groups cannot both be given")
    if options is not None:
        if not isinstance(options, list) or not options:
            report.add(f"{pointer}/options", "must be a non-empty array")
        else:
            if len(options) > max_options:
                report.add(
                    f"{pointer}/options",
                    f"must have at most {max_options} items (got {len(options)})",
                )
            for index, option in enumerate(options):
                where = f"{pointer}/options/{index}"
                _check_option(report, option, where, plain_only=plain_only, url_allowed=url_allowed)
                offered.append(_option_identity(option))
    elif groups is not None and kind in ("static_select", "multi_static_select"):
        if not isinstance(groups, list) or not groups:
            report.add(f"{pointer}/option_groups", "must be a non-empty array")
        else:
            for group_index, group in enumerate(groups):
                where = f"{pointer}/option_groups/{group_index}"
                if not isinstance(group, dict):
                    report.add(where, "must be an option group object")
                    continue
                for key in sorted(set(group) - {"label", "options"}):
                    report.add(f"{where}/{key}", "is not a property of an option group")
                _check_text(
                    report,
                    group,
                    "label",
                    where,
                    max_length=OPTION_TEXT_MAX,
                    plain_only=True,
                    required=True,
                )
                group_options = group.get("options")
                if not isinstance(group_options, list) or not group_options:
                    report.add(f"{where}/options", "must be a non-empty array")
                    continue
                for index, option in enumerate(group_options):
                    _check_option(
                        report,
                        option,
                        f"{where}/options/{index}",
                        plain_only=True,
                        url_allowed=False,
                    )
                    offered.append(_option_identity(option))
    elif kind in _OPTION_HOLDERS:
        report.add(pointer, "options (or option_groups) is required")
    for key in ("initial_option", "initial_options"):
        if key not in element:
            continue
        chosen = element[key] if key == "initial_options" else [element[key]]
        if not isinstance(chosen, list):
            report.add(f"{pointer}/{key}", "must be an array")
            continue
        for index, option in enumerate(chosen):
            where = f"{pointer}/{key}" + (f"/{index}" if key == "initial_options" else "")
            if _option_identity(option) not in offered:
                report.add(where, "must exactly match one of the offered options")


def _check_element(report: _Report, element: Any, pointer: str, placement: str) -> None:
    """Check one block element; ``placement`` is section, actions, context or input."""
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        report.add(pointer, "must be an element object with a type")
        return
    kind = element["type"]
    if placement == "context":
        if kind in _TEXT_TYPES:
            _check_text_object(
                report, element, pointer, max_length=SECTION_TEXT_MAX, plain_only=False
            )
        elif kind != "image":
            report.add(
                f"{pointer}/type", f"{kind} is not allowed in a context block (image or text only)"
            )
        return
    if kind in _TEXT_TYPES:
        report.add(f"{pointer}/type", f"text objects are not allowed here ({placement} block)")
        return
    if placement == "actions" and kind == "image":
        report.add(f"{pointer}/type", "image is not allowed in an actions block")
    if placement == "section" and kind in _FREE_TEXT_INPUTS:
        report.add(f"{pointer}/type", f"{kind} is not allowed as a section accessory")
    if placement == "input" and kind in _NOT_INPUT_ELEMENTS:
        report.add(f"{pointer}/type", f"{kind} is not allowed in an input block")
    _check_string(report, element, "action_id", pointer, max_length=ID_MAX)
    if "placeholder" in element:
        _check_text(
            report, element, "placeholder", pointer, max_length=PLACEHOLDER_MAX, plain_only=True
        )
    if "confirm" in element:
        _check_confirm(report, element["confirm"], f"{pointer}/confirm")
    if kind == "button":
        _check_text(
            report,
            element,
            "text",
            pointer,
            max_length=BUTTON_TEXT_MAX,
            plain_only=True,
            required=True,
        )
        _check_string(report, element, "value", pointer, max_length=BUTTON_VALUE_MAX)
        _check_string(report, element, "url", pointer, max_length=URL_MAX)
        if element.get("style", "primary") not in ("primary", "danger"):
            report.add(f"{pointer}/style", "must be primary or danger")
    elif kind == "plain_text_input":
        _check_plain_text_input(report, element, pointer)
    elif kind in _OPTION_HOLDERS:
        _check_options(report, element, pointer, kind)


def _check_plain_text_input(report: _Report, element: dict[str, Any], pointer: str) -> None:
    bounds: dict[str, int] = {}
    for key in ("min_length", "max_length"):
        if key not in element:
            continue
        value = element[key]
        if isinstance(value, bool) or not isinstance(value, int):
            report.add(f"{pointer}/{key}", "must be an integer")
        elif not 0 <= value <= PLAIN_TEXT_INPUT_LENGTH_MAX:
            report.add(f"{pointer}/{key}", f"must be between 0 and {PLAIN_TEXT_INPUT_LENGTH_MAX}")
        else:
            bounds[key] = value
    if (
        "min_length" in bounds
        and "max_length" in bounds
        and bounds["min_length"] > bounds["max_length"]
    ):
        report.add(f"{pointer}/min_length", "must not exceed max_length")
    initial = element.get("initial_value")
    if initial is not None and not isinstance(initial, str):
        report.add(f"{pointer}/initial_value", "must be a string")
    elif (
        isinstance(initial, str) and "max_length" in bounds and len(initial) > bounds["max_length"]
    ):
        report.add(
            f"{pointer}/initial_value",
            f"must be at most max_length={bounds['max_length']} characters (got {len(initial)})",
        )


def _check_elements(
    report: _Report, block: dict[str, Any], pointer: str, placement: str, *, max_items: int
) -> None:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        report.add(f"{pointer}/elements", "must be a non-empty array")
        return
    if len(elements) > max_items:
        report.add(
            f"{pointer}/elements", f"must have at most {max_items} items (got {len(elements)})"
        )
    action_ids: set[str] = set()
    for index, element in enumerate(elements):
        _check_element(report, element, f"{pointer}/elements/{index}", placement)
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if isinstance(action_id, str):
            if action_id in action_ids:
                report.add(
                    f"{pointer}/elements/{index}/action_id", f"duplicate action_id {action_id!r}"
                )
            action_ids.add(action_id)


def _check_block_rules(report: _Report, block: dict[str, Any], pointer: str, surface: str) -> None:
    kind = block["type"]
    if kind == "section":
        if "text" not in block and "fields" not in block:
            report.add(pointer, "a section needs text or fields")
        _check_text(report, block, "text", pointer, max_length=SECTION_TEXT_MAX)
        if "fields" in block:
            fields = block["fields"]
            if not isinstance(fields, list) or not fields:
                report.add(f"{pointer}/fields", "must be a non-empty array")
            else:
                if len(fields) > SECTION_FIELDS_MAX:
                    report.add(
                        f"{pointer}/fields",
                        f"must have at most {SECTION_FIELDS_MAX} items (got {len(fields)})",
                    )
                for index, item in enumerate(fields):
                    where = f"{pointer}/fields/{index}"
                    _check_text_object(
                        report, item, where, max_length=SECTION_FIELD_TEXT_MAX, plain_only=False
                    )
        if "accessory" in block:
            _check_element(report, block["accessory"], f"{pointer}/accessory", "section")
    elif kind == "header":
        _check_text(
            report,
            block,
            "text",
            pointer,
            max_length=HEADER_TEXT_MAX,
            plain_only=True,
            required=True,
        )
    elif kind == "context":
        _check_elements(report, block, pointer, "context", max_items=CONTEXT_ELEMENTS_MAX)
    elif kind == "actions":
        _check_elements(report, block, pointer, "actions", max_items=ACTIONS_ELEMENTS_MAX)
    elif kind == "input":
        if surface == "message":
            report.add(f"{pointer}/type", "input blocks are only allowed in modals and home tabs")
            return
        _check_text(
            report, block, "label", pointer, max_length=LABEL_MAX, plain_only=True, required=True
        )
        _check_text(report, block, "hint", pointer, max_length=LABEL_MAX, plain_only=True)
        if "element" not in block:
            report.add(f"{pointer}/element", "missing required field")
        else:
            _check_element(report, block["element"], f"{pointer}/element", "input")


def _describe_dropped(sent: Any, pointer: str, key: str, report: _Report) -> None:
    where = f"{pointer}/{key}"
    if sent is None:
        report.add(where, "must not be null; leave the key out instead")
    elif sent in ([], "", {}):
        # slack_sdk drops empty values; an empty initial selection is fine for Slack.
        if not key.startswith("initial_"):
            report.add(where, "must not be empty")
    else:
        report.add(where, "is not a known property here")


def _compare_round_trip(sent: Any, kept: Any, pointer: str, report: _Report) -> None:
    """Report what slack_sdk dropped or changed: Slack refuses those inputs."""
    if isinstance(sent, dict) and isinstance(kept, dict):
        for key, value in sent.items():
            if key in kept:
                _compare_round_trip(value, kept[key], f"{pointer}/{key}", report)
            else:
                _describe_dropped(value, pointer, key, report)
    elif isinstance(sent, list) and isinstance(kept, list):
        for index, (sent_item, kept_item) in enumerate(zip(sent, kept, strict=False)):
            if kept_item is None and sent_item is not None:
                report.add(f"{pointer}/{index}", "unsupported element or block type")
            else:
                _compare_round_trip(sent_item, kept_item, f"{pointer}/{index}", report)
        if len(sent) != len(kept):
            report.add(pointer, "contains items of an unsupported type")
    elif isinstance(sent, str) and isinstance(kept, dict):
        report.add(pointer, "must be an object, not a string")
    elif sent != kept:
        report.add(pointer, f"invalid value {sent!r}")


def _sdk_problem(error: Exception) -> str:
    if isinstance(error, SlackObjectFormationError):
        return str(error)
    return f"malformed ({type(error).__name__}: {error})"


def _check_block_with_sdk(report: _Report, block: dict[str, Any], pointer: str) -> None:
    try:
        parsed = Block.parse(copy.deepcopy(block))
        if parsed is None:
            report.add(f"{pointer}/type", f"unsupported block type {block['type']!r}")
            return
        kept = parsed.to_dict()
    except (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError) as error:
        report.add(pointer, _sdk_problem(error))
        return
    _compare_round_trip(block, kept, pointer, report)


def _iter_elements(block: dict[str, Any]) -> Iterator[Any]:
    yield block.get("accessory")
    yield block.get("element")
    elements = block.get("elements")
    if isinstance(elements, list):
        yield from elements


def _check_blocks(report: _Report, blocks: Any, pointer: str, surface: str) -> None:
    """Check a blocks array for a message, modal or home tab."""
    if not isinstance(blocks, list):
        report.add(pointer, "must be an array")
        return
    limit = MESSAGE_MAX_BLOCKS if surface == "message" else VIEW_MAX_BLOCKS
    if len(blocks) > limit:
        report.add(pointer, f"no more than {limit} items allowed (got {len(blocks)})")
        return
    block_ids: set[str] = set()
    focused = 0
    for index, block in enumerate(blocks):
        where = f"{pointer}/{index}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            report.add(where, "must be a block object with a type")
            continue
        before = len(report.messages)
        block_id = block.get("block_id")
        if "block_id" in block:
            if not isinstance(block_id, str) or not block_id:
                report.add(f"{where}/block_id", "must be a non-empty string")
            elif len(block_id) > ID_MAX:
                report.add(
                    f"{where}/block_id",
                    f"must be at most {ID_MAX} characters (got {len(block_id)})",
                )
            elif block_id in block_ids:
                report.add(f"{where}/block_id", f"duplicate block_id {block_id!r}")
            else:
                block_ids.add(block_id)
        _check_block_rules(report, block, where, surface)
        focused += sum(
            1
            for element in _iter_elements(block)
            if isinstance(element, dict) and element.get("focus_on_load")
        )
        # The SDK round trip finds what the explicit rules do not model; run
        # it only on blocks that passed them, so one mistake is reported once.
        if len(report.messages) == before:
            _check_block_with_sdk(report, block, where)
    if focused > 1:
        report.add(pointer, "only one element may set focus_on_load")


def _check_view(report: _Report, view: Any, expected_type: str) -> None:
    """Check a view object for views.open/update/push (modal) or views.publish (home)."""
    pointer = "/view"
    if not isinstance(view, dict):
        report.add(pointer, "must be a JSON object")
        return
    if view.get("type") != expected_type:
        report.add(f"{pointer}/type", f"must be {expected_type!r} for this method")
        return
    before = len(report.messages)
    if expected_type == "modal":
        _check_text(
            report,
            view,
            "title",
            pointer,
            max_length=VIEW_TITLE_MAX,
            plain_only=True,
            required=True,
        )
        _check_text(report, view, "submit", pointer, max_length=VIEW_TITLE_MAX, plain_only=True)
        _check_text(report, view, "close", pointer, max_length=VIEW_TITLE_MAX, plain_only=True)
    else:
        for key in ("submit", "close"):
            if key in view:
                report.add(f"{pointer}/{key}", "a home tab has no submit or close")
    _check_string(report, view, "private_metadata", pointer, max_length=PRIVATE_METADATA_MAX)
    _check_string(report, view, "callback_id", pointer, max_length=ID_MAX)
    _check_string(report, view, "external_id", pointer, max_length=ID_MAX)
    if "blocks" not in view:
        report.add(f"{pointer}/blocks", "missing required field")
    else:
        _check_blocks(report, view["blocks"], f"{pointer}/blocks", expected_type)
        blocks = view["blocks"]
        has_input = isinstance(blocks, list) and any(
            isinstance(block, dict) and block.get("type") == "input" for block in blocks
        )
        if expected_type == "modal" and has_input and "submit" not in view:
            report.add(f"{pointer}/submit", "a modal with input blocks must have a submit button")
    if len(report.messages) == before:
        try:
            kept = View(**copy.deepcopy(view)).to_dict()
        except (
            SlackObjectFormationError,
            TypeError,
            ValueError,
            KeyError,
            AttributeError,
        ) as error:
            report.add(pointer, _sdk_problem(error))
            return
        _compare_round_trip(view, kept, pointer, report)


def _checked_metadata(metadata: Any) -> dict[str, Any]:
    """Return message metadata if Slack would take it: an event type and a JSON object."""
    if not isinstance(metadata, dict) or set(metadata) != {"event_type", "event_payload"}:
        raise SlackRefusal("invalid_metadata_format")
    event_type, payload = metadata["event_type"], metadata["event_payload"]
    if not isinstance(event_type, str) or not re.fullmatch(r"[A-Za-z0-9_]{1,255}", event_type):
        raise SlackRefusal("invalid_metadata_format")
    if not isinstance(payload, dict) or len(json.dumps(payload)) > 8000:
        raise SlackRefusal("invalid_metadata_format")
    return copy.deepcopy(metadata)


def _check_message_content(args: dict[str, Any]) -> None:
    """Refuse a message body as chat.postMessage/update/postEphemeral would."""
    text = args.get("text")
    blocks = args.get("blocks")
    if text is not None and not isinstance(text, str):
        raise SlackRefusal(
            "invalid_arguments", ["[ERROR] text must be a string [json-pointer:/text]"]
        )
    if isinstance(text, str) and len(text) > MESSAGE_TEXT_MAX:
        raise SlackRefusal("msg_too_long")
    if blocks is not None:
        if not isinstance(blocks, list):
            raise SlackRefusal("invalid_blocks_format")
        report = _Report()
        _check_blocks(report, blocks, "/blocks", "message")
        if report.messages:
            raise SlackRefusal("invalid_blocks", report.messages)
    if not text and not blocks:
        raise SlackRefusal("no_text")


# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------


class FakeSlack:
    """Serve a strict fake of the Slack Web API on a random local port."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",  # noqa: S107 - a test token, never a real one
        app_token: str = "xapp-1-test-app-token",  # noqa: S107 - a test token, never a real one
        team_id: str = "T0TEAM",
        bot_user_id: str = "UBOT",
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = "B0BOT"
        self.app_id = "A0APP"
        # The app's OAuth credentials, and its token rotation setting as in Slack's app config.
        self.client_id = "1111.2222"
        self.client_secret = "fake-client-secret-0123456789abcdef"
        self.token_rotation = False
        self.token_lifetime_seconds = DEFAULT_TOKEN_LIFETIME_SECONDS
        self._workspaces: dict[str, _Workspace] = {
            team_id: _Workspace(team_id, "Meetbot Test", bot_user_id, self.bot_id)
        }
        self._grants: dict[str, _Grant] = {bot_token: _Grant(team_id)}
        self._refresh_tokens: dict[str, _Grant] = {}
        self._codes: dict[str, _Code] = {}
        self._caller = _Grant(team_id)  # the workspace of the call being answered
        self.trigger_lifetime = TRIGGER_LIFETIME_SECONDS
        self.api_url = ""
        self.response_url_base = ""
        self.responses: list[dict[str, Any]] = []
        self.base_url = ""
        self._files: dict[str, tuple[dict[str, Any], bytes]] = {}
        self.file_downloads: list[tuple[str, bool]] = []  # (file id, with the bot token)
        self.calls: list[SlackCall] = []
        # Socket Mode: what was pushed to the app, what it acknowledged, what it got wrong.
        self.envelopes: list[dict[str, Any]] = []
        self.acks: list[dict[str, Any]] = []
        self.socket_problems: list[str] = []
        self.socket_connections = 0  # WebSocket connections accepted so far
        self.pings_answered = 0
        self._socket_url = ""
        self._tickets: set[str] = set()
        # Open connections by number (1 for the first ever accepted, and so on).
        self._sockets: dict[int, web.WebSocketResponse] = {}
        self.envelope_connections: dict[str, int] = {}  # envelope id -> connection it went to
        self._envelope_sent: dict[str, float] = {}  # envelope id -> monotonic send time
        self._stopping = False
        self._users: dict[str, _User] = {}
        self._open_dms: dict[str, str] = {}  # channel id -> user id
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._ephemeral: list[dict[str, Any]] = []
        self._triggers: dict[str, _Trigger] = {}
        self._views: dict[str, _StoredView] = {}
        self._failures: dict[str, deque[_Failure]] = {}
        # method -> (which calls, released): Slack did the work but the answer is slow to come.
        self._slow_answers: dict[str, tuple[Callable[[dict[str, Any]], bool], asyncio.Event]] = {}
        self.held_answers = 0  # answers being held right now
        self._counter = itertools.count(1)
        self._ts_counter = itertools.count(0)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "users.info": self._users_info,
            "conversations.open": self._conversations_open,
            "chat.postMessage": self._chat_post_message,
            "conversations.history": self._conversations_history,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_push,
            "views.publish": self._views_publish,
            "apps.connections.open": self._apps_connections_open,
            "oauth.v2.access": self._oauth_v2_access,
        }

    # -- lifecycle ----------------------------------------------------------

    async def start(self) -> None:
        """Start serving on 127.0.0.1 and set ``api_url``."""
        if self._runner is not None:
            raise RuntimeError("FakeSlack is already started")
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle)
        app.router.add_post("/respond/{path:.*}", self._handle_response_url)
        app.router.add_get("/socket", self._handle_socket)
        app.router.add_get("/files-pri/{key}/download/{name}", self._handle_file_download)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self.api_url = f"http://{host}:{port}/api/"
        self.response_url_base = f"http://{host}:{port}/respond"
        self.base_url = f"http://{host}:{port}"
        self._socket_url = f"ws://{host}:{port}/socket"
        self._stopping = False

    async def stop(self) -> None:
        """Close Socket Mode connections (going away), stop serving and free the port."""
        self._stopping = True
        self.release_answers()
        for socket in list(self._sockets.values()):
            await socket.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- arranging ----------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        real_name: str,
        email: str | None,
        tz: str = "Europe/Warsaw",
        is_bot: bool = False,
        deleted: bool = False,
        team_id: str | None = None,
        locale: str = "en-US",
    ) -> None:
        """Add a member of a workspace (default the first) that users.info and DMs know."""
        ZoneInfo(tz)  # fail at arrangement time on a typo, not inside a request
        team = team_id or self.team_id
        if team not in self._workspaces:
            raise AssertionError(f"add_workspace({team!r}) before adding its members")
        self._users[user_id] = _User(user_id, real_name, email, tz, is_bot, deleted, team, locale)

    def add_workspace(self, team_id: str, *, name: str, bot_user_id: str) -> None:
        """Add a workspace that can install the app through the OAuth flow."""
        self._workspaces[team_id] = _Workspace(team_id, name, bot_user_id, f"B{team_id}")

    def approve_install(self, authorize_url: str, *, team_id: str, user_id: str) -> str:
        """Press Allow on Slack's install page that authorize_url opens; return the code.

        Slack then sends the browser to the redirect URL with this code and the state.
        """
        parts = urlsplit(authorize_url)
        if f"{parts.scheme}://{parts.netloc}{parts.path}" != AUTHORIZE_URL:
            raise AssertionError(f"not Slack's authorize page: {authorize_url}")
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        if query.get("client_id") != self.client_id:
            raise AssertionError(f"Slack knows no app with client_id {query.get('client_id')!r}")
        if not query.get("state"):
            raise AssertionError("the authorize URL carries no state")
        if team_id not in self._workspaces or self._user(user_id).team_id != team_id:
            raise AssertionError(f"{user_id} is not a member of workspace {team_id}")
        code = f"code-{secrets.token_hex(8)}"
        self._codes[code] = _Code(team_id, user_id, query.get("redirect_uri"), query["scope"])
        return code

    def uninstall(self, team_id: str) -> None:
        """Take back every token of a workspace, as Slack does when the app is removed."""
        for grant in [*self._grants.values(), *self._refresh_tokens.values()]:
            if grant.team_id == team_id:
                grant.revoked = True

    def tokens_of(self, team_id: str) -> list[str]:
        """Return the access tokens oauth.v2.access issued for a workspace, oldest first."""
        return [
            token
            for token, grant in self._grants.items()
            if grant.team_id == team_id and token != self.bot_token
        ]

    def token_expired(self, token: str) -> bool:
        """Tell whether an access token is past its expiry."""
        expires_at = self._grants[token].expires_at
        return expires_at is not None and expires_at <= time.time()

    def new_trigger_id(self) -> str:
        """Issue a trigger_id that views.open/push accept once, within the trigger lifetime."""
        trigger_id = f"{next(self._counter)}.{self.team_id}.{secrets.token_hex(8)}"
        self._triggers[trigger_id] = _Trigger(issued=time.monotonic())
        return trigger_id

    def fail_next(
        self,
        method: str,
        error: str = "internal_error",
        status: int = 200,
        retry_after: int | None = None,
    ) -> None:
        """Make the next call to ``method`` fail with ``error`` (and HTTP ``status``)."""
        if error == "ratelimited":
            status = 429  # Slack never answers ratelimited with anything but 429
        self._failures.setdefault(method, deque()).append(_Failure(error, status, retry_after))

    def hold_answers(
        self, method: str, which: Callable[[dict[str, Any]], bool] = lambda args: True
    ) -> None:
        """Do the work of matching ``method`` calls but keep their answers until released.

        A message is posted (people see it) while the app still waits to learn its ``ts``,
        as when the network is slow; the app may die in between.
        """
        self._slow_answers[method] = (which, asyncio.Event())

    def release_answers(self) -> None:
        """Send every held answer, and hold no more."""
        for _, released in self._slow_answers.values():
            released.set()
        self._slow_answers.clear()

    async def wait_until_held(self, timeout: float = 20.0) -> None:  # noqa: ASYNC109
        """Wait until an answer is being held from the app."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: self.held_answers > 0)
        except TimeoutError:
            raise AssertionError(
                f"no answer was held within {timeout} s; calls so far:\n{self._transcript()}"
            ) from None

    # -- inspecting ---------------------------------------------------------

    def dm_channel(self, user_id: str) -> str:
        """Return the IM channel id conversations.open gives for ``user_id``."""
        return f"D{user_id}"

    def calls_to(self, method: str) -> list[SlackCall]:
        """Return the successful calls to ``method``, oldest first."""
        return [call for call in self.calls if call.method == method and call.error is None]

    def rejected(self) -> list[tuple[SlackCall, str]]:
        """Return every call answered ``ok: false``, with its error."""
        return [(call, call.error) for call in self.calls if call.error is not None]

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[SlackCall], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - the interface tests already use
    ) -> SlackCall:
        """Wait for the first successful call to ``method`` that matches ``predicate``."""

        def find() -> SlackCall | None:
            for call in self.calls_to(method):
                if predicate is None or predicate(call):
                    return call
            return None

        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: find() is not None)
        except TimeoutError:
            raise AssertionError(
                f"no successful {method} call{' matching the predicate' if predicate else ''} "
                f"within {timeout} s; calls so far:\n{self._transcript()}"
            ) from None
        found = find()
        assert found is not None
        return found

    def add_file(
        self,
        name: str,
        content: bytes,
        mimetype: str = "application/pdf",
        team_id: str | None = None,
    ) -> dict[str, Any]:
        """Upload a file as a person would in a file_input; return Slack's file object."""
        assert self.base_url, "start() the fake before uploading files"
        file_id = f"F{next(self._counter):08d}"
        key = f"{team_id or self.team_id}-{file_id}"
        file = {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": name.rpartition(".")[2] or "binary",
            "size": len(content),
            "url_private": f"{self.base_url}/files-pri/{key}/{name}",
            "url_private_download": f"{self.base_url}/files-pri/{key}/download/{name}",
        }
        self._files[file_id] = (file, content)
        return dict(file)

    async def _handle_file_download(self, request: web.Request) -> web.Response:
        """Serve a file to its workspace's bot token; others get the sign-in page, as Slack does."""
        team_id, _, file_id = request.match_info["key"].rpartition("-")
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        grant = self._grants.get(token)
        authorized = (
            grant is not None
            and grant.team_id == team_id
            and not grant.revoked
            and not (grant.expires_at is not None and grant.expires_at <= time.time())
        )
        self.file_downloads.append((file_id, authorized))
        if file_id not in self._files:
            return web.Response(status=404, text="file_not_found")
        if not authorized:
            return web.Response(
                text="<html><body>Sign in to Slack</body></html>", content_type="text/html"
            )
        file, content = self._files[file_id]
        return web.Response(body=content, content_type=file["mimetype"])

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        """Record what the app sent to a response_url, as Slack shows it to the user."""
        payload = await request.json()
        async with self._changed:
            self.responses.append({"path": request.match_info["path"], **payload})
            self._changed.notify_all()
        return web.Response(text="ok")

    async def wait_for_response_url(self, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        """Wait for the first message the app sends through a response_url."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: bool(self.responses))
        except TimeoutError:
            raise AssertionError(f"nothing was sent to a response_url within {timeout} s") from None
        return self.responses[0]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Return the messages in ``channel`` (a DM id or user id) as they are now."""
        if channel in self._users:
            channel = self.dm_channel(channel)
        return copy.deepcopy(self._messages.get(channel, []))

    def ephemeral_messages(self, user_id: str) -> list[dict[str, Any]]:
        """Return the ephemeral messages shown to ``user_id``."""
        return [copy.deepcopy(m) for m in self._ephemeral if m["user"] == user_id]

    def opened_views(self) -> list[dict[str, Any]]:
        """Return every view opened, pushed or published, as it is now."""
        return [
            {"id": v.id, "hash": v.hash, "view": copy.deepcopy(v.view), "user_id": v.user_id}
            for v in self._views.values()
        ]

    def close_view(self, view_id: str) -> None:
        """Close a modal as its person would (its X): Slack knows the view no more."""
        del self._views[view_id]

    def _transcript(self) -> str:
        lines = []
        for call in self.calls:
            outcome = "ok " if call.error is None else f"ERR {call.error}"
            args = json.dumps(call.args, default=str)
            if len(args) > 300:
                args = args[:300] + "..."
            lines.append(f"  {outcome} {call.method} {args}")
            for message in call.response.get("response_metadata", {}).get("messages", []):
                lines.append(f"      {message}")
        return "\n".join(lines) or "  (none)"

    # -- Socket Mode --------------------------------------------------------

    @property
    def connected_sockets(self) -> int:
        """Return how many Socket Mode connections are open right now."""
        return len(self._sockets)

    @property
    def open_connections(self) -> list[int]:
        """Return the numbers of the open Socket Mode connections, oldest first."""
        return list(self._sockets)

    async def wait_for_socket(self, timeout: float = 5.0, count: int = 1) -> None:  # noqa: ASYNC109
        """Wait until the app holds `count` open Socket Mode connections."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: len(self._sockets) >= count)
        except TimeoutError:
            raise AssertionError(
                f"the app did not open {count} Socket Mode connection(s) within {timeout} s; "
                f"problems: {self.socket_problems or 'none'}; calls so far:\n{self._transcript()}"
            ) from None

    async def wait_for_disconnect(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until no Socket Mode connection is open."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: not self._sockets)
        except TimeoutError:
            raise AssertionError(
                f"{len(self._sockets)} Socket Mode connection(s) still open after {timeout} s"
            ) from None

    async def send_envelope(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        connection: int | None = None,
    ) -> str:
        """Push a Socket Mode envelope to the connected app; return its envelope id.

        ``type`` is ``slash_commands``, ``interactive`` or ``events_api``. Unless
        told otherwise, a response payload is accepted in the ack where Slack
        accepts one: slash commands, view submissions and block suggestions.
        ``connection`` names the open connection that gets it (see
        ``open_connections``); by default the newest, as good as any to Slack.
        """
        if type not in _ENVELOPE_TYPES:
            raise ValueError(
                f"unknown envelope type {type!r}; use one of {sorted(_ENVELOPE_TYPES)}"
            )
        if not self._sockets:
            raise AssertionError("no Socket Mode connection to send an envelope to")
        if connection is None:
            connection = self.open_connections[-1]
        if connection not in self._sockets:
            raise AssertionError(
                f"Socket Mode connection {connection} is not open; open: {self.open_connections}"
            )
        if accepts_response_payload is None:
            accepts_response_payload = type == "slash_commands" or (
                type == "interactive" and payload.get("type") in _RESPONDING_INTERACTIONS
            )
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "payload": copy.deepcopy(payload),
            "type": type,
            "accepts_response_payload": accepts_response_payload,
        }
        if type == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = "timeout" if retry_attempt else ""
        self.envelopes.append(envelope)
        self._envelope_sent[envelope_id] = time.monotonic()
        self.envelope_connections[envelope_id] = connection
        await self._sockets[connection].send_json(envelope)
        return envelope_id

    async def redeliver(self, envelope_id: str, *, connection: int | None = None) -> str:
        """Send an envelope's payload again in a new envelope; return the new envelope id.

        Slack does this with an event not acknowledged in time (``retry_attempt`` one
        higher, ``retry_reason`` ``timeout``), on whichever connection it picks.
        """
        first = next(e for e in self.envelopes if e["envelope_id"] == envelope_id)
        return await self.send_envelope(
            first["type"],
            first["payload"],
            accepts_response_payload=first["accepts_response_payload"],
            retry_attempt=int(first.get("retry_attempt", 0)) + 1,
            connection=connection,
        )

    def ack_for(self, envelope_id: str) -> dict[str, Any] | None:
        """Return the app's acknowledgement of an envelope, if it has sent one."""
        return next((ack for ack in self.acks if ack["envelope_id"] == envelope_id), None)

    async def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        """Wait for the app to acknowledge an envelope; return the ack as the app sent it."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: self.ack_for(envelope_id) is not None)
        except TimeoutError:
            raise AssertionError(
                f"envelope {envelope_id} was not acknowledged within {timeout} s; "
                f"problems: {self.socket_problems or 'none'}"
            ) from None
        ack = self.ack_for(envelope_id)
        assert ack is not None
        return copy.deepcopy(ack)

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        """Serve one Socket Mode connection, opened with a ticket from apps.connections.open."""
        ticket = request.query.get("ticket", "")
        if self._stopping or ticket not in self._tickets:
            self.socket_problems.append(f"connection refused: unknown or used ticket {ticket!r}")
            return web.Response(status=401, text="invalid_ticket")
        if len(self._sockets) >= MAX_SOCKET_CONNECTIONS:
            self.socket_problems.append(
                f"connection refused: the app already holds {MAX_SOCKET_CONNECTIONS} connections"
            )
            return web.Response(status=429, text="too_many_websockets")
        self._tickets.discard(ticket)  # a URL from apps.connections.open serves one connection
        socket = web.WebSocketResponse(autoping=False)
        await socket.prepare(request)
        self.socket_connections += 1
        number = self.socket_connections
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets) + 1,
                "debug_info": {
                    "host": f"applink-fake-{number}",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": self.app_id},
            }
        )
        async with self._changed:
            self._sockets[number] = socket
            self._changed.notify_all()
        try:
            async for message in socket:
                if message.type == WSMsgType.PING:
                    await socket.pong(message.data)
                    self.pings_answered += 1
                elif message.type == WSMsgType.TEXT:
                    async with self._changed:
                        self._receive_ack(message.data)
                        self._changed.notify_all()
                elif message.type == WSMsgType.BINARY:
                    self.socket_problems.append("the app sent a binary frame")
        finally:
            async with self._changed:
                del self._sockets[number]
                self._changed.notify_all()
        return socket

    def _receive_ack(self, data: str) -> None:
        """Record an acknowledgement, and anything about it Slack would not accept."""
        try:
            ack = json.loads(data)
        except json.JSONDecodeError:
            self.socket_problems.append(f"not JSON: {data[:200]!r}")
            return
        if not isinstance(ack, dict) or not isinstance(ack.get("envelope_id"), str):
            self.socket_problems.append(f"not an acknowledgement: {data[:200]!r}")
            return
        envelope_id = ack["envelope_id"]
        envelope = next((e for e in self.envelopes if e["envelope_id"] == envelope_id), None)
        if envelope is None:
            self.socket_problems.append(f"ack for an envelope never sent: {envelope_id}")
            return
        if self.ack_for(envelope_id) is not None:
            self.socket_problems.append(f"envelope {envelope_id} acknowledged twice")
            return
        for key in sorted(set(ack) - _ACK_KEYS):
            self.socket_problems.append(f"ack {envelope_id}: unknown key {key!r}")
        if "payload" in ack:
            if not isinstance(ack["payload"], dict):
                self.socket_problems.append(f"ack {envelope_id}: payload must be an object")
            elif not envelope["accepts_response_payload"]:
                self.socket_problems.append(
                    f"ack {envelope_id}: a {envelope['type']} envelope takes no response payload"
                )
        elapsed = time.monotonic() - self._envelope_sent[envelope_id]
        if elapsed > ACK_DEADLINE_SECONDS:
            self.socket_problems.append(
                f"ack {envelope_id} came after {elapsed:.1f} s "
                f"(Slack waits {ACK_DEADLINE_SECONDS} s)"
            )
        self.acks.append(ack)

    # -- HTTP ---------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        status = 200
        headers: dict[str, str] = {}
        try:
            args.update(await self._read_body(request))
            token, in_header = self._token(request, args)
            if method in _CLIENT_CREDENTIAL_METHODS:
                self._check_client(request, args)
                token, in_header = None, False
                body, status, headers = {"ok": True, **self._oauth_v2_access(args)}, 200, {}
            else:
                body, status, headers = self._answer(method, args, token, in_header=in_header)
        except SlackRefusal as refusal:
            body = {"ok": False, "error": refusal.error}
            if refusal.messages:
                body["response_metadata"] = {"messages": refusal.messages}
        call = SlackCall(
            method=method,
            args=args,
            error=None if body["ok"] else str(body["error"]),
            response=body,
            token=token,
        )
        self.calls.append(call)
        async with self._changed:
            self._changed.notify_all()
        slow = self._slow_answers.get(method)
        if slow is not None and body["ok"] and slow[0](args):
            self.held_answers += 1
            async with self._changed:
                self._changed.notify_all()
            try:
                await slow[1].wait()
            finally:
                self.held_answers -= 1
        return web.json_response(body, status=status, headers=headers)

    async def _read_body(self, request: web.Request) -> dict[str, Any]:
        if not request.body_exists:
            return {}
        if request.content_type == "application/json":
            try:
                body = json.loads(await request.text())
            except json.JSONDecodeError:
                raise SlackRefusal("invalid_json") from None
            if not isinstance(body, dict):
                raise SlackRefusal("invalid_json")
            args = dict(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            args = {}
            for key, value in form.items():
                if isinstance(value, bytes):
                    args[key] = value.decode()
                elif isinstance(value, str):
                    args[key] = value
                else:
                    raise SlackRefusal("invalid_form_data")  # Slack methods here take no files
        else:
            raise SlackRefusal("invalid_post_type")
        for key in _JSON_ARGUMENTS:
            if isinstance(args.get(key), str):
                # A string that is not JSON stays a string; the method refuses it.
                with contextlib.suppress(json.JSONDecodeError):
                    args[key] = json.loads(args[key])
        return args

    def _token(self, request: web.Request, args: dict[str, Any]) -> tuple[str | None, bool]:
        """Return the request's token and whether it came in the Authorization header."""
        form_token = args.pop("token", None)
        authorization = request.headers.get("Authorization", "")
        if authorization.startswith("Bearer "):
            return authorization.removeprefix("Bearer ").strip(), True
        return (form_token if isinstance(form_token, str) else None), False

    def _check_client(self, request: web.Request, args: dict[str, Any]) -> None:
        """Refuse a call without the app's client id and secret (Basic auth or form)."""
        client_id, client_secret = args.pop("client_id", None), args.pop("client_secret", None)
        authorization = request.headers.get("Authorization", "")
        if authorization.startswith("Basic "):
            try:
                decoded = base64.b64decode(authorization.removeprefix("Basic ")).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise SlackRefusal("invalid_client_id") from None
            client_id, _, client_secret = decoded.partition(":")
        if client_id != self.client_id:
            raise SlackRefusal("invalid_client_id")
        if client_secret != self.client_secret:
            raise SlackRefusal("bad_client_secret")

    def _answer(
        self, method: str, args: dict[str, Any], token: str | None, *, in_header: bool
    ) -> tuple[dict[str, Any], int, dict[str, str]]:
        handler = self._methods.get(method)
        if handler is None:
            raise SlackRefusal("unknown_method")
        if not token:
            raise SlackRefusal("not_authed")
        if method in _APP_LEVEL_METHODS:
            if token == self.bot_token:
                raise SlackRefusal("not_allowed_token_type")
            if token != self.app_token or not in_header:
                # Slack takes an app-level token only in the Authorization header.
                raise SlackRefusal("invalid_auth")
        elif token == self.app_token:
            raise SlackRefusal("not_allowed_token_type")
        else:
            grant = self._grants.get(token)
            if grant is None:
                raise SlackRefusal("invalid_auth")
            if grant.revoked:
                raise SlackRefusal("token_revoked")
            if grant.expires_at is not None and grant.expires_at <= time.time():
                raise SlackRefusal("token_expired")
            self._caller = grant
        queued = self._failures.get(method)
        if queued:
            failure = queued.popleft()
            headers = {}
            if failure.status == 429 or failure.retry_after is not None:
                headers["Retry-After"] = str(
                    1 if failure.retry_after is None else failure.retry_after
                )
            return {"ok": False, "error": failure.error}, failure.status, headers
        return {"ok": True, **handler(args)}, 200, {}

    # -- helpers ------------------------------------------------------------

    @property
    def _workspace(self) -> _Workspace:
        """Return the workspace of the token the call being answered came with."""
        return self._workspaces[self._caller.team_id]

    def _user(self, user_id: Any) -> _User:
        user = self._users.get(user_id) if isinstance(user_id, str) else None
        if user is None:
            raise SlackRefusal("user_not_found")
        return user

    def _member(self, user_id: Any) -> _User:
        """Return a member of the calling workspace; others do not exist for its token."""
        user = self._user(user_id)
        if user.team_id != self._caller.team_id:
            raise SlackRefusal("user_not_found")
        return user

    def _next_ts(self) -> str:
        micros = _FIRST_TS_MICROS + 100 * next(self._ts_counter)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _postable_channel(self, channel: Any) -> str:
        self._own_channel(channel)
        if isinstance(channel, str) and channel in self._users:
            # Slack lets a bot post to a user id; the message lands in their DM.
            user_id = channel
            channel = self.dm_channel(user_id)
            self._open_dms[channel] = user_id
        if not isinstance(channel, str) or channel not in self._open_dms:
            raise SlackRefusal("channel_not_found")
        user = self._users[self._open_dms[channel]]
        if user.deleted:
            raise SlackRefusal("is_archived")
        if user.is_bot:
            raise SlackRefusal("cannot_dm_bot")
        return channel

    def _own_channel(self, channel: Any) -> None:
        """Refuse a DM (or user id) of another workspace's member: this token cannot see it."""
        if not isinstance(channel, str):
            return
        user_id = self._open_dms.get(channel, channel)
        user = self._users.get(user_id)
        if user is not None and user.team_id != self._caller.team_id:
            raise SlackRefusal("channel_not_found")

    def _new_message(self, args: dict[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": self._workspace.bot_user_id,
            "bot_id": self._workspace.bot_id,
            "app_id": self.app_id,
            "team": self._caller.team_id,
            "text": args.get("text") or "",
            "ts": ts,
        }
        if args.get("blocks"):
            message["blocks"] = copy.deepcopy(args["blocks"])
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        if "metadata" in args:
            message["metadata"] = _checked_metadata(args["metadata"])
        return message

    def _exchange_trigger(self, trigger_id: Any) -> None:
        if not isinstance(trigger_id, str) or not trigger_id:
            raise SlackRefusal("invalid_arguments", ["[ERROR] missing required field: trigger_id"])
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            raise SlackRefusal("invalid_trigger_id")
        if trigger.used:
            raise SlackRefusal("exchanged_trigger_id")
        if time.monotonic() - trigger.issued > self.trigger_lifetime:
            raise SlackRefusal("expired_trigger_id")
        trigger.used = True

    def _valid_view(self, args: dict[str, Any], expected_type: str) -> dict[str, Any]:
        if "view" not in args:
            raise SlackRefusal("invalid_arguments", ["[ERROR] missing required field: view"])
        report = _Report()
        _check_view(report, args["view"], expected_type)
        if report.messages:
            raise SlackRefusal("invalid_arguments", report.messages)
        view: dict[str, Any] = copy.deepcopy(args["view"])
        return view

    def _new_hash(self) -> str:
        return f"{int(time.time())}.{next(self._counter):08x}"

    def _store_view(self, view: dict[str, Any], user_id: str | None) -> _StoredView:
        external_id = view.get("external_id")
        if external_id and any(
            v.view.get("external_id") == external_id for v in self._views.values()
        ):
            raise SlackRefusal("duplicate_external_id")
        stored = _StoredView(
            id=f"V{next(self._counter):08d}",
            hash=self._new_hash(),
            view=view,
            user_id=user_id,
            team_id=self._caller.team_id,
        )
        self._views[stored.id] = stored
        return stored

    def _view_answer(self, stored: _StoredView) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "id": stored.id,
            "team_id": stored.team_id,
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "state": {"values": {}},
            "hash": stored.hash,
            "clear_on_close": False,
            "notify_on_close": False,
            "previous_view_id": None,
            "root_view_id": stored.id,
            "app_id": self.app_id,
            "app_installed_team_id": stored.team_id,
            "bot_id": self._workspaces[stored.team_id].bot_id,
        }
        answer.update(copy.deepcopy(stored.view))
        return {"view": answer}

    # -- methods ------------------------------------------------------------

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        workspace = self._workspace
        return {
            "url": f"https://{workspace.team_id.lower()}.slack.com/",
            "team": workspace.name,
            "user": "meetbot",
            "team_id": workspace.team_id,
            "user_id": workspace.bot_user_id,
            "bot_id": workspace.bot_id,
            "is_enterprise_install": False,
        }

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._member(args.get("user"))
        zone = ZoneInfo(user.tz)
        now = datetime.now(tz=zone)
        offset = now.utcoffset()
        profile: dict[str, Any] = {"real_name": user.real_name, "display_name": user.real_name}
        if user.email is not None:
            profile["email"] = user.email
        name = (user.email or user.real_name).split("@")[0].lower().replace(" ", ".")
        # Slack tells a user's locale only when asked with include_locale.
        include_locale = str(args.get("include_locale", "")).lower() in ("true", "1")
        locale = {"locale": user.locale} if include_locale else {}
        return {
            "user": {
                **locale,
                "id": user.id,
                "team_id": user.team_id,
                "name": name,
                "real_name": user.real_name,
                "tz": user.tz,
                "tz_label": now.tzname(),
                "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
                "is_bot": user.is_bot,
                "deleted": user.deleted,
                "profile": profile,
            }
        }

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = args.get("users")
        if isinstance(users, list):
            users = ",".join(str(u) for u in users)
        if not isinstance(users, str) or not users:
            raise SlackRefusal("users_list_not_supplied")
        ids = [u.strip() for u in users.split(",") if u.strip()]
        if len(ids) != 1:
            raise SlackRefusal(
                "invalid_arguments", ["[ERROR] the fake opens DMs with exactly one user"]
            )
        user = self._member(ids[0])
        if user.deleted:
            raise SlackRefusal("user_disabled")
        channel = self.dm_channel(user.id)
        already_open = channel in self._open_dms
        self._open_dms[channel] = user.id
        return {"no_op": already_open, "already_open": already_open, "channel": {"id": channel}}

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._postable_channel(args.get("channel"))
        _check_message_content(args)
        message = self._new_message(args, self._next_ts())
        self._messages.setdefault(channel, []).append(message)
        return {"channel": channel, "ts": message["ts"], "message": copy.deepcopy(message)}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Return a DM's messages, newest first, as `conversations.history` does (im:history)."""
        channel = args.get("channel")
        if not isinstance(channel, str) or not channel:
            raise SlackRefusal("channel_not_found")
        self._own_channel(channel)
        if channel not in self._open_dms:
            raise SlackRefusal("channel_not_found")
        limit = int(args.get("limit") or 100)
        if not 1 <= limit <= 999:
            raise SlackRefusal("invalid_limit")
        oldest = float(args.get("oldest") or 0)
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        newest_first = sorted(
            (m for m in self._messages.get(channel, []) if float(m["ts"]) > oldest),
            key=lambda m: float(m["ts"]),
            reverse=True,
        )
        shown = []
        for message in newest_first[:limit]:
            copied = copy.deepcopy(message)
            if not with_metadata:
                copied.pop("metadata", None)
            shown.append(copied)
        return {
            "messages": shown,
            "has_more": len(newest_first) > limit,
            "response_metadata": {"next_cursor": ""},
        }

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel")
        if not isinstance(channel, str) or channel not in self._open_dms:
            raise SlackRefusal("channel_not_found")
        self._own_channel(channel)
        found = [m for m in self._messages.get(channel, []) if m["ts"] == args.get("ts")]
        if not found:
            raise SlackRefusal("message_not_found")
        _check_message_content(args)
        message = found[0]
        # Slack keeps what the update leaves out; an empty blocks list removes them.
        if "text" in args:
            message["text"] = args["text"]
        if "blocks" in args:
            if args["blocks"]:
                message["blocks"] = copy.deepcopy(args["blocks"])
            else:
                message.pop("blocks", None)
        message["edited"] = {"user": self._workspace.bot_user_id, "ts": self._next_ts()}
        return {
            "channel": channel,
            "ts": message["ts"],
            "text": message["text"],
            "message": copy.deepcopy(message),
        }

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._member(args.get("user"))
        channel = args.get("channel")
        if isinstance(channel, str) and channel in self._users:
            channel = self.dm_channel(channel)
        elif isinstance(channel, str) and channel.startswith("D"):
            if self._open_dms.get(channel) != user.id:
                raise SlackRefusal("user_not_in_channel")
        elif not isinstance(channel, str) or not _CHANNEL_ID.match(channel):
            raise SlackRefusal("channel_not_found")
        _check_message_content(args)
        ts = self._next_ts()
        message = self._new_message(args, ts)
        message["user"] = user.id
        message["channel"] = channel
        self._ephemeral.append(message)
        return {"message_ts": ts}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        view = self._valid_view(args, "modal")
        self._exchange_trigger(args.get("trigger_id"))
        return self._view_answer(self._store_view(view, None))

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._views_open(args)

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = args.get("view_id")
        external_id = args.get("external_id")
        if not view_id and not external_id:
            raise SlackRefusal("invalid_arguments", ["[ERROR] view_id or external_id is required"])
        if view_id:
            stored = self._views.get(view_id)
        else:
            stored = next(
                (v for v in self._views.values() if v.view.get("external_id") == external_id), None
            )
        if stored is None or stored.team_id != self._caller.team_id:
            raise SlackRefusal("not_found")
        if args.get("hash") and args["hash"] != stored.hash:
            raise SlackRefusal("hash_conflict")
        stored.view = self._valid_view(args, "modal")
        stored.hash = self._new_hash()
        return self._view_answer(stored)

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._member(args.get("user_id"))
        view = self._valid_view(args, "home")
        stored = next((v for v in self._views.values() if v.user_id == user.id), None)
        if stored is None:
            return self._view_answer(self._store_view(view, user.id))
        if args.get("hash") and args["hash"] != stored.hash:
            raise SlackRefusal("hash_conflict")
        stored.view = view
        stored.hash = self._new_hash()
        return self._view_answer(stored)

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        ticket = secrets.token_hex(16)
        self._tickets.add(ticket)
        return {"url": f"{self._socket_url}?ticket={ticket}&app_id={self.app_id}"}

    def _oauth_v2_access(self, args: dict[str, Any]) -> dict[str, Any]:
        """Exchange an install's code, or a refresh token, for the workspace's bot token."""
        if args.get("grant_type") == "refresh_token":
            refreshed = self._refresh_tokens.pop(str(args.get("refresh_token")), None)
            if refreshed is None or refreshed.revoked:
                raise SlackRefusal("invalid_refresh_token")
            return self._issue_bot_token(refreshed.team_id, self._scopes_of(refreshed.team_id))
        code = self._codes.get(str(args.get("code")))
        if code is None or code.used:
            raise SlackRefusal("invalid_code")
        if code.redirect_uri is not None and args.get("redirect_uri") != code.redirect_uri:
            raise SlackRefusal("bad_redirect_uri")
        code.used = True
        answer = self._issue_bot_token(code.team_id, code.scopes)
        answer["authed_user"] = {"id": code.installer}
        return answer

    def _scopes_of(self, team_id: str) -> str:
        return next(c.scopes for c in reversed(self._codes.values()) if c.team_id == team_id)

    def _issue_bot_token(self, team_id: str, scopes: str) -> dict[str, Any]:
        workspace = self._workspaces[team_id]
        number = next(self._counter)
        grant = _Grant(team_id)
        answer: dict[str, Any] = {
            "token_type": "bot",
            "scope": scopes,
            "bot_user_id": workspace.bot_user_id,
            "app_id": self.app_id,
            "team": {"name": workspace.name, "id": team_id},
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if self.token_rotation:
            token = f"xoxe.xoxb-1-{team_id}-{number}-{secrets.token_hex(8)}"
            refresh_token = f"xoxe-1-{team_id}-{number}-{secrets.token_hex(8)}"
            grant.expires_at = time.time() + self.token_lifetime_seconds
            self._refresh_tokens[refresh_token] = _Grant(team_id)
            answer["refresh_token"] = refresh_token
            answer["expires_in"] = self.token_lifetime_seconds
        else:
            token = f"xoxb-{team_id}-{number}-{secrets.token_hex(8)}"
        self._grants[token] = grant
        answer["access_token"] = token
        return answer
