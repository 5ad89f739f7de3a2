"""Block Kit builders: pure functions from meetings to Slack views and messages."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.availability import MemberStatus
from bot.drafts import (
    DEFAULT_REMINDER,
    MAX_DESCRIPTION,
    MAX_FILES,
    MAX_LOCATION,
    MAX_TITLE,
    REMINDER_CHOICES,
)
from bot.feeds import FeedStatus
from bot.mailboxes import Mailbox, Mailboxes
from bot.meetings import Agenda, Answer, Change, Invitee, Meeting, Proposal, parse_time_text
from bot.preferences import GUEST_LANGUAGES, PersonalSettings, WorkingHours

Block = dict[str, Any]
View = dict[str, Any]
Message = tuple[str, list[Block]]

CREATE_CALLBACK = "meet_create"
EDIT_CALLBACK = "meet_edit"
CANCEL_CALLBACK = "meet_cancel"
EDIT_ACTION = "edit_meeting"
CANCEL_ACTION = "cancel_meeting"
MORE_ACTION = "home_show_more"
FIND_TIME_ACTION = "find_time"
PICK_SLOT_ACTION = "pick_slot"
COUNTER_ACCEPT_ACTION = "counter_accept"
CONNECT_FEED_ACTION = "connect_calendar"
DISCONNECT_FEED_ACTION = "disconnect_calendar"
FEED_CALLBACK = "calendar_feed"
COUNTER_DECLINE_ACTION = "counter_decline"
SETTINGS_ACTION = "open_settings"
SETTINGS_CALLBACK = "personal_settings"
MAILBOX_CALLBACK = "mailbox_question"
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
BUTTON_LABELS = {Answer.ACCEPTED: "Accept", Answer.TENTATIVE: "Maybe", Answer.DECLINED: "Decline"}
# Slack refuses a message of more than 50 blocks, a view of more than 100, a section over 3000.
MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
SECTION_TEXT_LIMIT = 3000
LISTED_PER_GROUP = 60
# Keeps a summary line short enough that 60 of them fit a handful of sections.
LINE_PART_LIMIT = 120
# Each meeting on the Home tab takes two blocks; 2 x 22 of them, with the calendar's three,
# stay inside Slack's 100.
HOME_PAGE_SIZE = 10
HOME_MAX_PER_GROUP = 22
LIST_LIMIT = 10


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


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _mrkdwn(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_TEXT_LIMIT]}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": _plain(text),
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label),
        "element": element,
        "optional": optional,
    }


def _shorten(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": _plain(text), "value": value}


def _reminder_label(minutes: int | None) -> str:
    return "No reminder" if minutes is None else f"{minutes} minutes before"


@dataclass(frozen=True)
class FormValues:
    """What the create or edit form shows when it opens."""

    start: datetime
    end: datetime
    title: str = ""
    location: str = ""
    description: str = ""
    member_ids: tuple[str, ...] = ()
    guests_text: str = ""
    notify: bool = False
    remind_guests: bool = False
    reminder_minutes: int | None = DEFAULT_REMINDER
    attached_files: tuple[tuple[int, str], ...] = field(default_factory=tuple)
    kept_file_ids: tuple[int, ...] | None = None
    availability: tuple[MemberStatus, ...] = ()
    # None until "Find a time" was pressed; then the times found (maybe none).
    slots: tuple[tuple[datetime, datetime], ...] | None = None
    # Slack keeps what a person typed into an input whose ids stay the same; a new action id
    # is how a picked slot replaces the times shown.
    time_revision: int = 0


def create_modal(values: FormValues) -> View:
    """Return the create form, pre-filled with the given values."""
    return _meeting_modal(values, CREATE_CALLBACK, "New meeting", "Send invitations", "")


def edit_modal(values: FormValues, meeting_id: int, version: int) -> View:
    """Return the edit form for a meeting, pre-filled with how it is now."""
    metadata = json.dumps({"meeting_id": meeting_id, "version": version})
    return _meeting_modal(values, EDIT_CALLBACK, "Edit meeting", "Save changes", metadata)


def form_values_of(meeting: Meeting) -> FormValues:
    """Return the form values that show a meeting as it is."""
    return FormValues(
        start=meeting.start,
        end=meeting.end,
        title=meeting.title,
        location=meeting.location,
        description=meeting.description,
        member_ids=tuple(m.slack_user_id for m in meeting.members if m.slack_user_id),
        guests_text="\n".join(g.guest_label() for g in meeting.guests),
        notify=meeting.notify_on_decision,
        remind_guests=meeting.remind_guests,
        reminder_minutes=meeting.reminder_minutes,
        attached_files=tuple((f.id, f.name) for f in meeting.files),
    )


def _text_element(
    initial: str, max_length: int | None, *, multiline: bool = False, placeholder: str = ""
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value"}
    if max_length is not None:
        element["max_length"] = max_length
    if multiline:
        element["multiline"] = True
    if placeholder:
        element["placeholder"] = _plain(placeholder)
    if initial:
        element["initial_value"] = initial if max_length is None else initial[:max_length]
    return element


MODAL_WORDS = {
    CREATE_CALLBACK: ("New meeting", "Send invitations"),
    EDIT_CALLBACK: ("Edit meeting", "Save changes"),
}


def refreshed_modal(view: dict[str, Any], values: FormValues) -> View:
    """Return an open create or edit form again, with new values, availability or slots."""
    callback_id = str(view.get("callback_id", CREATE_CALLBACK))
    title, submit = MODAL_WORDS.get(callback_id, MODAL_WORDS[CREATE_CALLBACK])
    return _meeting_modal(values, callback_id, title, submit, str(view.get("private_metadata", "")))


def availability_lines(statuses: tuple[MemberStatus, ...]) -> str:
    """Return one line per picked member: free, or busy and with what, and their local time."""
    lines = []
    for status in statuses:
        who = f"<@{status.user_id}>"
        if status.free:
            line = f":large_green_circle: {who} is free"
        else:
            clash = status.clashes[0]
            what = f" ({escape(_shorten(clash.title, 60))})" if clash.title else ""
            line = f":red_circle: {who} is busy {span(clash.start, clash.end)}{what}"
            if len(status.clashes) > 1:
                line += f" and {len(status.clashes) - 1} more"
        if status.outside_hours:
            local = status.local_start
            line += f" · their time {local:%a %H:%M}, outside working hours"
        lines.append(line)
    return "\n".join(lines)


def _slot_buttons(slots: tuple[tuple[datetime, datetime], ...]) -> list[Block]:
    if not slots:
        return [_context("No time in the next two weeks suits everyone; try a shorter meeting.")]
    return [
        _mrkdwn("*Times that suit everyone:* " + " · ".join(span(s, e) for s, e in slots)),
        {
            "type": "actions",
            "block_id": "slots",
            "elements": [
                _button(
                    f"Option {n}",
                    f"{PICK_SLOT_ACTION}_{n}",
                    f"{int(start.timestamp())}-{int(end.timestamp())}",
                )
                for n, (start, end) in enumerate(slots, 1)
            ],
        },
    ]


def _meeting_modal(
    values: FormValues, callback_id: str, title: str, submit: str, metadata: str
) -> View:
    members_element: dict[str, Any] = {
        "type": "multi_users_select",
        "action_id": "value",
        "placeholder": _plain("People from this workspace"),
    }
    if values.member_ids:
        members_element["initial_users"] = list(values.member_ids)
    guests_element = _text_element(
        values.guests_text,
        None,  # a long guest list is checked on submit, with a clear count
        multiline=True,
        placeholder="Ana Client <ana@client.example>, bob@partner.example",
    )
    notify_options = [
        _option("Notify me when someone accepts or declines", "notify"),
        _option("E-mail guests a reminder too", "remind_guests"),
    ]
    notify_element: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": "value",
        "options": notify_options,
    }
    chosen = [o for o in notify_options if values.notify or o["value"] != "notify"]
    chosen = [o for o in chosen if values.remind_guests or o["value"] != "remind_guests"]
    if chosen:
        notify_element["initial_options"] = chosen
    reminder_options = [
        _option(_reminder_label(m), "none" if m is None else str(m)) for m in REMINDER_CHOICES
    ]
    reminder_value = "none" if values.reminder_minutes is None else str(values.reminder_minutes)
    time_action = "value" if not values.time_revision else f"value_{values.time_revision}"
    blocks: list[Block] = [
        _input(
            "title",
            "Title",
            _text_element(values.title, MAX_TITLE, placeholder="Design review with Acme"),
        ),
        {
            **_input(
                "start",
                "Starts",
                {
                    "type": "datetimepicker",
                    "action_id": time_action,
                    "initial_date_time": int(values.start.timestamp()),
                },
            ),
            "dispatch_action": True,
        },
        {
            **_input(
                "end",
                "Ends",
                {
                    "type": "datetimepicker",
                    "action_id": time_action,
                    "initial_date_time": int(values.end.timestamp()),
                },
            ),
            "dispatch_action": True,
        },
        _input(
            "location",
            "Place",
            _text_element(values.location, MAX_LOCATION, placeholder="Room, address or video link"),
            optional=True,
        ),
        _input(
            "description",
            "Description",
            _text_element(values.description, MAX_DESCRIPTION, multiline=True),
            optional=True,
        ),
        {
            **_input("members", "Members", members_element, optional=True),
            "dispatch_action": True,
        },
    ]
    if values.availability:
        blocks.append(
            {
                "type": "section",
                "block_id": "availability",
                "text": {"type": "mrkdwn", "text": availability_lines(values.availability)},
            }
        )
    blocks.append(
        {
            "type": "actions",
            "block_id": "find_time",
            "elements": [_button("Find a time", FIND_TIME_ACTION, "find")],
        }
    )
    if values.slots is not None:
        blocks += _slot_buttons(values.slots)
    blocks += [
        {
            **_input("guests", "Guests (e-mail)", guests_element, optional=True),
            "hint": _plain("One per line or separated by commas, as in an e-mail's To: line."),
        },
    ]
    if values.attached_files:
        file_options = [
            _option(_shorten(name, 70), str(file_id)) for file_id, name in values.attached_files
        ]
        kept_options = [
            o
            for o in file_options
            if values.kept_file_ids is None or int(o["value"]) in values.kept_file_ids
        ]
        blocks.append(
            _input(
                "kept_files",
                "Attached files (untick to remove)",
                {
                    "type": "checkboxes",
                    "action_id": "value",
                    "options": file_options,
                    **({"initial_options": kept_options} if kept_options else {}),
                },
                optional=True,
            )
        )
    blocks += [
        _input(
            "files",
            "Add files" if values.attached_files else "Files",
            {"type": "file_input", "action_id": "value", "max_files": MAX_FILES},
            optional=True,
        ),
        _input(
            "reminder",
            "Reminder",
            {
                "type": "static_select",
                "action_id": "value",
                "options": reminder_options,
                "initial_option": next(o for o in reminder_options if o["value"] == reminder_value),
            },
        ),
        _input("notify", "Notifications", notify_element, optional=True),
    ]
    view: View = {
        "type": "modal",
        "callback_id": callback_id,
        "title": _plain(title),
        "submit": _plain(submit),
        "close": _plain("Close"),
        "blocks": blocks,
    }
    if metadata:
        view["private_metadata"] = metadata
    return view


def cancel_modal(meeting: Meeting) -> View:
    """Return the confirmation asked before a meeting is cancelled."""
    return {
        "type": "modal",
        "callback_id": CANCEL_CALLBACK,
        "private_metadata": json.dumps({"meeting_id": meeting.id, "version": meeting.version}),
        "title": _plain("Cancel meeting"),
        "submit": _plain("Cancel meeting"),
        "close": _plain("Keep it"),
        "blocks": [
            _mrkdwn(
                f"Cancel *{escape(meeting.title)}* ({time_range(meeting)})? "
                f"All {len(meeting.invitees)} invited people will be told, and it will be "
                "removed from guests' calendars."
            ),
            _input(
                "message",
                "Message to attendees",
                _text_element("", 1000, multiline=True, placeholder="Sorry, something came up."),
                optional=True,
            ),
        ],
    }


def _details(meeting: Meeting, file_links: list[tuple[str, str]] | None = None) -> str:
    lines = [f"*When:* {time_range(meeting)}"]
    if meeting.location:
        lines.append(f"*Where:* {escape(meeting.location)}")
    if file_links:
        links = ", ".join(f"<{url}|{escape(_shorten(name, 60))}>" for name, url in file_links)
        lines.append(f"*Files:* {links}")
    return "\n".join(lines)


def _description_blocks(meeting: Meeting) -> list[Block]:
    if not meeting.description:
        return []
    quoted = "\n".join(f">{line}" for line in escape(meeting.description).splitlines())
    return [_mrkdwn(quoted)]


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
    if invitee.delivery_error:
        line += f" :warning: undeliverable ({escape(_shorten(invitee.delivery_error, 80))})"
    return line


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
            blocks.append(_mrkdwn(text))
            text = line
        else:
            text = f"{text}\n{line}"
    blocks.append(_mrkdwn(text))
    return blocks


def _organizer_buttons(meeting: Meeting) -> Block:
    return {
        "type": "actions",
        "block_id": f"manage_{meeting.id}",
        "elements": [
            _button("Edit", EDIT_ACTION, str(meeting.id)),
            _button("Cancel meeting", CANCEL_ACTION, str(meeting.id), "danger"),
        ],
    }


def organizer_summary(meeting: Meeting, file_links: list[tuple[str, str]] | None = None) -> Message:
    """Return the organizer's summary DM: the meeting and everyone's answer so far."""
    if meeting.cancelled:
        text = f"You cancelled {meeting.title}"
        return text, [
            {"type": "header", "text": _plain(f"Cancelled: {_shorten(meeting.title, 130)}")},
            _mrkdwn(f"~{time_range(meeting)}~\nEveryone invited was told."),
        ]
    text = f"Your meeting {meeting.title}: invitations sent"
    blocks: list[Block] = [
        {"type": "header", "text": _plain(meeting.title)},
        _mrkdwn(_details(meeting, file_links)),
        *_description_blocks(meeting),
        _context(tally_line(meeting)),
        *_listing(f"Members ({len(meeting.members)})", [invitee_line(m) for m in meeting.members]),
        *_listing(f"Guests ({len(meeting.guests)})", [invitee_line(g) for g in meeting.guests]),
    ]
    if not meeting.invitees:
        blocks.append(_context("Nobody is invited yet."))
    blocks = blocks[: MESSAGE_BLOCK_LIMIT - 1]
    blocks.append(_organizer_buttons(meeting))
    return text, blocks


def answer_value(meeting: Meeting) -> str:
    """Return the value answer buttons carry: the meeting and the version they answer."""
    return f"{meeting.id}:{meeting.sequence}"


def parse_answer_value(value: str) -> tuple[int, int | None]:
    """Return the meeting id and version an answer button carries."""
    meeting_id, _, sequence = value.partition(":")
    return int(meeting_id), int(sequence) if sequence else None


def _answer_buttons(meeting: Meeting, invitee: Invitee, block_id: str) -> Block:
    buttons = []
    for action_id, answer in ANSWER_ACTIONS.items():
        style = None
        if invitee.answer is answer:
            style = "danger" if answer is Answer.DECLINED else "primary"
        buttons.append(_button(BUTTON_LABELS[answer], action_id, answer_value(meeting), style))
    return {"type": "actions", "block_id": block_id, "elements": buttons}


def _own_answer(invitee: Invitee) -> str:
    return f"{ANSWER_EMOJI[invitee.answer]} Your answer: *{ANSWER_WORDS[invitee.answer]}*"


def member_invitation(
    meeting: Meeting, invitee: Invitee, file_links: list[tuple[str, str]] | None = None
) -> Message:
    """Return a member's invitation DM, with buttons to answer and their answer so far."""
    organizer = f"<@{meeting.organizer.user_id}>"
    title = escape(meeting.title)
    if meeting.cancelled or invitee.removed:
        why = "cancelled this meeting" if meeting.cancelled else "took you off this meeting"
        text = f"{meeting.organizer.name} {why}: {meeting.title}"
        return text, [_mrkdwn(f"~*{title}*~ ({time_range(meeting)})\n{organizer} {why}.")]
    text = f"{meeting.organizer.name} invites you to {meeting.title}"
    blocks: list[Block] = [
        _mrkdwn(f"{organizer} invites you to *{title}*\n{_details(meeting, file_links)}"),
        *_description_blocks(meeting),
    ]
    others = len(meeting.invitees) - 1
    if others > 0:
        blocks.append(_context(f"{others} other people are invited."))
    blocks.append(_answer_buttons(meeting, invitee, "answer"))
    if invitee.answer is not Answer.NEEDS_ACTION:
        blocks.append(_context(_own_answer(invitee)))
    return text, blocks


