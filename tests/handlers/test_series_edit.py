"""Editing a series from one of its meetings on, driven through the real app.

"This meeting and all after it" is done as Google Calendar and Outlook do it: the series
ends before that meeting (UNTIL, a new SEQUENCE) and a new series with a new UID starts
at it with the changes. Both are read back with ical.js and vobject, not only our parser.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import vobject

from bot.blocks.series import MOVE_CALLBACK
from tests.conftest import ORGANIZER
from tests.fakes.slack_api import FakeSlack
from tests.handlers.test_home import home_of
from tests.handlers.test_repeats import ANA, BOB, IVY, PIOTR, inputs, series_for_everyone
from tests.support.calendar_readers import (
    needs_ical_js,
    occurrences_with_ical_js,
    series_with_ical_js,
    series_with_vobject,
)
from tests.support.mailbox import Mailbox, calendar_part
from tests.support.meetings import (
    answer_link,
    calendar_of,
    eventually,
    fetch,
    open_form_from,
    summary,
    texts,
    wait_for_mails,
)
from tests.support.signed import SlackSender


async def edit_question(sender: SlackSender, slack: FakeSlack) -> dict[str, Any]:
    """Press Edit on the series' summary and return the question Slack was asked to open."""
    return await open_form_from(sender, slack, ORGANIZER, summary(slack), "edit_meeting")


async def form_for(
    sender: SlackSender, question: dict[str, Any], occurrence: datetime, scope: str
) -> dict[str, Any]:
    """Answer the question and return the form it turns into."""
    answer = await sender.submit_view(
        ORGANIZER, question, occurrence=str(int(occurrence.timestamp())), scope=scope
    )
    body = answer.json()
    assert body["response_action"] == "update"
    view = body["view"]
    assert isinstance(view, dict)
    return view


def raw_calendar(mail: Any) -> bytes:
    """Return an e-mail's calendar as the guest's program gets it."""
    return bytes(calendar_part(mail.message).get_payload(decode=True))


async def test_an_edit_of_a_series_asks_which_meetings_first(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox
) -> None:
    start = await series_for_everyone(sender, slack, mailbox)
    second = start + timedelta(weeks=1)

    question = await edit_question(sender, slack)
    by_id = inputs(question)
    whole = await form_for(sender, question, second, "all")
    one = await form_for(sender, question, second, "one")

    assert question["title"]["text"] == "Edit meeting"
    assert [o["text"]["text"] for o in by_id["scope"]["options"]] == [
        "Only this meeting",
        "This meeting and all after it",
        "The whole series",
    ]
    assert len(by_id["occurrence"]["options"]) == 6
    # The whole series: the edit form as before, from the first meeting.
    assert inputs(whole)["start"]["initial_date_time"] == int(start.timestamp())
    assert inputs(whole)["repeat_count"]["initial_value"] == "6"
    # Only this meeting: it is moved on its own, the picked one chosen.
    assert one["callback_id"] == "meet_move_occurrence"
    assert inputs(one)["occurrence"]["initial_option"]["value"] == str(int(second.timestamp()))


