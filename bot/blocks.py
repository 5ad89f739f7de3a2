"""Block Kit builders: pure functions from meetings to Slack views and messages."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from babel.dates import get_day_names

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
from bot.i18n import (
    DEFAULT_LANGUAGE,
    N_,
    Language,
    Translator,
    babel_locale,
    format_weekday_time,
    translator,
)
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
# Each meeting on the Home tab takes two blocks; 2 x 22 of them, with the two headings and
# "more" lines, the calendar's two blocks, the settings and the introduction, stay inside
# Slack's 100.
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


def _reminder_label(t: Translator, minutes: int | None) -> str:
    if minutes is None:
        return t.gettext("No reminder")
    return t.ngettext("{count} minute before", "{count} minutes before", minutes).format(
        count=minutes
    )


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


def create_modal(values: FormValues, *, language: Language = DEFAULT_LANGUAGE) -> View:
    """Return the create form, pre-filled with the given values."""
    return _meeting_modal(values, CREATE_CALLBACK, "", language)


def edit_modal(
    values: FormValues, meeting_id: int, version: int, *, language: Language = DEFAULT_LANGUAGE
) -> View:
    """Return the edit form for a meeting, pre-filled with how it is now."""
    metadata = json.dumps({"meeting_id": meeting_id, "version": version})
    return _meeting_modal(values, EDIT_CALLBACK, metadata, language)


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
    CREATE_CALLBACK: (N_("New meeting"), N_("Send invitations")),
    EDIT_CALLBACK: (N_("Edit meeting"), N_("Save changes")),
}


def refreshed_modal(
    view: dict[str, Any], values: FormValues, *, language: Language = DEFAULT_LANGUAGE
) -> View:
    """Return an open create or edit form again, with new values, availability or slots."""
    callback_id = str(view.get("callback_id", CREATE_CALLBACK))
    if callback_id not in MODAL_WORDS:
        callback_id = CREATE_CALLBACK
    metadata = str(view.get("private_metadata", ""))
    return _meeting_modal(values, callback_id, metadata, language)


def availability_lines(
    statuses: tuple[MemberStatus, ...], *, language: Language = DEFAULT_LANGUAGE
) -> str:
    """Return one line per picked member: free, or busy and with what, and their local time."""
    t = translator(language)
    lines = []
    for status in statuses:
        who = f"<@{status.user_id}>"
        if status.free:
            line = ":large_green_circle: " + t.gettext("{who} is free").format(who=who)
        else:
            clash = status.clashes[0]
            what = f" ({escape(_shorten(clash.title, 60))})" if clash.title else ""
            busy = t.gettext("{who} is busy {when}").format(
                who=who, when=span(clash.start, clash.end)
            )
            line = f":red_circle: {busy}{what}"
            more = len(status.clashes) - 1
            if more > 0:
                line += " " + t.ngettext("and {count} more", "and {count} more", more).format(
                    count=more
                )
        if status.outside_hours:
            local = format_weekday_time(status.local_start, language)
            line += " · " + t.gettext("their time {time}, outside working hours").format(time=local)
        lines.append(line)
    return "\n".join(lines)


def _slot_buttons(t: Translator, slots: tuple[tuple[datetime, datetime], ...]) -> list[Block]:
    if not slots:
        return [
            _context(
                t.gettext("No time in the next two weeks suits everyone; try a shorter meeting.")
            )
        ]
    suiting = " · ".join(span(s, e) for s, e in slots)
    return [
        _mrkdwn(t.gettext("*Times that suit everyone:* {times}").format(times=suiting)),
        {
            "type": "actions",
            "block_id": "slots",
            "elements": [
                _button(
                    t.gettext("Option {number}").format(number=n),
                    f"{PICK_SLOT_ACTION}_{n}",
                    f"{int(start.timestamp())}-{int(end.timestamp())}",
                )
                for n, (start, end) in enumerate(slots, 1)
            ],
        },
    ]


def _meeting_modal(values: FormValues, callback_id: str, metadata: str, language: Language) -> View:
    t = translator(language)
    title, submit = (t.gettext(words) for words in MODAL_WORDS[callback_id])
    members_element: dict[str, Any] = {
        "type": "multi_users_select",
        "action_id": "value",
        "placeholder": _plain(t.gettext("People from this workspace")),
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
        _option(t.gettext("Notify me when someone accepts or declines"), "notify"),
        _option(t.gettext("E-mail guests a reminder too"), "remind_guests"),
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
        _option(_reminder_label(t, m), "none" if m is None else str(m)) for m in REMINDER_CHOICES
    ]
    reminder_value = "none" if values.reminder_minutes is None else str(values.reminder_minutes)
    time_action = "value" if not values.time_revision else f"value_{values.time_revision}"
    blocks: list[Block] = [
        _input(
            "title",
            t.gettext("Title"),
            _text_element(
                values.title, MAX_TITLE, placeholder=t.gettext("Design review with Acme")
            ),
        ),
        {
            **_input(
                "start",
                t.gettext("Starts"),
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
                t.gettext("Ends"),
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
            t.gettext("Place"),
            _text_element(
                values.location,
                MAX_LOCATION,
                placeholder=t.gettext("Room, address or video link"),
            ),
            optional=True,
        ),
        _input(
            "description",
            t.gettext("Description"),
            _text_element(values.description, MAX_DESCRIPTION, multiline=True),
            optional=True,
        ),
        {
            **_input("members", t.gettext("Members"), members_element, optional=True),
            "dispatch_action": True,
        },
    ]
    if values.availability:
        blocks.append(
            {
                "type": "section",
                "block_id": "availability",
                "text": {
                    "type": "mrkdwn",
                    "text": availability_lines(values.availability, language=language),
                },
            }
        )
    blocks.append(
        {
            "type": "actions",
            "block_id": "find_time",
            "elements": [_button(t.gettext("Find a time"), FIND_TIME_ACTION, "find")],
        }
    )
    if values.slots is not None:
        blocks += _slot_buttons(t, values.slots)
    blocks += [
        {
            **_input("guests", t.gettext("Guests (e-mail)"), guests_element, optional=True),
            "hint": _plain(
                t.gettext("One per line or separated by commas, as in an e-mail's To: line.")
            ),
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
                t.gettext("Attached files (untick to remove)"),
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
            t.gettext("Add files") if values.attached_files else t.gettext("Files"),
            {"type": "file_input", "action_id": "value", "max_files": MAX_FILES},
            optional=True,
        ),
        _input(
            "reminder",
            t.gettext("Reminder"),
            {
                "type": "static_select",
                "action_id": "value",
                "options": reminder_options,
                "initial_option": next(o for o in reminder_options if o["value"] == reminder_value),
            },
        ),
        _input("notify", t.gettext("Notifications"), notify_element, optional=True),
    ]
    view: View = {
        "type": "modal",
        "callback_id": callback_id,
        "title": _plain(title),
        "submit": _plain(submit),
        "close": _plain(t.gettext("Close")),
        "blocks": blocks,
    }
    if metadata:
        view["private_metadata"] = metadata
    return view


def cancel_modal(meeting: Meeting, *, language: Language = DEFAULT_LANGUAGE) -> View:
    """Return the confirmation asked before a meeting is cancelled."""
    t = translator(language)
    invited = len(meeting.invitees)
    question = t.gettext("Cancel *{title}* ({when})?").format(
        title=escape(meeting.title), when=time_range(meeting)
    )
    consequence = t.ngettext(
        "The {count} invited person will be told, and it will be removed from guests' calendars.",
        "All {count} invited people will be told, and it will be removed from guests' calendars.",
        invited,
    ).format(count=invited)
    return {
        "type": "modal",
        "callback_id": CANCEL_CALLBACK,
        "private_metadata": json.dumps({"meeting_id": meeting.id, "version": meeting.version}),
        "title": _plain(t.gettext("Cancel meeting")),
        "submit": _plain(t.gettext("Cancel meeting")),
        "close": _plain(t.gettext("Keep it")),
        "blocks": [
            _mrkdwn(f"{question} {consequence}"),
            _input(
                "message",
                t.gettext("Message to attendees"),
                _text_element(
                    "", 1000, multiline=True, placeholder=t.gettext("Sorry, something came up.")
                ),
                optional=True,
            ),
        ],
    }


def _details(
    t: Translator, meeting: Meeting, file_links: list[tuple[str, str]] | None = None
) -> str:
    lines = [t.gettext("*When:* {when}").format(when=time_range(meeting))]
    if meeting.location:
        lines.append(t.gettext("*Where:* {place}").format(place=escape(meeting.location)))
    if file_links:
        links = ", ".join(f"<{url}|{escape(_shorten(name, 60))}>" for name, url in file_links)
        lines.append(t.gettext("*Files:* {links}").format(links=links))
    return "\n".join(lines)


def _description_blocks(meeting: Meeting) -> list[Block]:
    if not meeting.description:
        return []
    quoted = "\n".join(f">{line}" for line in escape(meeting.description).splitlines())
    return [_mrkdwn(quoted)]


def tally_line(meeting: Meeting, *, language: Language = DEFAULT_LANGUAGE) -> str:
    """Return the count of answers, e.g. `2 accepted · 1 maybe · 0 declined · 3 no answer yet`."""
    t = translator(language)
    counts = meeting.tally()
    order = (Answer.ACCEPTED, Answer.TENTATIVE, Answer.DECLINED, Answer.NEEDS_ACTION)
    return " · ".join(
        f"{ANSWER_EMOJI[a]} {t.gettext(ANSWER_COUNTS[a]).format(count=counts[a])}" for a in order
    )


def invitee_line(invitee: Invitee, *, language: Language = DEFAULT_LANGUAGE) -> str:
    """Return one invitee with their answer, for the organizer's summary."""
    t = translator(language)
    who = (
        f"<@{invitee.slack_user_id}>"
        if invitee.is_member
        else escape(_shorten(invitee.guest_label(), LINE_PART_LIMIT))
    )
    line = f"{ANSWER_EMOJI[invitee.answer]} {who} — {t.gettext(ANSWER_WORDS[invitee.answer])}"
    if invitee.comment:
        line += f": _{escape(_shorten(invitee.comment, LINE_PART_LIMIT))}_"
    if invitee.delivery_error:
        # Reasons are stored in English; the ones Meetbot words itself have translations.
        reason = escape(_shorten(t.gettext(invitee.delivery_error), 80))
        line += " :warning: " + t.gettext("undeliverable ({reason})").format(reason=reason)
    return line