def describe_change(change: Change) -> str:
    """Return one change for Slack, times in each reader's own zone."""
    if change.field == "Time":
        was, now = parse_time_text(change.before), parse_time_text(change.after)
        return f"*Time:* {span(*was)} → {span(*now)}"
    if change.field == "Description":
        return "*Description:* changed"
    before = escape(_shorten(change.before, 200)) or "_none_"
    after = escape(_shorten(change.after, 200)) or "_none_"
    return f"*{change.field}:* {before} → {after}"


def member_notice(
    meeting: Meeting, reason: str, changes: list[Change], answers_reset: bool
) -> Message:
    """Return the DM telling a member their meeting changed, was cancelled or dropped them."""
    organizer = f"<@{meeting.organizer.user_id}>"
    title = escape(meeting.title)
    if reason == "cancelled":
        text = f"{meeting.organizer.name} cancelled {meeting.title}"
        body = f":no_entry_sign: {organizer} cancelled *{title}* ({time_range(meeting)})."
        if meeting.cancel_message:
            quoted = "\n".join(f">{line}" for line in escape(meeting.cancel_message).splitlines())
            body += f"\n{quoted}"
        return text, [_mrkdwn(body)]
    if reason == "removed":
        text = f"You are no longer invited to {meeting.title}"
        return text, [
            _mrkdwn(f"{organizer} took you off *{title}* ({time_range(meeting)}); nothing to do.")
        ]
    text = f"{meeting.organizer.name} changed {meeting.title}"
    lines = [f":pencil2: {organizer} changed *{title}*:"]
    lines += [f"• {describe_change(c)}" for c in changes]
    if answers_reset:
        lines.append("The time changed, so your answer was reset. Please answer again above.")
    return text, [_mrkdwn("\n".join(lines))]


