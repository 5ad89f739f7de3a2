"""The create and edit form: what Slack accepts, what a person sees, what comes back on submit."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.blocks.kit import View
from bot.blocks.meeting_form import (
    CREATE_CALLBACK,
    EDIT_CALLBACK,
    FIND_TIME_ACTION,
    FormValues,
    create_modal,
    edit_modal,
    edited_meeting,
    form_values_of,
    opening_values,
    parse_slot,
    read_choice,
    read_form,
    read_text,
    refreshed_modal,
    values_shown,
)
from bot.drafts import MAX_DESCRIPTION, MAX_LOCATION, MAX_TITLE, FileRef
from bot.i18n import Language
from bot.meetings.model import AttachedFile, Meeting
from bot.personal import Busy, MemberStatus, PersonalSettings
from bot.quick.reader import read_quick_text
from tests.bot.blocks.meetings import HOSTILE, HOSTILE_SHOWN, START, guest, meeting, member
from tests.bot.blocks.slack_rules import (
    foreign_markup,
    load_payload,
    refuse_unless_every_action_is_told_apart,
    refuse_unless_slack_accepts_view,
)
from tests.support.signed import state_values

WARSAW = ZoneInfo("Europe/Warsaw")
# What the recorded submission in tests/fixtures/slack/view_submission_create.json was made from.
SUBMITTED = FormValues(
    start=START,
    end=START + timedelta(hours=1),
    title="Design review with Acme & Co",
    location="Room 2 <east wing>",
    description="Agenda:\n1. Logo\n2. Budget",
    member_ids=("U0ANA", "U0BEN"),
    guests_text="Ana Client <ana@client.example>\nbob@partner.example",
    notify=True,
    remind_guests=True,
    reminder_minutes=60,
)
SLOTS = (
    (START + timedelta(hours=1), START + timedelta(hours=2)),
    (START + timedelta(days=1), START + timedelta(days=1, hours=1)),
    (START + timedelta(days=2), START + timedelta(days=2, hours=1)),
)


def submitted(view: View, **typed: Any) -> dict[str, Any]:
    """Return the view as Slack sends it back: the blocks shown and each input's state."""
    return {**view, "state": {"values": state_values(view, **typed)}}


def fullest_values() -> FormValues:
    """Return a form with every part shown and every text longer than the form takes."""
    return FormValues(
        start=START,
        end=START + timedelta(hours=1),
        title=HOSTILE * 10,
        location="L" * 2 * MAX_LOCATION,
        description="Line\n" * MAX_DESCRIPTION,
        member_ids=tuple(f"U{n:08d}" for n in range(3)),
        guests_text="guest@client.example\n" * 500,
        notify=True,
        remind_guests=True,
        reminder_minutes=None,
        attached_files=tuple((n, f"{HOSTILE} report {n}.pdf" * 5) for n in range(1, 11)),
        kept_file_ids=(1, 2),
        availability=(
            MemberStatus("U00000000", (), START, outside_hours=False),
            MemberStatus(
                "U00000001",
                (
                    Busy(START, START + timedelta(hours=1), HOSTILE),
                    Busy(START, START + timedelta(minutes=30)),
                ),
                START.astimezone(ZoneInfo("Asia/Tokyo")),
                outside_hours=True,
            ),
            MemberStatus("U00000002", (Busy(START, START + timedelta(hours=1)),), START, True),
        ),
        slots=SLOTS,
    )


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("form", ["create", "edit"])
def test_the_fullest_form_is_a_view_slack_accepts(language: Language, form: str) -> None:
    values = fullest_values()
    if form == "create":
        view = create_modal(values, language=language)
    else:
        view = edit_modal(values, 42, 5, language=language)

    refuse_unless_slack_accepts_view(view, "modal")
    refuse_unless_every_action_is_told_apart(view["blocks"])
    assert foreign_markup(view["blocks"]) == []


def test_the_form_opens_with_no_more_text_than_each_input_accepts() -> None:
    view = create_modal(fullest_values())

    shown = read_form(submitted(view))

    assert len(shown.title) == MAX_TITLE
    assert len(shown.location) == MAX_LOCATION
    assert len(shown.description) == MAX_DESCRIPTION
    # A long guest list is kept whole: the submit check counts it and says what is wrong.
    assert shown.guests_text == fullest_values().guests_text