def _more(t: Translator, count: int) -> str:
    return t.ngettext("…and {count} more", "…and {count} more", count).format(count=count)


def _listing(t: Translator, heading: str, lines: list[str]) -> list[Block]:
    """Return sections listing lines under a heading, split to fit Slack's section limit."""
    if not lines:
        return []
    shown = lines[:LISTED_PER_GROUP]
    if len(lines) > len(shown):
        shown.append(_more(t, len(lines) - len(shown)))
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


def _organizer_buttons(t: Translator, meeting: Meeting) -> Block:
    return {
        "type": "actions",
        "block_id": f"manage_{meeting.id}",
        "elements": [
            _button(t.gettext("Edit"), EDIT_ACTION, str(meeting.id)),
            _button(t.gettext("Cancel meeting"), CANCEL_ACTION, str(meeting.id), "danger"),
        ],
    }


def organizer_summary(
    meeting: Meeting,
    file_links: list[tuple[str, str]] | None = None,
    *,
    language: Language = DEFAULT_LANGUAGE,
) -> Message:
    """Return the organizer's summary DM: the meeting and everyone's answer so far."""
    t = translator(language)
    if meeting.cancelled:
        text = t.gettext("You cancelled {title}").format(title=meeting.title)
        header = t.gettext("Cancelled: {title}").format(title=_shorten(meeting.title, 130))
        return text, [
            {"type": "header", "text": _plain(header)},
            _mrkdwn(f"~{time_range(meeting)}~\n" + t.gettext("Everyone invited was told.")),
        ]
    text = t.gettext("Your meeting {title}: invitations sent").format(title=meeting.title)
    members = [invitee_line(m, language=language) for m in meeting.members]
    guests = [invitee_line(g, language=language) for g in meeting.guests]
    blocks: list[Block] = [
        {"type": "header", "text": _plain(meeting.title)},
        _mrkdwn(_details(t, meeting, file_links)),
        *_description_blocks(meeting),
        _context(tally_line(meeting, language=language)),
        *_listing(t, t.gettext("Members ({count})").format(count=len(members)), members),
        *_listing(t, t.gettext("Guests ({count})").format(count=len(guests)), guests),
    ]
    if not meeting.invitees:
        blocks.append(_context(t.gettext("Nobody is invited yet.")))
    blocks = blocks[: MESSAGE_BLOCK_LIMIT - 1]
    blocks.append(_organizer_buttons(t, meeting))
    return text, blocks