def member_reminder(meeting: Meeting) -> Message:
    """Return the DM reminding a member that a meeting starts soon."""
    text = f"Reminder: {meeting.title} starts soon"
    starts = slack_time(meeting.start, "{time}")
    return text, [
        _mrkdwn(f":alarm_clock: *{escape(meeting.title)}* starts {starts}.\n{_details(meeting)}")
    ]


def decision_notice(
    meeting: Meeting, invitee: Invitee, answer: Answer, comment: str, *, stale: bool = False
) -> Message:
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
    if stale:
        body += (
            "\n:warning: They answered an earlier version of the invitation, "
            "before the time changed: the answer is to the old time."
        )
    if comment:
        quoted = "\n".join(f">{line}" for line in escape(comment).splitlines())
        body += f"\n{quoted}"
    return text, [_mrkdwn(body)]


def counter_notice(meeting: Meeting, guest: Invitee, proposal: Proposal) -> Message:
    """Return the organizer's DM with a guest's proposed new time and buttons to decide."""
    who = escape(guest.guest_label())
    text = f"{guest.guest_label()} proposes a new time for {meeting.title}"
    lines = [
        f":calendar: {who} proposes a new time for *{escape(meeting.title)}*:",
        f"*Proposed:* {span(proposal.start, proposal.end)}",
        f"*Now:* {time_range(meeting)}",
    ]
    if proposal.comment:
        lines.append(f">{escape(proposal.comment)}")
    return text, [
        _mrkdwn("\n".join(lines)),
        {
            "type": "actions",
            "block_id": f"counter_{proposal.id}",
            "elements": [
                _button("Accept new time", COUNTER_ACCEPT_ACTION, str(proposal.id), "primary"),
                _button("Keep the time", COUNTER_DECLINE_ACTION, str(proposal.id)),
            ],
        },
    ]


