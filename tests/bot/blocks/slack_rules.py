"""What Slack accepts and what a reader can be tricked by, checked the way the fake Slack checks.

The fake Slack's own checks are reused: its explicit Block Kit limits, then a round trip
through slack_sdk.models (Block.parse for each block, View for a whole view).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.blocks.kit import Block, Message, View
from tests.fakes.slack_api import SlackRefusal, _check_message_content, _check_view, _Report

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "slack"
# Elements a person acts on; Slack sends each back by its block id and action id.
INTERACTIVE = frozenset(
    {
        "button",
        "checkboxes",
        "datetimepicker",
        "file_input",
        "multi_users_select",
        "plain_text_input",
        "radio_buttons",
        "static_select",
        "timepicker",
    }
)
# `<...>` in mrkdwn is Slack markup: a mention, a date, a link. Only these are Meetbot's own.
OUR_MARKUP = re.compile(r"^(@[UW][A-Z0-9]+|!date\^\d+\^[^|]+\|[^<>]+)$")
MARKUP = re.compile(r"<([^<>]*)>")
BARE_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")


def load_payload(name: str) -> dict[str, Any]:
    """Return a recorded Slack payload from tests/fixtures/slack."""
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return loaded


def refuse_unless_slack_accepts_message(message: Message) -> None:
    """Fail unless chat.postMessage would take the message's text and blocks."""
    text, blocks = message
    try:
        _check_message_content({"text": text, "blocks": blocks})
    except SlackRefusal as refusal:
        raise AssertionError(f"Slack refuses: {refusal.error} {refusal.messages}") from refusal


def refuse_unless_slack_accepts_view(view: View, surface: str) -> None:
    """Fail unless views.open ("modal") or views.publish ("home") would take the view."""
    report = _Report()
    _check_view(report, view, surface)
    assert report.messages == [], f"Slack refuses the {surface}: {report.messages}"


def mrkdwn_texts(blocks: list[Block]) -> Iterator[str]:
    """Yield every mrkdwn text a reader sees in blocks."""
    for block in blocks:
        texts = [block.get("text"), *block.get("fields", [])]
        if block["type"] == "context":
            texts += block["elements"]
        for text in texts:
            if isinstance(text, dict) and text.get("type") == "mrkdwn":
                yield str(text["text"])


def foreign_markup(blocks: list[Block], *, allowed_links: tuple[str, ...] = ()) -> list[str]:
    """Return the Slack markup in blocks that Meetbot did not mean: mentions, links, bare `&`."""
    found = []
    for text in mrkdwn_texts(blocks):
        for markup in MARKUP.findall(text):
            ours = OUR_MARKUP.match(markup) or any(markup.startswith(f) for f in allowed_links)
            if not ours:
                found.append(f"<{markup}>")
        found += BARE_AMPERSAND.findall(text)
    return found


def addressed_actions(blocks: list[Block]) -> list[tuple[str, str]]:
    """Return the block id and action id of every element a person can act on, in order."""
    actions = []
    for block in blocks:
        elements = [block.get("accessory"), block.get("element"), *block.get("elements", [])]
        for element in elements:
            if isinstance(element, dict) and element.get("type") in INTERACTIVE:
                actions.append((str(block.get("block_id", "")), str(element.get("action_id", ""))))
    return actions


def refuse_unless_every_action_is_told_apart(blocks: list[Block]) -> None:
    """Fail unless each element a person acts on comes back with its own block and action id.

    Slack wants action ids unique within a block and block ids unique within a surface; a
    block without its own id gets a random one, which no handler could recognise.
    """
    actions = addressed_actions(blocks)
    assert all(block_id and action_id for block_id, action_id in actions), actions
    repeated = [pair for pair, count in Counter(actions).items() if count > 1]
    assert repeated == []