def answer_value(meeting: Meeting) -> str:
    """Return the value answer buttons carry: the meeting and the version they answer."""
    return f"{meeting.id}:{meeting.sequence}"


def parse_answer_value(value: str) -> tuple[int, int | None]:
    """Return the meeting id and version an answer button carries."""
    meeting_id, _, sequence = value.partition(":")
    return int(meeting_id), int(sequence) if sequence else None


def _answer_buttons(t: Translator, meeting: Meeting, invitee: Invitee, block_id: str) -> Block:
    buttons = []
    for action_id, answer in ANSWER_ACTIONS.items():
        style = None
        if invitee.answer is answer:
            style = "danger" if answer is Answer.DECLINED else "primary"
        label = t.gettext(BUTTON_LABELS[answer])
        buttons.append(_button(label, action_id, answer_value(meeting), style))
    return {"type": "actions", "block_id": block_id, "elements": buttons}


def _own_answer(t: Translator, invitee: Invitee) -> str:
    answer = t.gettext("Your answer: *{answer}*").format(
        answer=t.gettext(ANSWER_WORDS[invitee.answer])
    )
    return f"{ANSWER_EMOJI[invitee.answer]} {answer}"


def member_invitation(
    meeting: Meeting,
    invitee: Invitee,
    file_links: list[tuple[str, str]] | None = None,
    *,
    language: Language = DEFAULT_LANGUAGE,
) -> Message:
    """Return a member's invitation DM, with buttons to answer and their answer so far."""
    t = translator(language)
    organizer = f"<@{meeting.organizer.user_id}>"
    title = escape(meeting.title)
    if meeting.cancelled or invitee.removed:
        if meeting.cancelled:
            why = t.gettext("{organizer} cancelled this meeting")
        else:
            why = t.gettext("{organizer} took you off this meeting")
        text = why.format(organizer=meeting.organizer.name) + f": {meeting.title}"
        said = why.format(organizer=organizer)
        return text, [_mrkdwn(f"~*{title}*~ ({time_range(meeting)})\n{said}.")]
    text = t.gettext("{organizer} invites you to {title}").format(
        organizer=meeting.organizer.name, title=meeting.title
    )
    invites = t.gettext("{organizer} invites you to *{title}*").format(
        organizer=organizer, title=title
    )
    blocks: list[Block] = [
        _mrkdwn(f"{invites}\n{_details(t, meeting, file_links)}"),
        *_description_blocks(meeting),
    ]
    others = len(meeting.invitees) - 1
    if others > 0:
        blocks.append(
            _context(
                t.ngettext(
                    "{count} other person is invited.", "{count} other people are invited.", others
                ).format(count=others)
            )
        )
    blocks.append(_answer_buttons(t, meeting, invitee, "answer"))
    if invitee.answer is not Answer.NEEDS_ACTION:
        blocks.append(_context(_own_answer(t, invitee)))
    return text, blocks


