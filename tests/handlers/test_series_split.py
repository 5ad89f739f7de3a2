"""A series changed from one meeting on keeps the meetings after it changed one by one.

Driven through the real app: the series ends before the chosen meeting and a new one (a new
UID) starts at it; a meeting after it that was cancelled stays cancelled in the new series
(an EXDATE), a moved one stays at the time it was moved to (a VEVENT with RECURRENCE-ID),
as icalendar, vobject and ical.js read the new invitation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import vobject

from bot.app import Meetbot
from tests.conftest import ANA, ORGANIZER
from tests.fakes.slack_api import FakeSlack
from tests.handlers.test_repeats import (
    BOB,
    IVY,
    cancel_from_summary,
    inputs,
    series_for_everyone,
)
from tests.handlers.test_series_edit import edit_question, form_for, raw_calendar
from tests.support.calendar_readers import (
    needs_ical_js,
    occurrences_with_ical_js,
    series_with_vobject,
)
from tests.support.mailbox import Mailbox, ReceivedMail
from tests.support.meetings import (
    calendar_of,
    eventually,
    open_form_from,
    summary,
    texts,
    wait_for_mails,
)
from tests.support.replies import render, send_to_receiver
from tests.support.signed import SlackSender
from tests.test_reminders import reminders_to

ORGANIZER_ADDRESS = "invites@meetbot.example"
NEW_TITLE = "Standup, new format"


def summaries(slack: FakeSlack) -> list[dict[str, Any]]:
    """Return the organizer's summary messages, one per meeting, oldest first."""
    found = []
    for message in slack.messages(slack.dm_channel(ORGANIZER)):
        payload = message.get("metadata", {}).get("event_payload", {})
        if str(payload.get("delivery", "")).startswith("summary:"):
            found.append(message)
    return found


async def decline_one_meeting(
    inbound_port: int, guest: str, uid: str, occurrence: datetime
) -> None:
    """Send a guest's calendar's REPLY declining one meeting of the series."""
    raw = render(
        "thunderbird_occurrence_reply",
        organizer=ORGANIZER_ADDRESS,
        uid=uid,
        guest=guest,
        partstat="DECLINED",
        start=occurrence,
        end=occurrence + timedelta(minutes=30),
        authenticated=True,
    )
    await send_to_receiver(inbound_port, raw, ORGANIZER_ADDRESS, sender=guest)


def new_and_ended(mails: list[ReceivedMail], uid: str) -> tuple[ReceivedMail, ReceivedMail]:
    """Return a guest's invitation to the new series and the old one's update ending it."""
    started = next(m for m in mails if m.message["Subject"].startswith(f"Invitation: {NEW_TITLE}"))
    ended = next(
        m
        for m in mails
        if str((event := calendar_of(m).walk("VEVENT")[0])["UID"]) == uid
        and "UNTIL" in (event.get("RRULE") or {})
    )
    return started, ended


async def split_mails(mailbox: Mailbox, guest: str, uid: str) -> tuple[ReceivedMail, ReceivedMail]:
    """Wait until a guest has both e-mails of the split and return them."""
    await eventually(lambda: new_and_ended(mailbox.to(guest), uid), timeout=15)
    return new_and_ended(mailbox.to(guest), uid)