@pytest.mark.parametrize(
    ("language", "title", "submit", "find"),
    [
        (Language.EN, "New meeting", "Send invitations", "Find a time"),
        (Language.PL, "Nowe spotkanie", "Wyślij zaproszenia", "Znajdź termin"),
    ],
)
def test_the_create_form_speaks_the_persons_language(
    language: Language, title: str, submit: str, find: str
) -> None:
    view = create_modal(SUBMITTED, language=language)

    assert view["title"]["text"] == title
    assert view["submit"]["text"] == submit
    assert find in str(view["blocks"])


def test_the_recorded_submission_is_what_slack_sends_for_the_create_form() -> None:
    payload = load_payload("view_submission_create.json")
    view = create_modal(SUBMITTED)

    assert payload["view"]["callback_id"] == view["callback_id"] == CREATE_CALLBACK
    assert payload["view"]["state"]["values"] == state_values(view)


def test_a_submitted_create_form_reads_back_as_it_was_shown() -> None:
    view = load_payload("view_submission_create.json")["view"]

    form = read_form(view)

    assert form.title == SUBMITTED.title
    assert (form.start, form.end) == (SUBMITTED.start, SUBMITTED.end)
    assert form.start is not None and form.start.tzinfo is not None
    assert form.member_ids == SUBMITTED.member_ids
    assert form.guests_text == SUBMITTED.guests_text
    assert (form.location, form.description) == (SUBMITTED.location, SUBMITTED.description)
    assert form.notify and form.remind_guests
    assert form.reminder_minutes == 60
    assert form.new_files == ()
    assert read_text(view, "title") == SUBMITTED.title
    assert read_choice(view, "reminder") == "60"
    assert edited_meeting(view) is None


def test_what_a_person_types_over_the_form_is_what_is_read() -> None:
    view = create_modal(SUBMITTED)
    later = START + timedelta(days=1)

    form = read_form(
        submitted(
            view,
            title=HOSTILE,
            start=int(later.timestamp()),
            members=["U0CAT"],
            guests="",
            notify=[],
            remind_guests=[],
            reminder="none",
        )
    )

    # Read as typed: escaping is the builders' job when the title is shown.
    assert form.title == HOSTILE
    assert form.start == later
    assert form.member_ids == ("U0CAT",)
    assert form.guests_text == ""
    assert not form.notify and not form.remind_guests
    assert form.reminder_minutes is None


def test_inputs_left_empty_read_back_empty() -> None:
    view = create_modal(FormValues(start=START, end=START + timedelta(minutes=30)))

    form = read_form(submitted(view))

    assert (form.title, form.location, form.description, form.guests_text) == ("", "", "", "")
    assert form.member_ids == ()
    assert not form.notify and not form.remind_guests
    assert form.reminder_minutes == 15


def test_a_file_added_in_the_form_is_read_with_its_name_and_download_address() -> None:
    upload = {
        "id": "F0REPORT",
        "name": "report.pdf",
        "title": "Quarterly report",
        "mimetype": "application/pdf",
        "size": 12345,
        "url_private": "https://files.slack.com/files-pri/T0ACME-F0REPORT/report.pdf",
        "url_private_download": "https://files.slack.com/files-pri/T0ACME-F0REPORT/download/report.pdf",
    }

    form = read_form(submitted(create_modal(SUBMITTED), files=[upload]))

    assert form.new_files == (
        FileRef(
            "F0REPORT",
            "report.pdf",
            "application/pdf",
            12345,
            "https://files.slack.com/files-pri/T0ACME-F0REPORT/download/report.pdf",
        ),
    )


def planned_meeting() -> Meeting:
    """Return a meeting with two members, two guests and two attached files."""
    return meeting(
        member(1),
        member(2),
        member(3, removed=True),
        guest(1, "Ana Client"),
        guest(2),
        files=(
            AttachedFile(7, "agenda.pdf", "application/pdf", 100, "k7"),
            AttachedFile(8, "logo.png", "image/png", 200, "k8"),
        ),
        reminder_minutes=30,
        remind_guests=True,
    )


