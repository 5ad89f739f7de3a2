"""The create and edit form: built from FormValues, and read back from what Slack sends."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.blocks.free_busy import (
    availability_lines,
    availability_sections,
    slot_buttons,
)
from bot.blocks.kit import (
    Block,
    View,
    button,
    input_block,
    option,
    plain,
    reminder_label,
    shorten,
    text_element,
)
from bot.blocks.repeats import read_repeat, repeat_inputs
from bot.drafts import (
    DEFAULT_LENGTH,
    DEFAULT_REMINDER,
    MAX_DESCRIPTION,
    MAX_FILES,
    MAX_LOCATION,
    MAX_TITLE,
    REMINDER_CHOICES,
    FileRef,
    MeetingForm,
)
from bot.i18n import (
    DEFAULT_LANGUAGE,
    N_,
    Language,
    Translator,
    translator,
)
from bot.meetings.model import Meeting
from bot.meetings.recurrence import zone_named
from bot.meetings.repeat_choice import RepeatChoice, choice_of
from bot.personal import MemberStatus, PersonalSettings
from bot.quick.reader import QuickDraft

CREATE_CALLBACK = "meet_create"
EDIT_CALLBACK = "meet_edit"
FIND_TIME_ACTION = "find_time"
# The inputs whose changes redraw the form with everyone's free/busy.
AVAILABILITY_INPUTS = ("members", "start", "end")
# The edit form's key for the occurrence a series is changed from ("this and all after it").
FROM_OCCURRENCE = "from"


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
    # "Add a video call" ticked or not; None when no video service is set up (not offered).
    video: bool | None = None
    repeat: RepeatChoice = field(default_factory=RepeatChoice)


def create_modal(values: FormValues, *, language: Language = DEFAULT_LANGUAGE) -> View:
    """Return the create form, pre-filled with the given values."""
    return _meeting_modal(values, CREATE_CALLBACK, "", language)


def edit_modal(
    values: FormValues,
    meeting_id: int,
    version: int,
    *,
    language: Language = DEFAULT_LANGUAGE,
    following: datetime | None = None,
) -> View:
    """Return the edit form for a meeting, pre-filled with how it is now.

    With `following`, the form changes a series from that occurrence on.
    """
    metadata: dict[str, int] = {"meeting_id": meeting_id, "version": version}
    if following is not None:
        metadata[FROM_OCCURRENCE] = int(following.timestamp())
    return _meeting_modal(values, EDIT_CALLBACK, json.dumps(metadata), language)


def form_values_of(meeting: Meeting, *, video_offered: bool = False) -> FormValues:
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
        video=bool(meeting.video_url) if video_offered else None,
        repeat=choice_of(
            meeting.series.rule if meeting.series else None,
            zone_named(meeting.organizer.timezone),
        ),
    )


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


def _members_input(t: Translator, values: FormValues) -> Block:
    element: dict[str, Any] = {
        "type": "multi_users_select",
        "action_id": "value",
        "placeholder": plain(t.gettext("People from this workspace")),
    }
    if values.member_ids:
        element["initial_users"] = list(values.member_ids)
    return {**input_block("members", t.gettext("Members"), element, optional=True), **_DISPATCH}


def _ticks(block_id: str, label: str, choices: list[tuple[str, str, bool]]) -> Block:
    """Return optional checkboxes: (text, value, ticked) each."""
    options = [option(text, value) for text, value, _ in choices]
    element: dict[str, Any] = {"type": "checkboxes", "action_id": "value", "options": options}
    ticked = [o for o, (_, _, on) in zip(options, choices, strict=True) if on]
    if ticked:
        element["initial_options"] = ticked
    return input_block(block_id, label, element, optional=True)


def _time_input(block_id: str, label: str, moment: datetime, revision: int) -> Block:
    # Slack keeps what a person typed into an input whose ids stay the same.
    action_id = "value" if not revision else f"value_{revision}"
    element = {
        "type": "datetimepicker",
        "action_id": action_id,
        "initial_date_time": int(moment.timestamp()),
    }
    return {**input_block(block_id, label, element), **_DISPATCH}


_DISPATCH = {"dispatch_action": True}


def _what_and_when(t: Translator, values: FormValues, language: Language) -> list[Block]:
    return [
        input_block(
            "title",
            t.gettext("Title"),
            text_element(values.title, MAX_TITLE, placeholder=t.gettext("Design review with Acme")),
        ),
        _time_input("start", t.gettext("Starts"), values.start, values.time_revision),
        _time_input("end", t.gettext("Ends"), values.end, values.time_revision),
        *repeat_inputs(t, values.repeat, language),
        input_block(
            "location",
            t.gettext("Place"),
            text_element(
                values.location, MAX_LOCATION, placeholder=t.gettext("Room, address or video link")
            ),
            optional=True,
        ),
        input_block(
            "description",
            t.gettext("Description"),
            text_element(values.description, MAX_DESCRIPTION, multiline=True),
            optional=True,
        ),
    ]


def _who(t: Translator, values: FormValues, language: Language) -> list[Block]:
    blocks: list[Block] = [_members_input(t, values)]
    if values.availability:
        blocks += availability_sections(availability_lines(values.availability, language=language))
    blocks.append(
        {
            "type": "actions",
            "block_id": "find_time",
            "elements": [button(t.gettext("Find a time"), FIND_TIME_ACTION, "find")],
        }
    )
    if values.slots is not None:
        blocks += slot_buttons(t, values.slots)
    guests = text_element(
        values.guests_text,
        None,  # a long guest list is checked on submit, with a clear count
        multiline=True,
        placeholder="Ana Client <ana@client.example>, bob@partner.example",
    )
    hint = t.gettext("One per line or separated by commas, as in an e-mail's To: line.")
    blocks.append(
        {
            **input_block("guests", t.gettext("Guests (e-mail)"), guests, optional=True),
            "hint": plain(hint),
        }
    )
    return blocks


def _files(t: Translator, values: FormValues) -> list[Block]:
    blocks: list[Block] = []
    if values.attached_files:
        blocks.append(
            _ticks(
                "kept_files",
                t.gettext("Attached files (untick to remove)"),
                [
                    (
                        shorten(name, 70),
                        str(file_id),
                        values.kept_file_ids is None or file_id in values.kept_file_ids,
                    )
                    for file_id, name in values.attached_files
                ],
            )
        )
    blocks.append(
        input_block(
            "files",
            t.gettext("Add files") if values.attached_files else t.gettext("Files"),
            {"type": "file_input", "action_id": "value", "max_files": MAX_FILES},
            optional=True,
        )
    )
    return blocks


def _reminders_and_notices(t: Translator, values: FormValues) -> list[Block]:
    reminder_options = [
        option(reminder_label(t, m), "none" if m is None else str(m)) for m in REMINDER_CHOICES
    ]
    chosen = "none" if values.reminder_minutes is None else str(values.reminder_minutes)
    return [
        input_block(
            "reminder",
            t.gettext("Reminder"),
            {
                "type": "static_select",
                "action_id": "value",
                "options": reminder_options,
                "initial_option": next(o for o in reminder_options if o["value"] == chosen),
            },
        ),
        _ticks(
            "remind_guests",
            t.gettext("Guests"),
            [(t.gettext("E-mail guests a reminder too"), "remind_guests", values.remind_guests)],
        ),
        _ticks(
            "notify",
            t.gettext("Notifications"),
            [
                (
                    t.gettext("Notify me when someone accepts or declines"),
                    "notify",
                    values.notify,
                )
            ],
        ),
    ]


def _video(t: Translator, values: FormValues) -> list[Block]:
    """Return the "Add a video call" tick, when a video service is set up."""
    if values.video is None:
        return []
    tick = _ticks(
        "video", t.gettext("Video call"), [(t.gettext("Add a video call"), "video", values.video)]
    )
    hint = t.gettext("A link of your own in Place (Zoom, Meet, Teams) is used instead.")
    return [{**tick, "hint": plain(hint)}]


def _meeting_modal(values: FormValues, callback_id: str, metadata: str, language: Language) -> View:
    t = translator(language)
    title, submit = (t.gettext(words) for words in MODAL_WORDS[callback_id])
    view: View = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title),
        "submit": plain(submit),
        "close": plain(t.gettext("Close")),
        "blocks": _what_and_when(t, values, language)
        + _video(t, values)
        + _who(t, values, language)
        + _files(t, values)
        + _reminders_and_notices(t, values),
    }
    if metadata:
        view["private_metadata"] = metadata
    return view


# Reading the form back: Slack sends each input's state under its block id.


def _value(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    # One element per input block; its action id may change when the form is redrawn.
    block = values.get(block_id) or {}
    return dict(next(iter(block.values()), None) or {})


def _moment(values: dict[str, Any], block_id: str) -> datetime | None:
    stamp = _value(values, block_id).get("selected_date_time")
    return datetime.fromtimestamp(int(stamp), UTC) if stamp is not None else None


def _ticked(values: dict[str, Any], block_id: str) -> list[str]:
    return [str(o.get("value")) for o in _value(values, block_id).get("selected_options") or []]


def _reminder(values: dict[str, Any]) -> int | None:
    chosen = str((_value(values, "reminder").get("selected_option") or {}).get("value", "none"))
    return int(chosen) if chosen.isdigit() else None


def _uploads(values: dict[str, Any]) -> tuple[FileRef, ...]:
    return tuple(
        FileRef(
            slack_file_id=str(f.get("id", "")),
            name=str(f.get("name") or f.get("title") or "file"),
            mimetype=str(f.get("mimetype") or "application/octet-stream"),
            size=int(f.get("size") or 0),
            download_url=str(f.get("url_private_download") or f.get("url_private") or ""),
        )
        for f in _value(values, "files").get("files") or []
    )


def state_values(view: dict[str, Any]) -> dict[str, Any]:
    """Return the inputs' state of a submitted or changed view, by block id."""
    return dict(view.get("state", {}).get("values", {}))