@needs_ical_js
async def test_meetings_cancelled_or_moved_after_the_split_stay_so_in_the_new_series(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot, inbound_port: int
) -> None:
    start = await series_for_everyone(sender, slack, mailbox)
    uid = str(calendar_of(mailbox.to(BOB)[0]).walk("VEVENT")[0]["UID"])
    first, second, third, fourth, fifth, sixth = (start + timedelta(weeks=n) for n in range(6))
    # The fourth Monday is off; the fifth meets in the afternoon.
    await cancel_from_summary(sender, slack, fourth, "one", "Team holiday.")
    afternoon = fifth + timedelta(hours=4)
    one = await form_for(sender, await edit_question(sender, slack), fifth, "one")
    await sender.submit_view(
        ORGANIZER,
        one,
        start=int(afternoon.timestamp()),
        end=int((afternoon + timedelta(minutes=30)).timestamp()),
    )
    await wait_for_mails(mailbox, IVY, 3)
    # Bob cannot come to the moved fifth Monday, Ivy not to the sixth.
    await decline_one_meeting(inbound_port, BOB, uid, fifth)
    await decline_one_meeting(inbound_port, IVY, uid, sixth)

    def both_declined() -> bool:
        shown = texts(summary(slack)).partition("Answers for single meetings")[2]
        return BOB in shown and IVY in shown

    await eventually(both_declined)

    # From the third Monday on: a new title, an hour later.
    later = timedelta(hours=1)
    form = await form_for(sender, await edit_question(sender, slack), third, "following")
    saved = await sender.submit_view(
        ORGANIZER,
        form,
        title=NEW_TITLE,
        start=int((third + later).timestamp()),
        end=int((third + later + timedelta(minutes=30)).timestamp()),
    )
    assert saved.status == 200 and saved.json() == {}

    for guest in (BOB, IVY):
        started, ended = await split_mails(mailbox, guest, uid)
        calendar = calendar_of(started)
        master, override = calendar.walk("VEVENT")
        assert str(calendar["METHOD"]) == "REQUEST" and str(master["UID"]) != uid
        assert master["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=4;BYDAY=MO"
        assert master.decoded("DTSTART") == third + later
        # The fourth Monday, at the new series' time, stays out.
        assert [d.dt for d in master["EXDATE"].dts] == [fourth + later]
        # The fifth is named by the new series' occurrence that day, and stays moved.
        assert str(override["UID"]) == str(master["UID"])
        assert override.decoded("RECURRENCE-ID") == fifth + later
        assert override.decoded("DTSTART") == afternoon
        assert str(override["SUMMARY"]) == NEW_TITLE
        # The old series ends before the third Monday, with nothing of the later ones left.
        [old] = calendar_of(ended).walk("VEVENT")
        assert old["RRULE"]["UNTIL"][0].date() == (third - timedelta(days=1)).date()
        assert "EXDATE" not in old
        assert series_with_vobject(raw_calendar(ended)) == [first, second]

    # Guests' calendar programs show three meetings of the new series: the fifth moved.
    raw = raw_calendar(new_and_ended(mailbox.to(BOB), uid)[0])
    assert occurrences_with_ical_js([raw]) == [
        [
            ((third + later).astimezone(UTC), NEW_TITLE, ""),
            (afternoon.astimezone(UTC), NEW_TITLE, ""),
            ((sixth + later).astimezone(UTC), NEW_TITLE, ""),
        ]
    ]
    read = vobject.readOne(raw.decode("utf-8"))
    assert series_with_vobject(raw) == [
        s.astimezone(UTC) for s in (third + later, fifth + later, sixth + later)
    ]
    [moved] = [e for e in read.vevent_list if "recurrence-id" in e.contents]
    assert moved.dtstart.value.astimezone(UTC) == afternoon.astimezone(UTC)

    # The organizer's new summary: Bob's answer to the fifth still holds (its time and place
    # did not change); Ivy's to the sixth, now an hour later, is asked again.
    await eventually(lambda: len(summaries(slack)) == 2)
    new_summary = summaries(slack)[1]
    await eventually(lambda: "Answers for single meetings" in texts(summaries(slack)[1]))
    answers = texts(summaries(slack)[1]).split("Answers for single meetings")[1]
    assert f"<!date^{int((fifth + later).timestamp())}^" in answers and BOB in answers
    assert IVY not in answers
    # Picking a meeting of the new series: the fourth is not offered, the fifth is moved.
    question = await open_form_from(sender, slack, ORGANIZER, new_summary, "edit_meeting")
    offered = inputs(question)["occurrence"]["options"]
    assert [o["value"] for o in offered] == [
        str(int((m + later).timestamp())) for m in (third, fifth, sixth)
    ]
    assert ", 14:00 " in offered[1]["text"]["text"]

    # Members are reminded of the third, the fifth (at its moved time) and the sixth only.
    assert meetbot.services is not None
    meetings = meetbot.services.meetings
    reminded = []
    for begins in (third + later, fourth + later, afternoon, sixth + later):
        assert await meetings.queue_due_reminders(begins - timedelta(minutes=16)) == 0
        reminded.append(await meetings.queue_due_reminders(begins - timedelta(minutes=14)))
    assert reminded == [1, 0, 1, 1]
    await eventually(lambda: len(reminders_to(slack, ANA)) == 3)
    assert f"<!date^{int(afternoon.timestamp())}^" in str(slack.messages(slack.dm_channel(ANA)))
