"""Meetings that repeat, driven through the real app: the form, /meet's words, what people get."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from bot.app import Meetbot
from tests.conftest import ANA, ORGANIZER
from tests.fakes.slack_api import FakeSlack
from tests.handlers.test_availability import availability_text, open_form_record, updated_form
from tests.handlers.test_home import home_of
from tests.mail.test_trust import asked
from tests.support.flows import confirm_mailbox, in_days, open_create_form
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
    wait_for_summary,
)
from tests.support.replies import render, send_to_receiver
from tests.support.signed import SlackSender

WARSAW = ZoneInfo("Europe/Warsaw")  # the organizer's zone, from users.info
PIOTR = "U0PIOTR"
BOB, IVY = "bob@client.example", "ivy@partner.example"


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the form's input elements by block id."""
    return {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}


def first_weekday_after(day: date, weekday: int) -> date:
    """Return the first such weekday after a day (0 = Monday)."""
    return day + timedelta(days=(weekday - day.weekday() - 1) % 7 + 1)


async def test_the_form_offers_every_way_to_repeat_and_never_is_chosen(
    sender: SlackSender, slack: FakeSlack
) -> None:
    view = await open_create_form(sender, slack, ORGANIZER)

    by_id = inputs(view)
    assert [o["text"]["text"] for o in by_id["repeats"]["options"]] == [
        "Never",
        "Every day",
        "Every weekday (Monday to Friday)",
        "Every week",
        "Every two weeks",
        "Every month on the same date",
        "Every month on the same weekday (e.g. second Tuesday)",
    ]
    assert by_id["repeats"]["initial_option"]["value"] == "never"
    assert [o["text"]["text"] for o in by_id["repeat_days"]["options"]][:2] == [
        "Monday",
        "Tuesday",
    ]
    assert by_id["repeat_until"]["type"] == "datepicker"
    assert by_id["repeat_count"]["type"] == "number_input"


async def test_english_free_text_fills_every_monday_until_march(
    sender: SlackSender, slack: FakeSlack
) -> None:
    view = await open_create_form(
        sender, slack, ORGANIZER, "Standup every Monday 10:00 until March"
    )

    by_id = inputs(view)
    assert by_id["title"]["initial_value"] == "Standup"
    start = datetime.fromtimestamp(by_id["start"]["initial_date_time"], WARSAW)
    assert (start.weekday(), start.hour, start.minute) == (0, 10, 0)
    assert by_id["repeats"]["initial_option"]["value"] == "weekly"
    assert [o["value"] for o in by_id["repeat_days"]["initial_options"]] == ["0"]
    until = date.fromisoformat(by_id["repeat_until"]["initial_date"])
    assert (until.month, until.day) in ((2, 28), (2, 29))  # up to March, not into it


async def test_polish_free_text_fills_every_tuesday_until_march(
    sender: SlackSender, slack: FakeSlack
) -> None:
    view = await open_create_form(sender, slack, ORGANIZER, "Przegląd w każdy wtorek o 15 do marca")

    by_id = inputs(view)
    assert by_id["title"]["initial_value"] == "Przegląd"
    start = datetime.fromtimestamp(by_id["start"]["initial_date_time"], WARSAW)
    assert (start.weekday(), start.hour) == (1, 15)
    assert by_id["repeats"]["initial_option"]["value"] == "weekly"
    assert [o["value"] for o in by_id["repeat_days"]["initial_options"]] == ["1"]
    assert date.fromisoformat(by_id["repeat_until"]["initial_date"]).month == 2


async def test_polish_every_week_without_an_end(sender: SlackSender, slack: FakeSlack) -> None:
    view = await open_create_form(sender, slack, ORGANIZER, "Synchronizacja co tydzień o 9")

    by_id = inputs(view)
    assert by_id["title"]["initial_value"] == "Synchronizacja"
    assert by_id["repeats"]["initial_option"]["value"] == "weekly"
    assert "initial_date" not in by_id["repeat_until"]