def describe_change(change: Change, *, language: Language = DEFAULT_LANGUAGE) -> str:
    """Return one change for Slack, times in each reader's own zone."""
    t = translator(language)
    field = t.gettext(change.field)
    if change.field == "Time":
        was, now = parse_time_text(change.before), parse_time_text(change.after)
        return f"*{field}:* {span(*was)} → {span(*now)}"
    if change.field == "Description":
        return f"*{field}:* " + t.gettext("changed")
    none = "_" + t.gettext("none") + "_"
    before = escape(_shorten(change.before, 200)) or none
    after = escape(_shorten(change.after, 200)) or none
    return f"*{field}:* {before} → {after}"


def member_notice(
    meeting: Meeting,
    reason: str,
    changes: list[Change],
    answers_reset: bool,
    *,
    language: Language = DEFAULT_LANGUAGE,
) -> Message:
    """Return the DM telling a member their meeting changed, was cancelled or dropped them."""
    t = translator(language)
    organizer = f"<@{meeting.organizer.user_id}>"
    title = escape(meeting.title)
    if reason == "cancelled":
        text = t.gettext("{organizer} cancelled {title}").format(
            organizer=meeting.organizer.name, title=meeting.title
        )
        body = ":no_entry_sign: " + t.gettext("{organizer} cancelled *{title}* ({when}).").format(
            organizer=organizer, title=title, when=time_range(meeting)
        )
        if meeting.cancel_message:
            quoted = "\n".join(f">{line}" for line in escape(meeting.cancel_message).splitlines())
            body += f"\n{quoted}"
        return text, [_mrkdwn(body)]
    if reason == "removed":
        text = t.gettext("You are no longer invited to {title}").format(title=meeting.title)
        return text, [
            _mrkdwn(
                t.gettext("{organizer} took you off *{title}* ({when}); nothing to do.").format(
                    organizer=organizer, title=title, when=time_range(meeting)
                )
            )
        ]
    text = t.gettext("{organizer} changed {title}").format(
        organizer=meeting.organizer.name, title=meeting.title
    )
    lines = [
        ":pencil2: "
        + t.gettext("{organizer} changed *{title}*:").format(organizer=organizer, title=title)
    ]
    lines += [f"• {describe_change(c, language=language)}" for c in changes]
    if answers_reset:
        lines.append(
            t.gettext("The time changed, so your answer was reset. Please answer again above.")
        )
    return text, [_mrkdwn("\n".join(lines))]


def member_reminder(meeting: Meeting, *, language: Language = DEFAULT_LANGUAGE) -> Message:
    """Return the DM reminding a member that a meeting starts soon."""
    t = translator(language)
    text = t.gettext("Reminder: {title} starts soon").format(title=meeting.title)
    starts = t.gettext("*{title}* starts {time}.").format(
        title=escape(meeting.title), time=slack_time(meeting.start, "{time}")
    )
    return text, [_mrkdwn(f":alarm_clock: {starts}\n{_details(t, meeting)}")]


# What the organizer reads about a decision: `Ana accepted Design review`.
DECISION_WORDS = {
    Answer.ACCEPTED: N_("{who} accepted {title}"),
    Answer.TENTATIVE: N_("{who} answered maybe to {title}"),
    Answer.DECLINED: N_("{who} declined {title}"),
    Answer.NEEDS_ACTION: N_("{who} has not answered {title} yet"),
}