def counter_settled(meeting: Meeting, guest: Invitee, proposal: Proposal) -> Message:
    """Return the counter-proposal DM once the organizer has decided, without buttons."""
    word = "accepted" if proposal.status == "accepted" else "declined"
    text = f"You {word} the time {guest.guest_label()} proposed for {meeting.title}"
    return text, [
        _mrkdwn(
            f"You {word} the time {escape(guest.guest_label())} proposed for "
            f"*{escape(meeting.title)}* ({span(proposal.start, proposal.end)})."
        )
    ]


def bounce_notice(meeting: Meeting, invitee: Invitee, reason: str) -> Message:
    """Return the organizer's DM saying an invitee's invitation could not be delivered."""
    if invitee.is_member:
        who_text, who = "a member", f"<@{invitee.slack_user_id}>"
    else:
        who_text = invitee.email or ""
        who = f"*{escape(who_text)}*"
    text = f"Could not deliver the invitation to {who_text}: {reason}"
    return text, [
        _mrkdwn(
            f":warning: Could not deliver the invitation to {who} "
            f"for *{escape(meeting.title)}*: {escape(reason)}"
        )
    ]


def notice(text: str) -> Message:
    """Return a one-section message for short notices to a person."""
    return text, [_mrkdwn(escape(text))]