def read_form(view: dict[str, Any]) -> MeetingForm:
    """Read the create or edit form's state into a MeetingForm."""
    values = state_values(view)
    kept = _ticked(values, "kept_files") if "kept_files" in values else []
    return MeetingForm(
        title=_value(values, "title").get("value") or "",
        start=_moment(values, "start"),
        end=_moment(values, "end"),
        location=_value(values, "location").get("value") or "",
        description=_value(values, "description").get("value") or "",
        member_ids=tuple(_value(values, "members").get("selected_users") or ()),
        guests_text=_value(values, "guests").get("value") or "",
        notify="notify" in _ticked(values, "notify"),
        remind_guests="remind_guests" in _ticked(values, "remind_guests"),
        reminder_minutes=_reminder(values),
        new_files=_uploads(values),
        kept_file_ids=tuple(int(k) for k in kept if k.isdigit()),
        video=("video" in _ticked(values, "video")) if "video" in values else None,
        repeat=read_repeat(values),
    )


def read_text(view: dict[str, Any], block_id: str) -> str:
    """Return what was typed into one text input of a submitted view."""
    return str(_value(state_values(view), block_id).get("value") or "")


def read_choice(view: dict[str, Any], block_id: str) -> str | None:
    """Return the value of the option chosen in one select or radio input."""
    chosen = _value(state_values(view), block_id).get("selected_option") or {}
    value = chosen.get("value")
    return str(value) if value is not None else None