def test_the_edit_form_shows_the_meeting_as_it_is_and_reads_back_unchanged() -> None:
    planned = planned_meeting()
    view = edit_modal(form_values_of(planned), planned.id, planned.version)

    form = read_form(submitted(view))

    assert view["callback_id"] == EDIT_CALLBACK
    assert form.title == planned.title
    assert (form.start, form.end) == (planned.start, planned.end)
    assert form.member_ids == ("U00000001", "U00000002")
    assert form.guests_text == "Ana Client <guest1@client.example>\nguest2@client.example"
    assert form.reminder_minutes == 30 and form.remind_guests and form.notify
    assert form.kept_file_ids == (7, 8)


def test_the_edit_form_tells_which_meeting_and_version_it_edits() -> None:
    view = edit_modal(form_values_of(planned_meeting()), 42, 5)

    assert edited_meeting(submitted(view)) == (42, 5)
    assert edited_meeting(create_modal(SUBMITTED)) is None


def test_a_redrawn_edit_form_still_edits_the_same_meeting() -> None:
    view = edit_modal(form_values_of(planned_meeting()), 42, 5, language=Language.PL)

    redrawn = refreshed_modal(view, replace(SUBMITTED, slots=()), language=Language.PL)

    assert redrawn["callback_id"] == EDIT_CALLBACK
    assert edited_meeting(redrawn) == (42, 5)
    assert redrawn["submit"]["text"] == "Zapisz zmiany"


def test_a_form_of_unknown_kind_is_redrawn_as_a_create_form() -> None:
    redrawn = refreshed_modal({"callback_id": "something_else"}, SUBMITTED)

    assert redrawn["callback_id"] == CREATE_CALLBACK
    assert edited_meeting(redrawn) is None


def test_an_unticked_attached_file_is_dropped_and_the_redrawn_form_remembers_it() -> None:
    planned = planned_meeting()
    view = submitted(
        edit_modal(form_values_of(planned), planned.id, planned.version), kept_files=["8"]
    )

    form = read_form(view)
    shown = values_shown(view, form, START)

    assert form.kept_file_ids == (8,)
    assert shown.attached_files == ((7, "agenda.pdf"), (8, "logo.png"))
    assert shown.kept_file_ids == (8,)
    redrawn = refreshed_modal(view, shown)
    ticks = next(b for b in redrawn["blocks"] if b["block_id"] == "kept_files")["element"]
    assert [o["value"] for o in ticks["initial_options"]] == ["8"]


def test_each_find_a_time_option_carries_its_own_times() -> None:
    view = create_modal(replace(SUBMITTED, slots=SLOTS))

    options = next(b for b in view["blocks"] if b.get("block_id") == "slots")["elements"]

    assert [o["action_id"] for o in options] == ["pick_slot_1", "pick_slot_2", "pick_slot_3"]
    assert [o["text"]["text"] for o in options] == ["Option 1", "Option 2", "Option 3"]
    assert [parse_slot(o["value"]) for o in options] == list(SLOTS)
    assert (FIND_TIME_ACTION, "find") in [
        (e["action_id"], e["value"]) for b in view["blocks"] for e in b.get("elements", [])
    ]


def test_a_picked_time_replaces_the_times_the_form_shows_and_keeps_what_was_typed() -> None:
    opened = create_modal(replace(SUBMITTED, slots=SLOTS))
    pressed = submitted(opened, title="Typed before picking")
    option = next(b for b in opened["blocks"] if b.get("block_id") == "slots")["elements"][1]

    start, end = parse_slot(option["value"]) or (START, START)
    values = values_shown(pressed, read_form(pressed), START)
    picked = values.time_revision + 1
    redrawn = refreshed_modal(pressed, replace(values, start=start, end=end, time_revision=picked))

    refuse_unless_slack_accepts_view(redrawn, "modal")
    # A new action id is how Slack lets go of the time the person had typed.
    starts = next(b for b in redrawn["blocks"] if b["block_id"] == "start")["element"]
    assert starts["action_id"] == "value_1"
    again = submitted(redrawn)
    form = read_form(again)
    assert (form.start, form.end) == SLOTS[1]
    assert form.title == "Typed before picking"
    assert values_shown(again, form, START).time_revision == 1