def _agenda_entry(meeting: Meeting, invitee: Invitee | None, suffix: str) -> list[Block]:
    lines = [f"*{escape(meeting.title)}*", _details(meeting), tally_line(meeting)]
    undeliverable = [g for g in meeting.guests if g.delivery_error]
    if undeliverable and invitee is None:
        names = ", ".join(escape(g.email or "") for g in undeliverable[:5])
        lines.append(f":warning: Could not deliver to {names}")
    if invitee is not None:
        lines.insert(1, f"Organized by <@{meeting.organizer.user_id}> · {_own_answer(invitee)}")
    blocks: list[Block] = [_mrkdwn("\n".join(lines))]
    if invitee is None:
        blocks.append(_organizer_buttons(meeting) | {"block_id": f"manage_{meeting.id}{suffix}"})
    else:
        blocks.append(_answer_buttons(meeting, invitee, f"answer_{meeting.id}{suffix}"))
    return blocks


def _agenda_blocks(agenda: Agenda, limit: int, suffix: str) -> tuple[list[Block], bool]:
    blocks: list[Block] = []
    more = False
    groups: list[tuple[str, list[tuple[Meeting, Invitee | None]]]] = [
        ("Organizing", [(m, None) for m in agenda.organizing]),
        ("Invited", [(m, i) for m, i in agenda.invited]),
    ]
    for heading, entries in groups:
        blocks.append({"type": "header", "text": _plain(f"{heading} ({len(entries)})")})
        if not entries:
            blocks.append(_context("Nothing coming up."))
        for meeting, invitee in entries[:limit]:
            blocks += _agenda_entry(meeting, invitee, suffix)
        if len(entries) > limit:
            more = True
            blocks.append(_context(f"…and {len(entries) - limit} more."))
    return blocks, more


