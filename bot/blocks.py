"""Block Kit builders: pure functions from meetings to Slack views and messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.drafts import MAX_DESCRIPTION, MAX_LOCATION, MAX_TITLE
from bot.meetings import Answer, Invitee, Meeting

Block = dict[str, Any]
View = dict[str, Any]

CREATE_CALLBACK = "meet_create"
ANSWER_ACTIONS = {
    "answer_accepted": Answer.ACCEPTED,
    "answer_tentative": Answer.TENTATIVE,
    "answer_declined": Answer.DECLINED,
}
ANSWER_WORDS = {
    Answer.ACCEPTED: "accepted",
    Answer.TENTATIVE: "maybe",
    Answer.DECLINED: "declined",
    Answer.NEEDS_ACTION: "no answer yet",
}
ANSWER_EMOJI = {
    Answer.ACCEPTED: ":white_check_mark:",
    Answer.TENTATIVE: ":grey_question:",
    Answer.DECLINED: ":x:",
    Answer.NEEDS_ACTION: ":hourglass_flowing_sand:",
}
# Slack refuses a message of more than 50 blocks or a section of more than 3000 characters.
MESSAGE_BLOCK_LIMIT = 50
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


def time_range(meeting: Meeting) -> str:
    """Return the meeting's start and end in Slack's per-reader date formatting."""
    same_day = meeting.start.date() == meeting.end.date()
    end_layout = "{time}" if same_day else "{date_short_pretty} {time}"
    return f"{slack_time(meeting.start)} – {slack_time(meeting.end, end_layout)}"


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label),
        "element": element,
        "optional": optional,
    }


def create_modal(
    *,
    start: datetime,
    end: datetime,
    title: str = "",
    member_ids: tuple[str, ...] = (),
    guests_text: str = "",
) -> View:
    """Return the create form, pre-filled with the given values."""
    title_element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "max_length": MAX_TITLE,
        "placeholder": _plain("Design review with Acme"),
    }
    if title:
        title_element["initial_value"] = title[:MAX_TITLE]
    members_element: dict[str, Any] = {
        "type": "multi_users_select",
        "action_id": "value",
        "placeholder": _plain("People from this workspace"),
    }
    if member_ids:
        members_element["initial_users"] = list(member_ids)
    guests_element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": True,
        "placeholder": _plain("Ana Client <ana@client.example>, bob@partner.example"),
    }
    if guests_text:
        guests_element["initial_value"] = guests_text
    return {
        "type": "modal",
        "callback_id": CREATE_CALLBACK,
        "title": _plain("New meeting"),
        "submit": _plain("Send invitations"),
        "close": _plain("Cancel"),
        "blocks": [
            _input("title", "Title", title_element),
            _input(
                "start",
                "Starts",
                {
                    "type": "datetimepicker",
                    "action_id": "value",
                    "initial_date_time": int(start.timestamp()),
                },
            ),
            _input(
                "end",
                "Ends",
                {
                    "type": "datetimepicker",
                    "action_id": "value",
                    "initial_date_time": int(end.timestamp()),
                },
            ),
            _input(
                "location",
                "Place",
                {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "max_length": MAX_LOCATION,
                    "placeholder": _plain("Room, address or video link"),
                },
                optional=True,
            ),
            _input(
                "description",
                "Description",
                {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "multiline": True,
                    "max_length": MAX_DESCRIPTION,
                },
                optional=True,
            ),
            _input("members", "Members", members_element, optional=True),
            {
                **_input("guests", "Guests (e-mail)", guests_element, optional=True),
                "hint": _plain("One per line or separated by commas, as in an e-mail's To: line."),
            },
            _input(
                "notify",
                "Notifications",
                {
                    "type": "checkboxes",
                    "action_id": "value",
                    "options": [
                        {
                            "text": _plain("Notify me when someone accepts or declines"),
                            "value": "notify",
                        }
                    ],
                },
                optional=True,
            ),
        ],
    }


def _details(meeting: Meeting) -> str:
    lines = [f"*When:* {time_range(meeting)}"]
    if meeting.location:
        lines.append(f"*Where:* {escape(meeting.location)}")
    return "\n".join(lines)


def _description_blocks(meeting: Meeting) -> list[Block]:
    if not meeting.description:
        return []
    quoted = "\n".join(f">{line}" for line in escape(meeting.description).splitlines())
    return [{"type": "section", "text": {"type": "mrkdwn", "text": quoted[:SECTION_TEXT_LIMIT]}}]


def tally_line(meeting: Meeting) -> str:
    """Return the count of answers, e.g. `2 accepted · 1 maybe · 0 declined · 3 no answer yet`."""
    counts = meeting.tally()
    order = (Answer.ACCEPTED, Answer.TENTATIVE, Answer.DECLINED, Answer.NEEDS_ACTION)
    return " · ".join(f"{ANSWER_EMOJI[a]} {counts[a]} {ANSWER_WORDS[a]}" for a in order)


def invitee_line(invitee: Invitee) -> str:
    """Return one invitee with their answer, for the organizer's summary."""
    who = (
        f"<@{invitee.slack_user_id}>"
        if invitee.is_member
        else escape(_shorten(invitee.guest_label(), LINE_PART_LIMIT))
    )
    line = f"{ANSWER_EMOJI[invitee.answer]} {who} — {ANSWER_WORDS[invitee.answer]}"
    if invitee.comment:
        line += f": _{escape(_shorten(invitee.comment, LINE_PART_LIMIT))}_"
    return line