def edited_meeting(view: dict[str, Any]) -> tuple[int, int] | None:
    """Return the meeting and version an edit (or cancel) form is about; None for create."""
    metadata = json.loads(view.get("private_metadata") or "{}")
    if "meeting_id" not in metadata:
        return None
    return int(metadata["meeting_id"]), int(metadata.get("version", 0))


def _attached_files(view: dict[str, Any]) -> tuple[tuple[int, str], ...]:
    for block in view.get("blocks", []):
        if block.get("block_id") == "kept_files":
            return tuple((int(o["value"]), o["text"]["text"]) for o in block["element"]["options"])
    return ()


def _time_revision(view: dict[str, Any]) -> int:
    for block in view.get("blocks", []):
        if block.get("block_id") == "start":
            action_id = str(block["element"]["action_id"])
            return int(action_id.rpartition("_")[2]) if "_" in action_id else 0
    return 0


def values_shown(view: dict[str, Any], form: MeetingForm, now: datetime) -> FormValues:
    """Return what an open form shows now: its typed state and what only its blocks keep."""
    start = form.start or now
    end = form.end if form.end and form.end > start else start + DEFAULT_LENGTH
    attached = _attached_files(view)
    return FormValues(
        start=start,
        end=end,
        title=form.title,
        location=form.location,
        description=form.description,
        member_ids=form.member_ids,
        guests_text=form.guests_text,
        notify=form.notify,
        remind_guests=form.remind_guests,
        reminder_minutes=form.reminder_minutes,
        attached_files=attached,
        kept_file_ids=form.kept_file_ids if attached else None,
        time_revision=_time_revision(view),
        video=form.video,
        repeat=form.repeat,
    )


def opening_values(
    quick: QuickDraft,
    default_start: datetime,
    default_end: datetime,
    organizer_id: str,
    settings: PersonalSettings,
    *,
    video_offered: bool = False,
) -> FormValues:
    """Return what `/meet` opens the create form with: what was typed, else the defaults."""
    return FormValues(
        start=quick.start or default_start,
        end=quick.end or default_end,
        title=quick.title,
        location=quick.location,
        member_ids=tuple(m for m in quick.member_ids if m != organizer_id),
        guests_text=quick.guests_text,
        notify=settings.notify_on_decision,
        reminder_minutes=settings.reminder_minutes,
        video=settings.video_default if video_offered else None,
        repeat=quick.repeat,
    )


_SLOT = re.compile(r"([0-9]{1,11})-([0-9]{1,11})")


def parse_slot(value: str) -> tuple[datetime, datetime] | None:
    """Return the start and end a "Find a time" option button carries, if it is one of ours."""
    match = _SLOT.fullmatch(value)
    if match is None:
        return None
    try:
        start, end = (datetime.fromtimestamp(int(part), UTC) for part in match.groups())
    except (OverflowError, OSError, ValueError):
        return None
    return (start, end) if start < end else None