def feed_failure_notice(reason: str) -> Message:
    """Return the DM telling a member their connected calendar could not be read."""
    text = f"Meetbot could not read your connected calendar: {reason}"
    return text, [
        _mrkdwn(
            f":warning: Meetbot could not read your connected calendar: {escape(reason)}. "
            "Until it can, colleagues see only your Meetbot meetings as busy. "
            "You can connect the calendar again from Meetbot's Home tab."
        )
    ]


def feed_modal() -> View:
    """Return the form where a member pastes their calendar's secret iCal address."""
    return {
        "type": "modal",
        "callback_id": FEED_CALLBACK,
        "title": _plain("Connect calendar"),
        "submit": _plain("Connect"),
        "close": _plain("Cancel"),
        "blocks": [
            _mrkdwn(
                "Paste the *secret address in iCal format* of your Google or Outlook calendar. "
                "Meetbot reads only when you are busy, never what your meetings are."
            ),
            _input(
                "feed_url",
                "Secret iCal address",
                _text_element("", 2000, placeholder="https://calendar.google.com/…/basic.ics"),
            ),
        ],
    }


def _feed_blocks(feed: FeedStatus | None) -> list[Block]:
    if feed is None:
        return [
            _mrkdwn(
                "*Your calendar* — connect it so colleagues planning a meeting see when "
                "you are busy (never what your meetings are)."
            ),
            {
                "type": "actions",
                "block_id": "feed",
                "elements": [_button("Connect calendar", CONNECT_FEED_ACTION, "connect")],
            },
        ]
    state = f"last read {slack_time(feed.fetched_at)}" if feed.fetched_at else "not read yet"
    if feed.last_error:
        state = f":warning: {escape(feed.last_error)}"
    return [
        _mrkdwn(f"*Your calendar* — connected ({escape(feed.host)}), {state}."),
        {
            "type": "actions",
            "block_id": "feed",
            "elements": [
                _button("Change", CONNECT_FEED_ACTION, "connect"),
                _button("Disconnect", DISCONNECT_FEED_ACTION, "disconnect", "danger"),
            ],
        },
    ]


def home_view(
    agenda: Agenda,
    page_size: int = HOME_PAGE_SIZE,
    feed: FeedStatus | None = None,
    settings: Block | None = None,
) -> View:
    """Return the App Home tab: the person's upcoming meetings, organizing and invited."""
    limit = max(1, min(page_size, HOME_MAX_PER_GROUP))
    blocks: list[Block] = [
        _mrkdwn("Type `/meet` anywhere to set up a meeting with members and outside guests."),
        *_feed_blocks(feed),
        *([settings] if settings is not None else []),
    ]
    entries, more = _agenda_blocks(agenda, limit, "")
    blocks += entries
    if more and limit < HOME_MAX_PER_GROUP:
        blocks.append(
            {
                "type": "actions",
                "block_id": "home_more",
                "elements": [_button("Show more", MORE_ACTION, str(limit + HOME_PAGE_SIZE))],
            }
        )
    return {"type": "home", "blocks": blocks[:VIEW_BLOCK_LIMIT]}