def _shorten(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _listing(heading: str, lines: list[str]) -> list[Block]:
    """Return sections listing lines under a heading, split to fit Slack's section limit."""
    if not lines:
        return []
    shown = lines[:LISTED_PER_GROUP]
    if len(lines) > len(shown):
        shown.append(f"…and {len(lines) - len(shown)} more")
    blocks: list[Block] = []
    text = f"*{heading}*"
    for line in shown:
        if len(text) + 1 + len(line) > SECTION_TEXT_LIMIT:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
            text = line
        else:
            text = f"{text}\n{line}"
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    return blocks


def organizer_summary(meeting: Meeting) -> tuple[str, list[Block]]:
    """Return the organizer's summary DM: the meeting and everyone's answer so far."""
    text = f"Your meeting {meeting.title}: invitations sent"
    blocks: list[Block] = [
        {"type": "header", "text": _plain(meeting.title)},
        {"type": "section", "text": {"type": "mrkdwn", "text": _details(meeting)}},
        *_description_blocks(meeting),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": tally_line(meeting)}]},
        *_listing(f"Members ({len(meeting.members)})", [invitee_line(m) for m in meeting.members]),
        *_listing(f"Guests ({len(meeting.guests)})", [invitee_line(g) for g in meeting.guests]),
    ]
    if not meeting.invitees:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "Nobody is invited yet."}]}
        )
    return text, blocks[:MESSAGE_BLOCK_LIMIT]


def member_invitation(meeting: Meeting, invitee: Invitee) -> tuple[str, list[Block]]:
    """Return a member's invitation DM, with buttons to answer and their answer so far."""
    organizer = f"<@{meeting.organizer.user_id}>"
    text = f"{meeting.organizer.name} invites you to {meeting.title}"
    blocks: list[Block] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": (
                    f"{organizer} invites you to *{escape(meeting.title)}*\n{_details(meeting)}"
                ),
            },
        },
        *_description_blocks(meeting),
    ]
    others = len(meeting.invitees) - 1
    if others > 0:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"{others} other people are invited."}],
            }
        )
    buttons = []
    for action_id, answer in ANSWER_ACTIONS.items():
        button: dict[str, Any] = {
            "type": "button",
            "action_id": action_id,
            "text": _plain(
                {"accepted": "Accept", "maybe": "Maybe", "declined": "Decline"}[
                    ANSWER_WORDS[answer]
                ]
            ),
            "value": str(meeting.id),
        }
        if invitee.answer is answer:
            button["style"] = "primary" if answer is not Answer.DECLINED else "danger"
        buttons.append(button)
    blocks.append({"type": "actions", "block_id": "answer", "elements": buttons})
    if invitee.answer is not Answer.NEEDS_ACTION:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": (
                            f"{ANSWER_EMOJI[invitee.answer]} "
                            f"Your answer: *{ANSWER_WORDS[invitee.answer]}*"
                        ),
                    }
                ],
            }
        )
    return text, blocks


def decision_notice(
    meeting: Meeting, invitee: Invitee, answer: Answer, comment: str
) -> tuple[str, list[Block]]:
    """Return the organizer's DM about one person's decision."""
    if invitee.is_member:
        who_text, who_mrkdwn = "A member", f"<@{invitee.slack_user_id}>"
    else:
        who_text = invitee.guest_label()
        who_mrkdwn = escape(who_text)
    word = ANSWER_WORDS[answer] if answer is not Answer.TENTATIVE else "answered maybe to"
    text = f"{who_text} {word} {meeting.title}"
    body = (
        f"{ANSWER_EMOJI[answer]} {who_mrkdwn} {word} *{escape(meeting.title)}* "
        f"({slack_time(meeting.start)})"
    )
    if comment:
        quoted = "\n".join(f">{line}" for line in escape(comment).splitlines())
        body += f"\n{quoted}"
    return text, [
        {"type": "section", "text": {"type": "mrkdwn", "text": body[:SECTION_TEXT_LIMIT]}}
    ]


def notice(text: str) -> tuple[str, list[Block]]:
    """Return a one-section message for short notices to a person."""
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": escape(text)}}]