def decision_notice(
    meeting: Meeting,
    invitee: Invitee,
    answer: Answer,
    comment: str,
    *,
    stale: bool = False,
    language: Language = DEFAULT_LANGUAGE,
) -> Message:
    """Return the organizer's DM about one person's decision."""
    t = translator(language)
    if invitee.is_member:
        who_text, who_mrkdwn = t.gettext("A member"), f"<@{invitee.slack_user_id}>"
    else:
        who_text = invitee.guest_label()
        who_mrkdwn = escape(who_text)
    words = t.gettext(DECISION_WORDS[answer])
    text = words.format(who=who_text, title=meeting.title)
    said = words.format(who=who_mrkdwn, title=f"*{escape(meeting.title)}*")
    body = f"{ANSWER_EMOJI[answer]} {said} ({slack_time(meeting.start)})"
    if stale:
        body += "\n:warning: " + t.gettext(
            "They answered an earlier version of the invitation, "
            "before the time changed: the answer is to the old time."
        )
    if comment:
        quoted = "\n".join(f">{line}" for line in escape(comment).splitlines())
        body += f"\n{quoted}"
    return text, [_mrkdwn(body)]


def counter_notice(
    meeting: Meeting, guest: Invitee, proposal: Proposal, *, language: Language = DEFAULT_LANGUAGE
) -> Message:
    """Return the organizer's DM with a guest's proposed new time and buttons to decide."""
    t = translator(language)
    proposes = t.gettext("{who} proposes a new time for {title}")
    text = proposes.format(who=guest.guest_label(), title=meeting.title)
    lines = [
        ":calendar: "
        + proposes.format(who=escape(guest.guest_label()), title=f"*{escape(meeting.title)}*")
        + ":",
        t.gettext("*Proposed:* {when}").format(when=span(proposal.start, proposal.end)),
        t.gettext("*Now:* {when}").format(when=time_range(meeting)),
    ]
    if proposal.comment:
        lines.append(f">{escape(proposal.comment)}")
    return text, [
        _mrkdwn("\n".join(lines)),
        {
            "type": "actions",
            "block_id": f"counter_{proposal.id}",
            "elements": [
                _button(
                    t.gettext("Accept new time"),
                    COUNTER_ACCEPT_ACTION,
                    str(proposal.id),
                    "primary",
                ),
                _button(t.gettext("Keep the time"), COUNTER_DECLINE_ACTION, str(proposal.id)),
            ],
        },
    ]


def counter_settled(
    meeting: Meeting, guest: Invitee, proposal: Proposal, *, language: Language = DEFAULT_LANGUAGE
) -> Message:
    """Return the counter-proposal DM once the organizer has decided, without buttons."""
    t = translator(language)
    if proposal.status == "accepted":
        words = t.gettext("You accepted the time {who} proposed for {title}")
    else:
        words = t.gettext("You declined the time {who} proposed for {title}")
    text = words.format(who=guest.guest_label(), title=meeting.title)
    said = words.format(who=escape(guest.guest_label()), title=f"*{escape(meeting.title)}*")
    return text, [_mrkdwn(f"{said} ({span(proposal.start, proposal.end)}).")]


def bounce_notice(
    meeting: Meeting, invitee: Invitee, reason: str, *, language: Language = DEFAULT_LANGUAGE
) -> Message:
    """Return the organizer's DM saying an invitee's invitation could not be delivered."""
    t = translator(language)
    reason = t.gettext(reason)
    if invitee.is_member:
        who_text, who = t.gettext("a member"), f"<@{invitee.slack_user_id}>"
    else:
        who_text = invitee.email or ""
        who = f"*{escape(who_text)}*"
    text = t.gettext("Could not deliver the invitation to {who}: {reason}").format(
        who=who_text, reason=reason
    )
    said = t.gettext("Could not deliver the invitation to {who} for *{title}*: {reason}").format(
        who=who, title=escape(meeting.title), reason=escape(reason)
    )
    return text, [_mrkdwn(f":warning: {said}")]


def _agenda_entry(
    t: Translator, meeting: Meeting, invitee: Invitee | None, suffix: str, language: Language
) -> list[Block]:
    lines = [
        f"*{escape(meeting.title)}*",
        _details(t, meeting),
        tally_line(meeting, language=language),
    ]
    undeliverable = [g for g in meeting.guests if g.delivery_error]
    if undeliverable and invitee is None:
        names = ", ".join(escape(g.email or "") for g in undeliverable[:5])
        lines.append(":warning: " + t.gettext("Could not deliver to {names}").format(names=names))
    if invitee is not None:
        organized = t.gettext("Organized by {organizer}").format(
            organizer=f"<@{meeting.organizer.user_id}>"
        )
        lines.insert(1, f"{organized} · {_own_answer(t, invitee)}")
    blocks: list[Block] = [_mrkdwn("\n".join(lines))]
    if invitee is None:
        blocks.append(_organizer_buttons(t, meeting) | {"block_id": f"manage_{meeting.id}{suffix}"})
    else:
        blocks.append(_answer_buttons(t, meeting, invitee, f"answer_{meeting.id}{suffix}"))
    return blocks


