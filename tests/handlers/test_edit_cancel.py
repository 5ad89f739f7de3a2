"""The organizer changes their mind: edits and cancellations reach every calendar and DM."""

from __future__ import annotations

from datetime import timedelta

from bot.app import Meetbot
from tests.conftest import ANA, BEN, ORGANIZER
from tests.fakes.slack_api import FakeSlack
from tests.support.flows import in_days, send_invitations
from tests.support.mailbox import Mailbox
from tests.support.meetings import (
    answer_link,
    calendar_of,
    dm_of,
    eventually,
    fetch,
    open_form_from,
    summary,
    texts,
    wait_for_mails,
    wait_for_summary,
)
from tests.support.signed import SlackSender

START = in_days(3, hour=9)


async def invite_everyone(sender: SlackSender, slack: FakeSlack, mailbox: Mailbox) -> None:
    """Set up a meeting with two members and two guests and wait until all are invited."""
    await send_invitations(
        sender,
        slack,
        ORGANIZER,
        start=START,
        members=[ANA, BEN],
        guests="Bob Client <bob@client.example>, ivy@partner.example",
        location="Room 4",
    )
    await wait_for_summary(slack)
    await wait_for_mails(mailbox, "bob@client.example", 1)
    await wait_for_mails(mailbox, "ivy@partner.example", 1)
    for member in (ANA, BEN):
        await slack.wait_for(
            "chat.postMessage", lambda c, m=member: c.args["channel"] == slack.dm_channel(m)
        )