@needs_ical_js
async def test_this_and_all_after_it_ends_the_series_and_starts_a_new_one(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox
) -> None:
    start = await series_for_everyone(sender, slack, mailbox)
    third = start + timedelta(weeks=2)
    later = third + timedelta(hours=1)

    form = await form_for(sender, await edit_question(sender, slack), third, "following")
    by_id = inputs(form)
    # The form opens at the third meeting, with the four meetings left.
    assert by_id["start"]["initial_date_time"] == int(third.timestamp())
    assert by_id["repeat_count"]["initial_value"] == "4"
    saved = await sender.submit_view(
        ORGANIZER,
        form,
        title="Standup in room 5",
        location="Room 5",
        start=int(later.timestamp()),
        end=int((later + timedelta(minutes=30)).timestamp()),
    )
    assert saved.status == 200 and saved.json() == {}

    for guest in (BOB, IVY):
        update, invitation = (await wait_for_mails(mailbox, guest, 3))[1:3]
        if calendar_of(update).walk("VEVENT")[0]["SUMMARY"] != "Standup":
            update, invitation = invitation, update
        old, new = calendar_of(update).walk("VEVENT")[0], calendar_of(invitation).walk("VEVENT")[0]
        assert str(calendar_of(update)["METHOD"]) == "REQUEST" and int(old["SEQUENCE"]) == 1
        assert old["RRULE"]["UNTIL"][0] == third.replace(hour=23, minute=59, second=59) - timedelta(
            days=1
        )
        assert str(new["UID"]) != str(old["UID"]) and int(new["SEQUENCE"]) == 0
        assert (str(new["SUMMARY"]), str(new["LOCATION"])) == ("Standup in room 5", "Room 5")
        assert new.decoded("DTSTART") == later
        assert new["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=4;BYDAY=MO"
        assert invitation.message["Subject"].startswith("Invitation: Standup in room 5")

    # Guests' calendar programs read two meetings, then four at the new time.
    bob = mailbox.to(BOB)
    ended = next(m for m in bob[1:] if "Standup in room 5" not in m.message["Subject"])
    started = next(m for m in bob[1:] if "Standup in room 5" in m.message["Subject"])
    old_starts = [start, start + timedelta(weeks=1)]
    new_starts = [later + timedelta(weeks=n) for n in range(4)]
    utc = [[s.astimezone(UTC) for s in old_starts], [s.astimezone(UTC) for s in new_starts]]
    assert series_with_ical_js([raw_calendar(ended), raw_calendar(started)]) == utc
    assert series_with_vobject(raw_calendar(ended)) == utc[0]
    assert series_with_vobject(raw_calendar(started)) == utc[1]

    last = (third - timedelta(days=1)).strftime("%-d")
    until_words = {ANA: f"until {last} ", PIOTR: f"do {last} "}
    # Members hear both in words; the organizer is told, and their Home tab shows both.
    for member in (ANA, PIOTR):
        await eventually(lambda m=member: len(slack.messages(slack.dm_channel(m))) >= 3)
        changed, invited = (texts(m) for m in slack.messages(slack.dm_channel(member))[1:3])
        assert until_words[member] in changed
        assert "Standup in room 5" in invited and "Room 5" in invited
    told = await told_organizer(slack, "now ends with the meeting on")
    # Dates on the organizer's clock: the last Monday of the old series, the first of the new.
    second = third - timedelta(weeks=1)
    assert f"now ends with the meeting on Mon {second.day} " in told and ", 10:00 " in told
    assert f"From Mon {third.day} " in told and ", 11:00 " in told
    home = str(await home_of(sender, slack, ORGANIZER))
    assert "Standup in room 5" in home and "Standup" in home.replace("Standup in room 5", "")


async def told_organizer(slack: FakeSlack, words: str) -> str:
    """Wait for the organizer's DM saying `words` and return it."""

    def said() -> list[str]:
        return [t for m in slack.messages(slack.dm_channel(ORGANIZER)) if words in (t := texts(m))]

    await eventually(lambda: bool(said()))
    return said()[0]


async def test_this_and_all_after_the_first_meeting_edits_the_whole_series(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox
) -> None:
    start = await series_for_everyone(sender, slack, mailbox)

    form = await form_for(sender, await edit_question(sender, slack), start, "following")
    await sender.submit_view(ORGANIZER, form, location="Room 7")

    for guest in (BOB, IVY):
        [update] = (await wait_for_mails(mailbox, guest, 2))[1:]
        event = calendar_of(update).walk("VEVENT")[0]
        first = calendar_of(mailbox.to(guest)[0]).walk("VEVENT")[0]
        assert str(event["UID"]) == str(first["UID"]) and str(event["LOCATION"]) == "Room 7"
        assert event["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=6;BYDAY=MO"
    await eventually(lambda: "Room 7" in texts(summary(slack)))
    assert len(mailbox.to(BOB)) == 2


@needs_ical_js
async def test_one_meetings_title_and_place_reach_everyone_for_it_alone(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox
) -> None:
    start = await series_for_everyone(sender, slack, mailbox)
    second = start + timedelta(weeks=1)

    form = await form_for(sender, await edit_question(sender, slack), second, "one")
    assert inputs(form)["title"]["initial_value"] == "Standup"
    untitled = await sender.submit_view(ORGANIZER, form, title=" ")
    changed = await sender.submit_view(
        ORGANIZER, form, title="Standup at Acme", location="Acme office, floor 3"
    )

    assert untitled.json()["errors"] == {"title": "Give the meeting a title."}
    assert changed.status == 200 and changed.json() == {}
    for guest in (BOB, IVY):
        update = (await wait_for_mails(mailbox, guest, 2))[1]
        calendar = calendar_of(update)
        [event] = calendar.walk("VEVENT")
        assert str(calendar["METHOD"]) == "REQUEST" and "RRULE" not in event
        assert event.decoded("RECURRENCE-ID") == second and event.decoded("DTSTART") == second
        assert str(event["SUMMARY"]) == "Standup at Acme"
        assert str(event["LOCATION"]) == "Acme office, floor 3"
        assert int(event["SEQUENCE"]) == 1
        assert update.message["Subject"].startswith("Updated invitation: Standup at Acme")
        body = update.message.get_body(("plain",)).get_content()
        assert "Standup at Acme" in body and "Acme office, floor 3" in body
    for member in (ANA, PIOTR):
        await eventually(lambda m=member: len(slack.messages(slack.dm_channel(m))) == 2)
        notice = texts(slack.messages(slack.dm_channel(member))[1])
        assert f"<!date^{int(second.timestamp())}^" in notice
        assert "Standup → Standup at Acme" in notice and "→ Acme office, floor 3" in notice
    # The series added to a calendar now: that Monday alone has its own title and place,
    # as ical.js and vobject read it.
    status, ics = await fetch("GET", answer_link(mailbox.to(BOB)[0]) + "/invite.ics")
    assert status == 200
    [shown] = occurrences_with_ical_js([ics.encode()])
    assert shown[:3] == [
        (start.astimezone(UTC), "Standup", ""),
        (second.astimezone(UTC), "Standup at Acme", "Acme office, floor 3"),
        (start.astimezone(UTC) + timedelta(weeks=2), "Standup", ""),
    ]
    read = vobject.readOne(ics)
    override = next(e for e in read.vevent_list if "recurrence-id" in e.contents)
    assert override.summary.value == "Standup at Acme"
    assert override.location.value == "Acme office, floor 3"
    assert override.contents["recurrence-id"][0].value.astimezone(UTC) == second.astimezone(UTC)


def move_form_record(slack: FakeSlack) -> dict[str, Any]:
    """Return the fake's record (id, hash, view) of the open "Change one meeting" form."""
    # Home tabs the outbox publishes meanwhile are views too, without a callback id.
    return next(
        v for v in reversed(slack.opened_views()) if v["view"].get("callback_id") == MOVE_CALLBACK
    )


async def pick_in_move_form(
    sender: SlackSender, slack: FakeSlack, occurrence: datetime
) -> dict[str, Any]:
    """Pick a meeting in the open "Change one meeting" form and return Slack's update call."""
    opened = move_form_record(slack)
    before = len(slack.calls_to("views.update"))
    await sender.change_in_view(
        ORGANIZER, opened, "occurrence", occurrence=str(int(occurrence.timestamp()))
    )
    await slack.wait_for("views.update", lambda _: len(slack.calls_to("views.update")) > before)
    update = slack.calls_to("views.update")[-1].args
    assert (update["view_id"], update["hash"]) == (opened["id"], opened["hash"])
    return update


async def test_picking_another_meeting_shows_its_own_time_title_and_place(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox
) -> None:
    start = await series_for_everyone(sender, slack, mailbox)
    second, third = start + timedelta(weeks=1), start + timedelta(weeks=2)
    moved = third + timedelta(hours=4)
    # The third Monday has its own title, place and time.
    one = await form_for(sender, await edit_question(sender, slack), third, "one")
    await sender.submit_view(
        ORGANIZER,
        one,
        title="Standup at Acme",
        location="Acme office",
        start=int(moved.timestamp()),
        end=int((moved + timedelta(minutes=45)).timestamp()),
    )

    await open_form_from(sender, slack, ORGANIZER, summary(slack), "move_occurrence")
    first_shown = inputs(move_form_record(slack)["view"])
    to_third = await pick_in_move_form(sender, slack, third)
    shown = inputs(move_form_record(slack)["view"])
    to_second = await pick_in_move_form(sender, slack, second)
    back = inputs(move_form_record(slack)["view"])

    assert first_shown["title"]["initial_value"] == "Standup"
    assert inputs(to_third["view"]) == shown
    assert shown["occurrence"]["initial_option"]["value"] == str(int(third.timestamp()))
    assert shown["title"]["initial_value"] == "Standup at Acme"
    assert shown["location"]["initial_value"] == "Acme office"
    assert shown["start"]["initial_date_time"] == int(moved.timestamp())
    assert shown["end"]["initial_date_time"] == int((moved + timedelta(minutes=45)).timestamp())
    # Slack keeps what an input showed while its ids stay the same: these are new inputs.
    assert shown["title"]["action_id"] != first_shown["title"]["action_id"]
    # Another meeting of the series shows the series' own values again.
    assert inputs(to_second["view"]) == back
    assert (back["title"]["initial_value"], back["start"]["initial_date_time"]) == (
        "Standup",
        int(second.timestamp()),
    )
    assert "initial_value" not in back["location"]

    # Saved as shown, with a place typed in: only the second Monday changes.
    saved = await sender.submit_view(ORGANIZER, move_form_record(slack)["view"], location="Room 2")
    assert saved.status == 200 and saved.json() == {}
    update = (await wait_for_mails(mailbox, BOB, 3))[2]
    [event] = calendar_of(update).walk("VEVENT")
    assert event.decoded("RECURRENCE-ID") == second and event.decoded("DTSTART") == second
    assert (str(event["SUMMARY"]), str(event["LOCATION"])) == ("Standup", "Room 2")