def agenda_message(agenda: Agenda) -> Message:
    """Return `/meet list`: the same upcoming meetings as the Home tab, as a message."""
    text = (
        f"You organize {len(agenda.organizing)} and are invited to "
        f"{len(agenda.invited)} upcoming meetings."
    )
    blocks, _ = _agenda_blocks(agenda, LIST_LIMIT, "_list")
    return text, blocks[:MESSAGE_BLOCK_LIMIT]


def help_message() -> Message:
    """Return `/meet help`: what the command does and how to use it."""
    text = "How to use /meet"
    body = "\n".join(
        [
            "*/meet* opens a form to set up a meeting with workspace members and outside guests.",
            "• `/meet Design review` opens the form with the title filled in.",
            "• `/meet list` shows your upcoming meetings (only to you).",
            "• `/meet help` shows this message.",
            "Members get a message with Accept / Maybe / Decline; guests get a calendar "
            "invitation by e-mail with a link to answer. Edit or cancel a meeting from the "
            "Home tab or from your summary message.",
        ]
    )
    return text, [_mrkdwn(body)]


LANGUAGE_NAMES = {"en": "English", "pl": "Polski"}
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _hours_text(hours: WorkingHours) -> str:
    days = sorted(hours.days)
    if days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
        named = f"{WEEKDAY_NAMES[days[0]][:3]}–{WEEKDAY_NAMES[days[-1]][:3]}"
    else:
        named = ", ".join(WEEKDAY_NAMES[day][:3] for day in days)
    return f"{named} {hours.start:%H:%M}–{hours.end:%H:%M}"


def _language_text(language: str | None) -> str:
    return LANGUAGE_NAMES.get(language or "", "the same as my Slack")


def settings_section(
    settings: PersonalSettings, mailboxes: Mailboxes, organizer_name: str
) -> Block:
    """Return the Home tab's summary of the person's settings, with a button to change them."""
    mailbox = mailboxes.get(settings.mailbox)
    lines = [
        "*Your settings*",
        f"Reminder for new meetings: {_reminder_label(settings.reminder_minutes).lower()}",
        "Notify me on decisions: " + ("yes" if settings.notify_on_decision else "no"),
        f"Working hours: {_hours_text(settings.working_hours)}",
        f"Guests' e-mails and pages in: {_language_text(settings.guest_language)}",
        f"Guests see invitations from: {escape(mailbox.shown_as(organizer_name))}",
    ]
    return {
        "type": "section",
        "block_id": "settings",
        "text": {"type": "mrkdwn", "text": "\n".join(lines)[:SECTION_TEXT_LIMIT]},
        "accessory": _button("Change settings", SETTINGS_ACTION, "settings"),
    }


def _time_option(minute: int) -> dict[str, Any]:
    label = f"{minute // 60:02d}:{minute % 60:02d}"
    return _option(label, label)


def _mailbox_option(mailbox: Mailbox, organizer_name: str) -> dict[str, Any]:
    # Option texts hold 75 characters: the From line guests will see, then the mailbox's name.
    return {
        "text": _plain(_shorten(mailbox.shown_as(organizer_name), 75)),
        "value": mailbox.key,
        "description": _plain(_shorten(mailbox.name, 75)),
    }


def _replies_text(organizer_email: str | None) -> str:
    if organizer_email:
        return f"Guests' replies go to {escape(organizer_email)}."
    return "Guests' calendars answer to Meetbot."


