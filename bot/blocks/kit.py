"""Block Kit's small parts and Slack's limits, shared by every builder; pure."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.i18n import (
    N_,
    Translator,
)
from bot.meetings.model import (
    Answer,
    Meeting,
)

Block = dict[str, Any]


View = dict[str, Any]


Message = tuple[str, list[Block]]


# English words, translated where shown.
ANSWER_WORDS = {
    Answer.ACCEPTED: N_("accepted"),
    Answer.TENTATIVE: N_("maybe"),
    Answer.DECLINED: N_("declined"),
    Answer.NEEDS_ACTION: N_("no answer yet"),
}


# The same answers counted: `2 accepted`; a count comes first or last depending on the language.
ANSWER_COUNTS = {
    Answer.ACCEPTED: N_("{count} accepted"),
    Answer.TENTATIVE: N_("{count} maybe"),
    Answer.DECLINED: N_("{count} declined"),
    Answer.NEEDS_ACTION: N_("{count} no answer yet"),
}


ANSWER_EMOJI = {
    Answer.ACCEPTED: ":white_check_mark:",
    Answer.TENTATIVE: ":grey_question:",
    Answer.DECLINED: ":x:",
    Answer.NEEDS_ACTION: ":hourglass_flowing_sand:",
}


BUTTON_LABELS = {
    Answer.ACCEPTED: N_("Accept"),
    Answer.TENTATIVE: N_("Maybe"),
    Answer.DECLINED: N_("Decline"),
}


# Slack refuses a message of more than 50 blocks, a view of more than 100, a section over 3000.
MESSAGE_BLOCK_LIMIT = 50


VIEW_BLOCK_LIMIT = 100


SECTION_TEXT_LIMIT = 3000


LISTED_PER_GROUP = 60


# Keeps a summary line short enough that 60 of them fit a handful of sections.
LINE_PART_LIMIT = 120


def escape(text: str) -> str:
    """Escape user text for mrkdwn so it cannot mention, link or format by accident."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_time(moment: datetime, layout: str = "{date_short_pretty} {time}") -> str:
    """Return a time every reader sees in their own time zone."""
    stamp = int(moment.timestamp())
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{stamp}^{layout}|{fallback}>"


def span(start: datetime, end: datetime) -> str:
    """Return a start and end in Slack's per-reader date formatting."""
    same_day = start.date() == end.date()
    end_layout = "{time}" if same_day else "{date_short_pretty} {time}"
    return f"{slack_time(start)} – {slack_time(end, end_layout)}"


def time_range(meeting: Meeting) -> str:
    """Return the meeting's start and end in Slack's per-reader date formatting."""
    return span(meeting.start, meeting.end)


def plain(text: str) -> dict[str, Any]:
    """Return a plain_text object (emoji allowed)."""
    return {"type": "plain_text", "text": text, "emoji": True}


def mrkdwn(text: str) -> Block:
    """Return a mrkdwn section, cut to Slack's section limit."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_TEXT_LIMIT]}}


def context(text: str) -> Block:
    """Return a context block of one mrkdwn line."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    """Return a button element, styled when asked."""
    button: dict[str, Any] = {
        "type": "button",
        "text": plain(text),
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def input_block(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False
) -> Block:
    """Return an input block around an element."""
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": element,
        "optional": optional,
    }


def shorten(text: str, limit: int) -> str:
    """Return text on one line, cut with an ellipsis to a length."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def option(text: str, value: str) -> dict[str, Any]:
    """Return an option for a select or checkboxes."""
    return {"text": plain(text), "value": value}


def reminder_label(t: Translator, minutes: int | None) -> str:
    """Return how a reminder choice reads: "15 minutes before"."""
    if minutes is None:
        return t.gettext("No reminder")
    return t.ngettext("{count} minute before", "{count} minutes before", minutes).format(
        count=minutes
    )


def text_element(
    initial: str, max_length: int | None, *, multiline: bool = False, placeholder: str = ""
) -> dict[str, Any]:
    """Return a plain_text_input, pre-filled and capped."""
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value"}
    if max_length is not None:
        element["max_length"] = max_length
    if multiline:
        element["multiline"] = True
    if placeholder:
        element["placeholder"] = plain(placeholder)
    if initial:
        element["initial_value"] = initial if max_length is None else initial[:max_length]
    return element


def more_text(t: Translator, count: int) -> str:
    """Return "…and 3 more", for a list cut short."""
    return t.ngettext("…and {count} more", "…and {count} more", count).format(count=count)


def notice(text: str) -> Message:
    """Return a one-section message for short notices to a person."""
    return text, [mrkdwn(escape(text))]


def meeting_modal(
    callback_id: str, meeting: Meeting, title: str, submit: str, close: str, blocks: list[Block]
) -> View:
    """Return a form about one meeting: its id and version ride along in private_metadata."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps({"meeting_id": meeting.id, "version": meeting.version}),
        "title": plain(title),
        "submit": plain(submit),
        "close": plain(close),
        "blocks": blocks,
    }