async def test_repeats_that_cannot_be_are_shown_beside_their_fields(
    sender: SlackSender, slack: FakeSlack
) -> None:
    view = await open_create_form(sender, slack, ORGANIZER)
    monday = datetime.combine(first_weekday_after(in_days(1).date(), 0), datetime.min.time())
    start = monday.replace(hour=10, tzinfo=WARSAW)

    def typed(**repeat: Any) -> dict[str, Any]:
        return {
            "title": "Standup",
            "start": int(start.timestamp()),
            "end": int((start + timedelta(minutes=15)).timestamp()),
            **repeat,
        }

    too_far = await sender.submit_view(
        ORGANIZER,
        view,
        **typed(
            repeats="weekly", repeat_until=(start + timedelta(days=6 * 366)).date().isoformat()
        ),
    )
    wrong_day = await sender.submit_view(
        ORGANIZER, view, **typed(repeats="weekly", repeat_days=["2", "4"])
    )
    both = await sender.submit_view(
        ORGANIZER,
        view,
        **typed(repeats="daily", repeat_count="5", repeat_until=start.date().isoformat()),
    )
    too_many = await sender.submit_view(
        ORGANIZER, view, **typed(repeats="daily", repeat_count="900")
    )

    assert too_far.json()["errors"] == {"repeat_until": "A series can run for at most five years."}
    assert wrong_day.json()["errors"] == {
        "repeat_days": "The first meeting must fall on one of the days it repeats on."
    }
    assert both.json()["errors"] == {
        "repeat_until": "Choose an end date or a number of times, not both."
    }
    assert too_many.json()["errors"] == {"repeat_count": "Repeat between 1 and 260 times."}
    assert slack.calls_to("chat.postMessage") == []


def next_monday_at_ten() -> datetime:
    """Return next week's Monday (at least a day away), 10:00 on the organizer's clock."""
    monday = first_weekday_after(in_days(1).date(), 0)
    return datetime.combine(monday, datetime.min.time()).replace(hour=10, tzinfo=WARSAW)


async def create_weekly_series(
    sender: SlackSender, slack: FakeSlack, *, start: datetime, times: int
) -> None:
    """Send Standup every Monday to Ana, Piotr (whose Slack is Polish), Bob and Ivy."""
    view = await open_create_form(sender, slack, ORGANIZER)
    answer = await sender.submit_view(
        ORGANIZER,
        view,
        title="Standup",
        start=int(start.timestamp()),
        end=int((start + timedelta(minutes=30)).timestamp()),
        members=[ANA, PIOTR],
        guests=f"Bob Client <{BOB}>\n{IVY}",
        repeats="weekly",
        repeat_count=str(times),
    )
    assert await confirm_mailbox(sender, ORGANIZER, answer.json()) == {"response_action": "clear"}