def settings_modal(
    settings: PersonalSettings,
    mailboxes: Mailboxes,
    organizer_name: str,
    organizer_email: str | None,
) -> View:
    """Return the form where a member changes their own settings."""
    reminder_options = [
        _option(_reminder_label(m), "none" if m is None else str(m)) for m in REMINDER_CHOICES
    ]
    reminder_value = "none" if settings.reminder_minutes is None else str(settings.reminder_minutes)
    notify_option = _option("Notify me when someone accepts or declines", "notify")
    notify_element: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": "value",
        "options": [notify_option],
    }
    if settings.notify_on_decision:
        notify_element["initial_options"] = [notify_option]
    hours = settings.working_hours
    day_options = [_option(name, str(day)) for day, name in enumerate(WEEKDAY_NAMES)]
    language_options = [_option("The same as my Slack", "auto")] + [
        _option(LANGUAGE_NAMES[code], code) for code in GUEST_LANGUAGES
    ]
    language_value = settings.guest_language or "auto"
    blocks: list[Block] = [
        _input(
            "reminder",
            "Reminder for new meetings",
            {
                "type": "static_select",
                "action_id": "value",
                "options": reminder_options,
                "initial_option": next(
                    (o for o in reminder_options if o["value"] == reminder_value),
                    reminder_options[0],
                ),
            },
        ),
        _input("notify", "Notifications for new meetings", notify_element, optional=True),
        _input(
            "work_start",
            "Working day starts",
            {"type": "timepicker", "action_id": "value", "initial_time": f"{hours.start:%H:%M}"},
        ),
        _input(
            "work_end",
            "Working day ends",
            {"type": "timepicker", "action_id": "value", "initial_time": f"{hours.end:%H:%M}"},
        ),
        _input(
            "work_days",
            "Working days",
            {
                "type": "checkboxes",
                "action_id": "value",
                "options": day_options,
                **(
                    {"initial_options": [day_options[day] for day in sorted(hours.days)]}
                    if hours.days
                    else {}
                ),
            },
        ),
        _input(
            "guest_language",
            "Language of your guests' e-mails and pages",
            {
                "type": "static_select",
                "action_id": "value",
                "options": language_options,
                "initial_option": next(o for o in language_options if o["value"] == language_value),
            },
        ),
    ]
    chosen = mailboxes.get(settings.mailbox)
    if mailboxes.single:
        blocks.append(
            _context(
                f"Guests see invitations from {escape(chosen.shown_as(organizer_name))}. "
                + _replies_text(organizer_email)
            )
        )
    else:
        options = [_mailbox_option(box, organizer_name) for box in mailboxes.all]
        blocks.append(_context(_replies_text(organizer_email)))
        blocks.append(
            _input(
                "mailbox",
                "Mailbox your invitations come from",
                {
                    "type": "radio_buttons",
                    "action_id": "value",
                    "options": options,
                    "initial_option": next(o for o in options if o["value"] == chosen.key),
                },
            )
        )
    blocks.append(
        _context(
            "Your calendar is connected or disconnected from the Home tab. "
            "These settings apply to meetings you set up from now on."
        )
    )
    return {
        "type": "modal",
        "callback_id": SETTINGS_CALLBACK,
        "title": _plain("Your settings"),
        "submit": _plain("Save"),
        "close": _plain("Cancel"),
        "blocks": blocks,
    }


def mailbox_question(
    mailboxes: Mailboxes,
    organizer_name: str,
    organizer_email: str | None,
    held_form: int,
    guest_count: int,
) -> View:
    """Return the question pushed over the create form before a person's first guest invitation.

    With several mailboxes the organizer picks one; with one, they see how guests will see it.
    """
    replies = _replies_text(organizer_email)
    guests = "your guest" if guest_count == 1 else f"your {guest_count} guests"
    blocks: list[Block]
    if mailboxes.single:
        blocks = [
            _mrkdwn(
                f"Before the invitations go out: {guests} will see them come from\n"
                f"*{escape(mailboxes.default.shown_as(organizer_name))}*\n{replies}"
            ),
            _context("You will see this only once. Settings on Meetbot's Home tab show it again."),
        ]
    else:
        options = [_mailbox_option(box, organizer_name) for box in mailboxes.all]
        blocks = [
            _mrkdwn(
                f"Which mailbox should send your invitations? {guests.capitalize()} will see "
                f"the mail come from it, with your name. {replies}"
            ),
            _input(
                "mailbox",
                "Send my invitations from",
                {
                    "type": "radio_buttons",
                    "action_id": "value",
                    "options": options,
                    "initial_option": options[0],
                },
            ),
            _context("Meetbot remembers your choice; change it in Settings on the Home tab."),
        ]
    return {
        "type": "modal",
        "callback_id": MAILBOX_CALLBACK,
        "title": _plain("Sending mailbox"),
        "submit": _plain("Send invitations"),
        "close": _plain("Back"),
        "private_metadata": json.dumps({"held_form": held_form}),
        "blocks": blocks,
    }