def _agenda_blocks(
    agenda: Agenda, limit: int, suffix: str, language: Language
) -> tuple[list[Block], bool]:
    t = translator(language)
    blocks: list[Block] = []
    more = False
    groups: list[tuple[str, list[tuple[Meeting, Invitee | None]]]] = [
        (t.gettext("Organizing ({count})"), [(m, None) for m in agenda.organizing]),
        (t.gettext("Invited ({count})"), [(m, i) for m, i in agenda.invited]),
    ]
    for heading, entries in groups:
        blocks.append({"type": "header", "text": _plain(heading.format(count=len(entries)))})
        if not entries:
            blocks.append(_context(t.gettext("Nothing coming up.")))
        for meeting, invitee in entries[:limit]:
            blocks += _agenda_entry(t, meeting, invitee, suffix, language)
        if len(entries) > limit:
            more = True
            blocks.append(_context(_more(t, len(entries) - limit) + "."))
    return blocks, more


def feed_failure_notice(reason: str, *, language: Language = DEFAULT_LANGUAGE) -> Message:
    """Return the DM telling a member their connected calendar could not be read."""
    t = translator(language)
    reason = t.gettext(reason)
    text = t.gettext("Meetbot could not read your connected calendar: {reason}").format(
        reason=reason
    )
    return text, [
        _mrkdwn(
            ":warning: "
            + t.gettext(
                "Meetbot could not read your connected calendar: {reason}. "
                "Until it can, colleagues see only your Meetbot meetings as busy. "
                "You can connect the calendar again from Meetbot's Home tab."
            ).format(reason=escape(reason))
        )
    ]


def feed_modal(*, language: Language = DEFAULT_LANGUAGE) -> View:
    """Return the form where a member pastes their calendar's secret iCal address."""
    t = translator(language)
    return {
        "type": "modal",
        "callback_id": FEED_CALLBACK,
        "title": _plain(t.gettext("Connect calendar")),
        "submit": _plain(t.gettext("Connect")),
        "close": _plain(t.gettext("Cancel")),
        "blocks": [
            _mrkdwn(
                t.gettext(
                    "Paste the *secret address in iCal format* of your Google or Outlook "
                    "calendar. Meetbot reads only when you are busy, never what your meetings are."
                )
            ),
            _input(
                "feed_url",
                t.gettext("Secret iCal address"),
                _text_element("", 2000, placeholder="https://calendar.google.com/…/basic.ics"),
            ),
        ],
    }


def _feed_blocks(t: Translator, feed: FeedStatus | None) -> list[Block]:
    if feed is None:
        return [
            _mrkdwn(
                t.gettext(
                    "*Your calendar* — connect it so colleagues planning a meeting see when "
                    "you are busy (never what your meetings are)."
                )
            ),
            {
                "type": "actions",
                "block_id": "feed",
                "elements": [
                    _button(t.gettext("Connect calendar"), CONNECT_FEED_ACTION, "connect")
                ],
            },
        ]
    if feed.last_error:
        state = f":warning: {escape(t.gettext(feed.last_error))}"
    elif feed.fetched_at:
        state = t.gettext("last read {when}").format(when=slack_time(feed.fetched_at))
    else:
        state = t.gettext("not read yet")
    return [
        _mrkdwn(
            t.gettext("*Your calendar* — connected ({host}), {state}.").format(
                host=escape(feed.host), state=state
            )
        ),
        {
            "type": "actions",
            "block_id": "feed",
            "elements": [
                _button(t.gettext("Change"), CONNECT_FEED_ACTION, "connect"),
                _button(t.gettext("Disconnect"), DISCONNECT_FEED_ACTION, "disconnect", "danger"),
            ],
        },
    ]


def home_view(
    agenda: Agenda,
    page_size: int = HOME_PAGE_SIZE,
    feed: FeedStatus | None = None,
    settings: Block | None = None,
    *,
    language: Language = DEFAULT_LANGUAGE,
) -> View:
    """Return the App Home tab: the person's upcoming meetings, organizing and invited."""
    t = translator(language)
    limit = max(1, min(page_size, HOME_MAX_PER_GROUP))
    blocks: list[Block] = [
        _mrkdwn(
            t.gettext("Type `/meet` anywhere to set up a meeting with members and outside guests.")
        ),
        *_feed_blocks(t, feed),
        *([settings] if settings is not None else []),
    ]
    entries, more = _agenda_blocks(agenda, limit, "", language)
    blocks += entries
    if more and limit < HOME_MAX_PER_GROUP:
        blocks.append(
            {
                "type": "actions",
                "block_id": "home_more",
                "elements": [
                    _button(t.gettext("Show more"), MORE_ACTION, str(limit + HOME_PAGE_SIZE))
                ],
            }
        )
    return {"type": "home", "blocks": blocks[:VIEW_BLOCK_LIMIT]}