async def test_moving_the_time_updates_every_calendar_and_resets_answers(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await invite_everyone(sender, slack, mailbox)
    stale_invitation = dm_of(slack, ANA)
    await sender.click(ANA, stale_invitation, slack.dm_channel(ANA), "answer_accepted")
    link = answer_link(mailbox.to("bob@client.example")[0])
    await fetch("POST", link, {"answer": "accepted"})
    await eventually(lambda: "2 accepted" in texts(summary(slack)))

    form = await open_form_from(sender, slack, ORGANIZER, summary(slack), "edit_meeting")
    assert [b["block_id"] for b in form["blocks"] if b["type"] == "input"][:11] == [
        "title",
        "start",
        "end",
        "repeats",
        "repeat_days",
        "repeat_until",
        "repeat_count",
        "location",
        "description",
        "members",
        "guests",
    ]
    later = START + timedelta(hours=1)
    answer = await sender.submit_view(
        ORGANIZER,
        form,
        start=int(later.timestamp()),
        end=int((later + timedelta(minutes=45)).timestamp()),
    )
    assert answer.json() == {}

    first, update = await wait_for_mails(mailbox, "bob@client.example", 2)
    original, updated = calendar_of(first), calendar_of(update)
    assert str(updated["METHOD"]) == "REQUEST"
    new_event, old_event = updated.walk("VEVENT")[0], original.walk("VEVENT")[0]
    assert new_event["UID"] == old_event["UID"]
    assert int(new_event["SEQUENCE"]) == int(old_event["SEQUENCE"]) + 1
    assert new_event.decoded("DTSTART") == later
    assert new_event["ATTENDEE"].params["PARTSTAT"] == "NEEDS-ACTION"
    body = update.message.get_body(("plain",)).get_content()
    assert "Time:" in body and "→" in body and "10:00" in body and "11:00" in body
    assert "please answer again" in body
    assert update.message["Subject"].startswith("Updated invitation:")
    await wait_for_mails(mailbox, "ivy@partner.example", 2)

    await eventually(lambda: "4 no answer yet" in texts(summary(slack)))
    await eventually(
        lambda: any("changed" in m.get("text", "") for m in slack.messages(slack.dm_channel(ANA)))
    )
    notice = next(
        m for m in slack.messages(slack.dm_channel(ANA)) if "changed" in m.get("text", "")
    )
    assert "answer was reset" in texts(notice)
    assert "Your answer" not in texts(dm_of(slack, ANA))

    await sender.click(ANA, stale_invitation, slack.dm_channel(ANA), "answer_declined")
    reply = await slack.wait_for_response_url()
    assert "changed in the meantime" in reply["text"]
    assert "1 declined" not in texts(summary(slack))


async def test_changing_the_place_keeps_answers_and_says_what_changed(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await invite_everyone(sender, slack, mailbox)
    await sender.click(ANA, dm_of(slack, ANA), slack.dm_channel(ANA), "answer_accepted")
    await eventually(lambda: "1 accepted" in texts(summary(slack)))

    form = await open_form_from(sender, slack, ORGANIZER, summary(slack), "edit_meeting")
    await sender.submit_view(ORGANIZER, form, location="Room 7, second floor")

    _, update = await wait_for_mails(mailbox, "bob@client.example", 2)
    assert (
        "Place: Room 4 → Room 7, second floor" in update.message.get_body(("plain",)).get_content()
    )
    assert "answer again" not in update.message.get_body(("plain",)).get_content()
    await eventually(lambda: "Room 7" in texts(summary(slack)))
    assert "1 accepted" in texts(summary(slack))
    assert "Your answer: *accepted*" in texts(dm_of(slack, ANA))


async def test_an_edit_that_changes_nothing_sends_nothing(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await invite_everyone(sender, slack, mailbox)
    posts_before = len(slack.calls_to("chat.postMessage"))

    form = await open_form_from(sender, slack, ORGANIZER, summary(slack), "edit_meeting")
    await sender.submit_view(ORGANIZER, form)

    told = await slack.wait_for(
        "chat.postMessage", lambda c: "Nothing changed" in c.args.get("text", "")
    )
    assert told.args["channel"] in (ORGANIZER, slack.dm_channel(ORGANIZER))
    assert meetbot.services is not None
    await meetbot.services.outbox.drain()  # whatever was queued has now gone out
    assert len(mailbox.received) == 2
    assert len(slack.calls_to("chat.postMessage")) == posts_before + 1


async def test_removed_people_are_told_and_added_people_invited_at_the_same_sequence(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await invite_everyone(sender, slack, mailbox)

    form = await open_form_from(sender, slack, ORGANIZER, summary(slack), "edit_meeting")
    await sender.submit_view(
        ORGANIZER, form, members=[ANA], guests="Bob Client <bob@client.example>\nnew@guest.example"
    )

    # A guest list change alone is not a change to confirm again: SEQUENCE stays where Bob's
    # calendar has it, so his answers stay current.
    [cancel] = (await wait_for_mails(mailbox, "ivy@partner.example", 2))[1:]
    calendar = calendar_of(cancel)
    assert str(calendar["METHOD"]) == "CANCEL"
    assert int(calendar.walk("VEVENT")[0]["SEQUENCE"]) == 0
    [invitation] = await wait_for_mails(mailbox, "new@guest.example", 1)
    assert str(calendar_of(invitation)["METHOD"]) == "REQUEST"
    assert int(calendar_of(invitation).walk("VEVENT")[0]["SEQUENCE"]) == 0
    told = await slack.wait_for("chat.postMessage", lambda c: "Saved" in c.args.get("text", ""))
    assert "invited new@guest.example" in told.args["text"]
    assert f"took <@{BEN}>, ivy@partner.example off the list" in told.args["text"]
    await eventually(lambda: len(slack.messages(slack.dm_channel(BEN))) == 2)
    assert "took you off" in texts(slack.messages(slack.dm_channel(BEN))[1])
    assert "answer_accepted" not in texts(dm_of(slack, BEN))
    # Bob stays invited and nothing about him changed, so his calendar needs no update.
    assert len(mailbox.to("bob@client.example")) == 1
    status, ics = await fetch(
        "GET", answer_link(mailbox.to("bob@client.example")[0]) + "/invite.ics"
    )
    assert status == 200 and "METHOD:REQUEST" in ics and "SEQUENCE:0" in ics
    assert "Answer: " + answer_link(mailbox.to("bob@client.example")[0]) in ics.replace("\r\n ", "")
    status, page = await fetch("GET", answer_link(mailbox.to("ivy@partner.example")[0]))
    assert status == 200 and "no longer invited" in page
    status, ics = await fetch(
        "GET", answer_link(mailbox.to("ivy@partner.example")[0]) + "/invite.ics"
    )
    assert status == 200 and "METHOD:CANCEL" in ics and "METHOD:REQUEST" not in ics


async def test_cancelling_reaches_every_calendar_and_removes_the_buttons(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await invite_everyone(sender, slack, mailbox)

    form = await open_form_from(sender, slack, ORGANIZER, summary(slack), "cancel_meeting")
    assert form["callback_id"] == "meet_cancel"
    await sender.submit_view(ORGANIZER, form, message="Sorry, the client postponed.")

    for guest in ("bob@client.example", "ivy@partner.example"):
        cancellation = (await wait_for_mails(mailbox, guest, 2))[1]
        calendar = calendar_of(cancellation)
        event = calendar.walk("VEVENT")[0]
        assert str(calendar["METHOD"]) == "CANCEL"
        assert str(event["STATUS"]) == "CANCELLED"
        assert int(event["SEQUENCE"]) == 1
        assert str(event["ATTENDEE"]) == f"mailto:{guest}"
        assert (
            "Sorry, the client postponed."
            in cancellation.message.get_body(("plain",)).get_content()
        )
    for member in (ANA, BEN):
        await eventually(lambda m=member: len(slack.messages(slack.dm_channel(m))) == 2)
        assert "answer_" not in texts(dm_of(slack, member))
        assert "client postponed" in texts(slack.messages(slack.dm_channel(member))[1])
    await eventually(lambda: "Cancelled" in texts(summary(slack)))
    assert "edit_meeting" not in texts(summary(slack))

    link = answer_link(mailbox.to("bob@client.example")[0])
    status, page = await fetch("POST", link, {"answer": "accepted"})
    assert status == 409
    assert "cancelled" in page
    assert "You accepted" not in page
    # "Add to my calendar" after the cancel takes it out of the calendar, never brings it back.
    status, ics = await fetch("GET", link + "/invite.ics")
    assert status == 200 and "METHOD:CANCEL" in ics and "STATUS:CANCELLED" in ics


async def test_only_the_organizer_can_edit_or_cancel_whatever_the_payload_says(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await invite_everyone(sender, slack, mailbox)
    organizer_form = await open_form_from(sender, slack, ORGANIZER, summary(slack), "edit_meeting")
    opened = len(slack.calls_to("views.open"))

    await sender.click(BEN, summary(slack), slack.dm_channel(BEN), "edit_meeting")
    reply = await slack.wait_for_response_url()
    assert "Only the organizer" in reply["text"]
    assert len(slack.calls_to("views.open")) == opened

    forged = await sender.submit_view(BEN, organizer_form, title="Hijacked")
    assert "Only the organizer" in forged.json()["errors"]["title"]

    cancel_form = await open_form_from(sender, slack, ORGANIZER, summary(slack), "cancel_meeting")
    await sender.submit_view(BEN, cancel_form, message="gotcha")
    await slack.wait_for(
        "chat.postMessage", lambda c: "Only the organizer" in c.args.get("text", "")
    )
    assert len(mailbox.received) == 2
    assert "Hijacked" not in texts(summary(slack)) and "Cancelled" not in texts(summary(slack))


async def test_the_later_of_two_racing_edits_is_told_the_meeting_changed(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await invite_everyone(sender, slack, mailbox)
    first = await open_form_from(sender, slack, ORGANIZER, summary(slack), "edit_meeting")
    second = await open_form_from(sender, slack, ORGANIZER, summary(slack), "edit_meeting")

    assert (await sender.submit_view(ORGANIZER, first, title="Design review (moved)")).json() == {}
    late = await sender.submit_view(ORGANIZER, second, location="Room 9")

    assert "changed in the meantime" in late.json()["errors"]["title"]
    await eventually(lambda: "Design review (moved)" in texts(summary(slack)))
    assert "Room 9" not in texts(summary(slack))