async def test_a_weekly_series_reaches_members_and_guests_in_their_words(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox
) -> None:
    slack.add_user(PIOTR, real_name="Piotr Nowak", email="piotr@acme.example", locale="pl-PL")
    start = next_monday_at_ten()

    await create_weekly_series(sender, slack, start=start, times=6)

    mails = await mailbox.wait_for(2)
    assert sorted(r for m in mails for r in m.recipients) == [BOB, IVY]
    bob = mailbox.to(BOB)[0].message
    event = icalendar.Calendar.from_ical(calendar_part(bob).get_content()).walk("VEVENT")[0]
    assert event["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=6;BYDAY=MO"
    assert event.decoded("DTSTART") == start
    assert event["DTSTART"].params["TZID"] == "Europe/Warsaw"
    assert "Every Monday 10:00, 6 times, first on" in bob.get_body(("plain",)).get_content()
    status, page = await fetch("GET", answer_link(mailbox.to(BOB)[0]))
    assert status == 200 and "Every Monday 10:00, 6 times, first on" in page
    for member, words in (
        (ANA, "*Repeats:* Every Monday 10:00, 6 times"),
        (PIOTR, "*Powtarzanie:* W każdy poniedziałek 10:00, 6 razy"),
    ):
        await slack.wait_for(
            "chat.postMessage", lambda c, m=member: c.args["channel"] == slack.dm_channel(m)
        )
        dm = texts(slack.messages(slack.dm_channel(member))[0])
        assert words in dm
        assert f"<!date^{int(start.timestamp())}^" in dm  # the next occurrence is the first
    home = str(await home_of(sender, slack, ANA))
    assert "Every Monday 10:00, 6 times" in home and "*Next:*" in home


async def series_for_everyone(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, *, times: int = 6
) -> datetime:
    """Create the weekly series and wait until everyone has it; return its first start."""
    slack.add_user(PIOTR, real_name="Piotr Nowak", email="piotr@acme.example", locale="pl-PL")
    start = next_monday_at_ten()
    await create_weekly_series(sender, slack, start=start, times=times)
    await wait_for_summary(slack)
    for guest in (BOB, IVY):
        await wait_for_mails(mailbox, guest, 1)
    for member in (ANA, PIOTR):
        await slack.wait_for(
            "chat.postMessage", lambda c, m=member: c.args["channel"] == slack.dm_channel(m)
        )
    return start


async def cancel_from_summary(
    sender: SlackSender, slack: FakeSlack, occurrence: datetime, scope: str, message: str
) -> dict[str, Any]:
    """Open the summary's cancel form, pick an occurrence and a scope, and submit."""
    form = await open_form_from(sender, slack, ORGANIZER, summary(slack), "cancel_meeting")
    await sender.submit_view(
        ORGANIZER,
        form,
        occurrence=str(int(occurrence.timestamp())),
        scope=scope,
        message=message,
    )
    return form


async def test_one_occurrence_cancelled_reaches_everyone_and_the_series_keeps_an_exdate(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox
) -> None:
    start = await series_for_everyone(sender, slack, mailbox)
    second = start + timedelta(weeks=1)

    form = await cancel_from_summary(sender, slack, second, "one", "Team holiday.")

    by_id = inputs(form)
    assert len(by_id["occurrence"]["options"]) == 6
    assert [o["value"] for o in by_id["scope"]["options"]] == ["one", "following", "all"]
    for guest in (BOB, IVY):
        cancellation = (await wait_for_mails(mailbox, guest, 2))[1]
        calendar = calendar_of(cancellation)
        [event] = calendar.walk("VEVENT")
        assert str(calendar["METHOD"]) == "CANCEL"
        assert event.decoded("RECURRENCE-ID") == second
        assert event["RECURRENCE-ID"].params["TZID"] == "Europe/Warsaw"
        assert event.decoded("DTSTART") == second and "RRULE" not in event
        assert int(event["SEQUENCE"]) == 1
        assert "Team holiday." in cancellation.message.get_body(("plain",)).get_content()
    for member in (ANA, PIOTR):
        await eventually(lambda m=member: len(slack.messages(slack.dm_channel(m))) == 2)
        notice = texts(slack.messages(slack.dm_channel(member))[1])
        assert f"<!date^{int(second.timestamp())}^" in notice and "Team holiday." in notice
    assert "Cancelled" not in texts(summary(slack))

    # The series as a guest adds it now: still every Monday, the cancelled one left out.
    status, ics = await fetch("GET", answer_link(mailbox.to(BOB)[0]) + "/invite.ics")
    series = icalendar.Calendar.from_ical(ics).walk("VEVENT")[0]
    assert status == 200 and series["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=6;BYDAY=MO"
    assert [d.dt for d in series["EXDATE"].dts] == [second]


async def test_this_and_following_ends_the_series_before_it_at_a_new_sequence(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox
) -> None:
    start = await series_for_everyone(sender, slack, mailbox)
    third = start + timedelta(weeks=2)

    await cancel_from_summary(sender, slack, third, "following", "")

    for guest in (BOB, IVY):
        update = (await wait_for_mails(mailbox, guest, 2))[1]
        calendar = calendar_of(update)
        [event] = calendar.walk("VEVENT")
        assert str(calendar["METHOD"]) == "REQUEST" and int(event["SEQUENCE"]) == 1
        rule = event["RRULE"]
        # The end of the Sunday before, on the organizer's clock.
        assert rule["UNTIL"][0] == third.replace(hour=23, minute=59, second=59) - timedelta(days=1)
        assert "COUNT" not in rule
    # Two Mondays are left: the series now ends the day before the third.
    last_day = f"until {(third - timedelta(days=1)).day} "
    await eventually(lambda: f"*Repeats:* Every Monday 10:00 {last_day}" in texts(summary(slack)))


async def test_the_whole_series_cancelled_leaves_every_calendar(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox
) -> None:
    start = await series_for_everyone(sender, slack, mailbox)

    await cancel_from_summary(sender, slack, start + timedelta(weeks=3), "all", "")

    for guest in (BOB, IVY):
        calendar = calendar_of((await wait_for_mails(mailbox, guest, 2))[1])
        [event] = calendar.walk("VEVENT")
        assert str(calendar["METHOD"]) == "CANCEL" and "RECURRENCE-ID" not in event
        assert event["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=6;BYDAY=MO"
    await eventually(lambda: "Cancelled" in texts(summary(slack)))


async def test_a_guests_reply_to_one_occurrence_is_recorded_for_it_alone(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot, inbound_port: int
) -> None:
    start = await series_for_everyone(sender, slack, mailbox)
    uid = str(calendar_of(mailbox.to(BOB)[0]).walk("VEVENT")[0]["UID"])
    third = start + timedelta(weeks=2)
    organizer_address = "invites@meetbot.example"

    for fixture, partstat, begins in (
        ("thunderbird_reply", "ACCEPTED", start),
        ("thunderbird_occurrence_reply", "DECLINED", third),
    ):
        raw = render(
            fixture,
            organizer=organizer_address,
            uid=uid,
            guest=BOB,
            partstat=partstat,
            start=begins,
            end=begins + timedelta(minutes=30),
            authenticated=True,
        )
        await send_to_receiver(inbound_port, raw, organizer_address, sender=BOB)

    def shows_both() -> bool:
        shown = texts(summary(slack))
        return "1 accepted" in shown and "Answers for single meetings" in shown

    await eventually(shows_both)
    shown = texts(summary(slack))
    # Bob comes to the series (counted once) but not to the third Monday.
    assert "1 declined" not in shown
    assert f"Bob Client &lt;{BOB}&gt; — <!date^{int(third.timestamp())}^" in shown
    assert "declined" in shown.split("Answers for single meetings")[1]


async def test_members_are_busy_at_every_occurrence_but_not_a_cancelled_one(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox
) -> None:
    start = await series_for_everyone(sender, slack, mailbox)
    await cancel_from_summary(sender, slack, start + timedelta(weeks=1), "one", "")
    await wait_for_mails(mailbox, BOB, 2)
    await open_create_form(sender, slack, ORGANIZER)

    lines = {}
    for week in (1, 3):
        planned = start + timedelta(weeks=week, minutes=15)
        before = len(slack.calls_to("views.update"))
        await sender.change_in_view(
            ORGANIZER,
            open_form_record(slack),
            "start",
            title="Partner call",
            start=int(planned.timestamp()),
            end=int((planned + timedelta(minutes=30)).timestamp()),
            members=[ANA],
        )
        lines[week] = availability_text(await updated_form(slack, before))

    assert lines[3].startswith(f":red_circle: <@{ANA}> is busy") and "(Standup)" in lines[3]
    assert lines[1].startswith(f":large_green_circle: <@{ANA}> is free")


async def test_one_occurrence_moved_reaches_everyone_as_its_own_request(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox
) -> None:
    start = await series_for_everyone(sender, slack, mailbox)
    second = start + timedelta(weeks=1)
    later = second + timedelta(hours=2)

    form = await open_form_from(sender, slack, ORGANIZER, summary(slack), "move_occurrence")
    refused = await sender.submit_view(
        ORGANIZER,
        form,
        occurrence=str(int(second.timestamp())),
        start=int(later.timestamp()),
        end=int(later.timestamp()),
    )
    moved = await sender.submit_view(
        ORGANIZER,
        form,
        occurrence=str(int(second.timestamp())),
        start=int(later.timestamp()),
        end=int((later + timedelta(minutes=30)).timestamp()),
    )

    assert refused.json()["errors"] == {"end": "The end must be after the start."}
    assert moved.status == 200 and moved.json() == {}
    for guest in (BOB, IVY):
        update = (await wait_for_mails(mailbox, guest, 2))[1]
        calendar = calendar_of(update)
        [event] = calendar.walk("VEVENT")
        assert str(calendar["METHOD"]) == "REQUEST" and "RRULE" not in event
        assert event.decoded("RECURRENCE-ID") == second
        assert event.decoded("DTSTART") == later
        assert event["DTSTART"].params["TZID"] == "Europe/Warsaw"
        assert int(event["SEQUENCE"]) == 1
        assert update.message["Subject"].startswith("Updated invitation: Standup")
    for member in (ANA, PIOTR):
        await eventually(lambda m=member: len(slack.messages(slack.dm_channel(m))) == 2)
        notice = texts(slack.messages(slack.dm_channel(member))[1])
        assert f"<!date^{int(second.timestamp())}^" in notice
        assert f"<!date^{int(later.timestamp())}^" in notice
    # Added to a calendar now, the series carries the moved meeting at its new time.
    status, ics = await fetch("GET", answer_link(mailbox.to(BOB)[0]) + "/invite.ics")
    master, override = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    assert status == 200 and "RRULE" in master
    assert (override.decoded("RECURRENCE-ID"), override.decoded("DTSTART")) == (second, later)


async def test_an_unverified_reply_to_one_occurrence_is_recorded_for_it_once_confirmed(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot, inbound_port: int
) -> None:
    start = await series_for_everyone(sender, slack, mailbox)
    uid = str(calendar_of(mailbox.to(BOB)[0]).walk("VEVENT")[0]["UID"])
    third = start + timedelta(weeks=2)
    organizer_address = "invites@meetbot.example"
    raw = render(
        "thunderbird_occurrence_reply",
        organizer=organizer_address,
        uid=uid,
        guest=BOB,
        partstat="DECLINED",
        start=third,
        end=third + timedelta(minutes=30),
    )
    await send_to_receiver(inbound_port, raw, organizer_address, sender=BOB)

    dm = await asked(slack)
    await sender.click(ORGANIZER, dm, slack.dm_channel(ORGANIZER), "held_answer_record")

    await eventually(lambda: "Answers for single meetings" in texts(summary(slack)))
    shown = texts(summary(slack))
    assert "1 declined" not in shown  # the series' answer stands
    assert f"<!date^{int(third.timestamp())}^" in shown.split("Answers for single meetings")[1]