def agenda_message(agenda: Agenda, *, language: Language = DEFAULT_LANGUAGE) -> Message:
    """Return `/meet list`: the same upcoming meetings as the Home tab, as a message."""
    t = translator(language)
    organizing, invited = len(agenda.organizing), len(agenda.invited)
    text = " ".join(
        [
            t.ngettext(
                "You organize {count} upcoming meeting",
                "You organize {count} upcoming meetings",
                organizing,
            ).format(count=organizing),
            t.ngettext(
                "and are invited to {count}.", "and are invited to {count}.", invited
            ).format(count=invited),
        ]
    )
    blocks, _ = _agenda_blocks(agenda, LIST_LIMIT, "_list", language)
    return text, blocks[:MESSAGE_BLOCK_LIMIT]


def help_message(*, language: Language = DEFAULT_LANGUAGE) -> Message:
    """Return `/meet help`: what the command does and how to use it."""
    t = translator(language)
    text = t.gettext("How to use /meet")
    body = "\n".join(
        [
            t.gettext(
                "*/meet* opens a form to set up a meeting with workspace members and outside "
                "guests."
            ),
            "• " + t.gettext("`/meet Design review` opens the form with the title filled in."),
            "• " + t.gettext("`/meet list` shows your upcoming meetings (only to you)."),
            "• " + t.gettext("`/meet help` shows this message."),
            t.gettext(
                "Members get a message with Accept / Maybe / Decline; guests get a calendar "
                "invitation by e-mail with a link to answer. Edit or cancel a meeting from the "
                "Home tab or from your summary message."
            ),
        ]
    )
    return text, [_mrkdwn(body)]


# Languages are named in their own words, so anyone finds theirs.
LANGUAGE_NAMES = {"en": "English", "pl": "Polski"}


def _day_names(language: Language, width: Literal["abbreviated", "wide"]) -> list[str]:
    # Babel counts weekdays from Monday, as datetime.weekday() does.
    names = get_day_names(width, locale=babel_locale(language))
    return [str(names[day]) for day in range(7)]


def _hours_text(hours: WorkingHours, language: Language) -> str:
    short = _day_names(language, "abbreviated")
    days = sorted(hours.days)
    if days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
        named = f"{short[days[0]]}–{short[days[-1]]}"
    else:
        named = ", ".join(short[day] for day in days)
    return f"{named} {hours.start:%H:%M}–{hours.end:%H:%M}"


def _language_text(t: Translator, language: str | None) -> str:
    return LANGUAGE_NAMES.get(language or "", t.gettext("the same as my Slack"))


def settings_section(
    settings: PersonalSettings,
    mailboxes: Mailboxes,
    organizer_name: str,
    *,
    language: Language = DEFAULT_LANGUAGE,
) -> Block:
    """Return the Home tab's summary of the person's settings, with a button to change them."""
    t = translator(language)
    mailbox = mailboxes.get(settings.mailbox)
    reminder = (
        t.gettext("no reminder")
        if settings.reminder_minutes is None
        else _reminder_label(t, settings.reminder_minutes)
    )
    lines = [
        t.gettext("*Your settings*"),
        t.gettext("Reminder for new meetings: {reminder}").format(reminder=reminder),
        t.gettext("Notify me on decisions: {answer}").format(
            answer=t.gettext("yes") if settings.notify_on_decision else t.gettext("no")
        ),
        t.gettext("Working hours: {hours}").format(
            hours=_hours_text(settings.working_hours, language)
        ),
        t.gettext("Guests' e-mails and pages in: {language}").format(
            language=_language_text(t, settings.guest_language)
        ),
        t.gettext("Guests see invitations from: {sender}").format(
            sender=escape(mailbox.shown_as(organizer_name))
        ),
    ]
    return {
        "type": "section",
        "block_id": "settings",
        "text": {"type": "mrkdwn", "text": "\n".join(lines)[:SECTION_TEXT_LIMIT]},
        "accessory": _button(t.gettext("Change settings"), SETTINGS_ACTION, "settings"),
    }


def _mailbox_option(mailbox: Mailbox, organizer_name: str) -> dict[str, Any]:
    # Option texts hold 75 characters: the From line guests will see, then the mailbox's name.
    return {
        "text": _plain(_shorten(mailbox.shown_as(organizer_name), 75)),
        "value": mailbox.key,
        "description": _plain(_shorten(mailbox.name, 75)),
    }


def _replies_text(t: Translator, organizer_email: str | None) -> str:
    if organizer_email:
        return t.gettext("Guests' replies go to {address}.").format(address=escape(organizer_email))
    return t.gettext("Guests' calendars answer to Meetbot.")