@pytest.mark.parametrize(
    "value",
    ["", "find", "1796137200", "1796137200-", "-1796137200", "a-b", "1.5-2", "-1-2", "0x10-0x20"],
)
def test_a_value_no_find_a_time_option_carries_is_refused(value: str) -> None:
    assert parse_slot(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "²-³",
        "99999999999999999999-1",
        "1796137200-1796133600",
    ],
)
def test_digits_no_find_a_time_option_carries_are_refused_not_raised(value: str) -> None:
    assert parse_slot(value) is None


@pytest.mark.parametrize(
    ("language", "said"),
    [
        (Language.EN, "No time in the next two weeks suits everyone"),
        (Language.PL, "W ciągu najbliższych dwóch tygodni nie ma terminu"),
    ],
)
def test_when_no_time_suits_everyone_the_form_says_so(language: Language, said: str) -> None:
    view = create_modal(replace(SUBMITTED, slots=()), language=language)

    refuse_unless_slack_accepts_view(view, "modal")
    assert said in str(view["blocks"])
    assert all(b.get("block_id") != "slots" for b in view["blocks"])


@pytest.mark.parametrize(
    ("language", "busy", "outside"),
    [
        (Language.EN, "is busy", "their time "),
        (Language.PL, "jest zajęty(-a)", "poza godzinami pracy"),
    ],
)
def test_a_busy_member_is_shown_with_what_clashes_without_its_title_acting_as_markup(
    language: Language, busy: str, outside: str
) -> None:
    clash = Busy(START, START + timedelta(hours=1), HOSTILE)
    status = MemberStatus("U0ANA", (clash,), START.astimezone(WARSAW), outside_hours=True)

    view = create_modal(replace(SUBMITTED, availability=(status,)), language=language)

    shown = next(b for b in view["blocks"] if b.get("block_id") == "availability")
    assert "<@U0ANA>" in shown["text"]["text"] and busy in shown["text"]["text"]
    assert HOSTILE_SHOWN in shown["text"]["text"] and outside in shown["text"]["text"]
    assert foreign_markup(view["blocks"]) == []


@pytest.mark.parametrize("language", list(Language))
def test_the_form_with_twenty_busy_members_is_still_a_view_slack_accepts(
    language: Language,
) -> None:
    clash = Busy(START, START + timedelta(hours=1), "Weekly sync")
    statuses = tuple(
        MemberStatus(f"U{n:08d}", (clash,), START.astimezone(WARSAW), outside_hours=True)
        for n in range(20)
    )

    view = create_modal(replace(SUBMITTED, availability=statuses), language=language)

    refuse_unless_slack_accepts_view(view, "modal")


def test_the_meet_command_opens_the_form_filled_with_what_was_typed() -> None:
    command = load_payload("command_meet.json")
    now = datetime(2026, 11, 30, 9, 12, tzinfo=UTC)
    quick = read_quick_text(command["text"], now=now, zone=WARSAW)
    settings = PersonalSettings(reminder_minutes=30, notify_on_decision=True)
    default_start = datetime(2026, 11, 30, 10, 30, tzinfo=WARSAW)

    values = opening_values(
        quick, default_start, default_start + timedelta(minutes=30), command["user_id"], settings
    )
    view = create_modal(values)

    refuse_unless_slack_accepts_view(view, "modal")
    form = read_form(submitted(view))
    assert form.title == "Design review"
    assert form.location == "Room 2"
    # The organizer mentioned themselves; they organize, they are not invited.
    assert form.member_ids == ("U0ANA",)
    assert form.guests_text == "ana@client.example"
    assert form.start == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    assert form.end == datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    assert form.notify and form.reminder_minutes == 30 and not form.remind_guests


def test_the_meet_command_without_details_opens_the_form_at_the_default_times() -> None:
    now = datetime(2026, 11, 30, 9, 12, tzinfo=UTC)
    quick = read_quick_text("", now=now, zone=WARSAW)
    default_start = datetime(2026, 11, 30, 10, 30, tzinfo=WARSAW)

    values = opening_values(
        quick, default_start, default_start + timedelta(minutes=30), "U0OLGA", PersonalSettings()
    )

    assert (values.start, values.end) == (default_start, default_start + timedelta(minutes=30))
    assert values.title == "" and values.member_ids == ()
    assert values.reminder_minutes == PersonalSettings().reminder_minutes