def settings_modal(
    settings: PersonalSettings,
    mailboxes: Mailboxes,
    organizer_name: str,
    organizer_email: str | None,
    *,
    language: Language = DEFAULT_LANGUAGE,
) -> View:
    """Return the form where a member changes their own settings."""
    t = translator(language)
    reminder_options = [
        _option(_reminder_label(t, m), "none" if m is None else str(m)) for m in REMINDER_CHOICES
    ]
    reminder_value = "none" if settings.reminder_minutes is None else str(settings.reminder_minutes)
    notify_option = _option(t.gettext("Notify me when someone accepts or declines"), "notify")
    notify_element: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": "value",
        "options": [notify_option],
    }
    if settings.notify_on_decision:
        notify_element["initial_options"] = [notify_option]
    hours = settings.working_hours
    day_options = [_option(name, str(day)) for day, name in enumerate(_day_names(language, "wide"))]
    language_options = [_option(t.gettext("The same as my Slack"), "auto")] + [
        _option(LANGUAGE_NAMES[code], code) for code in GUEST_LANGUAGES
    ]
    language_value = settings.guest_language or "auto"
    blocks: list[Block] = [
        _input(
            "reminder",
            t.gettext("Reminder for new meetings"),
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
        _input(
            "notify", t.gettext("Notifications for new meetings"), notify_element, optional=True
        ),
        _input(
            "work_start",
            t.gettext("Working day starts"),
            {"type": "timepicker", "action_id": "value", "initial_time": f"{hours.start:%H:%M}"},
        ),
        _input(
            "work_end",
            t.gettext("Working day ends"),
            {"type": "timepicker", "action_id": "value", "initial_time": f"{hours.end:%H:%M}"},
        ),
        _input(
            "work_days",
            t.gettext("Working days"),
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
            t.gettext("Language of your guests' e-mails and pages"),
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
                t.gettext("Guests see invitations from {sender}.").format(
                    sender=escape(chosen.shown_as(organizer_name))
                )
                + " "
                + _replies_text(t, organizer_email)
            )
        )
    else:
        options = [_mailbox_option(box, organizer_name) for box in mailboxes.all]
        blocks.append(_context(_replies_text(t, organizer_email)))
        blocks.append(
            _input(
                "mailbox",
                t.gettext("Mailbox your invitations come from"),
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
            t.gettext(
                "Your calendar is connected or disconnected from the Home tab. "
                "These settings apply to meetings you set up from now on."
            )
        )
    )
    return {
        "type": "modal",
        "callback_id": SETTINGS_CALLBACK,
        "title": _plain(t.gettext("Your settings")),
        "submit": _plain(t.gettext("Save")),
        "close": _plain(t.gettext("Cancel")),
        "blocks": blocks,
    }


def mailbox_question(
    mailboxes: Mailboxes,
    organizer_name: str,
    organizer_email: str | None,
    held_form: int,
    guest_count: int,
    *,
    language: Language = DEFAULT_LANGUAGE,
) -> View:
    """Return the question pushed over the create form before a person's first guest invitation.

    With several mailboxes the organizer picks one; with one, they see how guests will see it.
    """
    t = translator(language)
    replies = _replies_text(t, organizer_email)
    blocks: list[Block]
    if mailboxes.single:
        intro = t.ngettext(
            "Before the invitation goes out: {count} guest will see it come from",
            "Before the invitations go out: {count} guests will see them come from",
            guest_count,
        ).format(count=guest_count)
        blocks = [
            _mrkdwn(f"{intro}\n*{escape(mailboxes.default.shown_as(organizer_name))}*\n{replies}"),
            _context(
                t.gettext(
                    "You will see this only once. Settings on Meetbot's Home tab show it again."
                )
            ),
        ]
    else:
        options = [_mailbox_option(box, organizer_name) for box in mailboxes.all]
        question = t.ngettext(
            "Which mailbox should send your invitation? {count} guest will see the mail "
            "come from it, with your name.",
            "Which mailbox should send your invitations? {count} guests will see the mail "
            "come from it, with your name.",
            guest_count,
        ).format(count=guest_count)
        blocks = [
            _mrkdwn(f"{question} {replies}"),
            _input(
                "mailbox",
                t.gettext("Send my invitations from"),
                {
                    "type": "radio_buttons",
                    "action_id": "value",
                    "options": options,
                    "initial_option": options[0],
                },
            ),
            _context(
                t.gettext("Meetbot remembers your choice; change it in Settings on the Home tab.")
            ),
        ]
    return {
        "type": "modal",
        "callback_id": MAILBOX_CALLBACK,
        "title": _plain(t.gettext("Sending mailbox")),
        "submit": _plain(t.gettext("Send invitations")),
        "close": _plain(t.gettext("Back")),
        "private_metadata": json.dumps({"held_form": held_form}),
        "blocks": blocks,
    }


def notice(text: str) -> Message:
    """Return a one-section message for short notices to a person."""
    return text, [_mrkdwn(escape(text))]
