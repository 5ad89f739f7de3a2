"""/meet from the organizer's side: the form, its checks, and what everyone receives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

from bot.app import Meetbot
from tests.conftest import ANA, BEN, ORGANIZER
from tests.fakes.slack_api import FakeSlack
from tests.support.flows import in_days, open_create_form, send_invitations
from tests.support.mailbox import Mailbox, calendar_part
from tests.support.signed import SlackSender

INPUT_BLOCKS = [
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
    "files",
    "reminder",
    "remind_guests",
    "notify",
]


async def test_meet_opens_the_create_form_starting_at_the_next_half_hour(
    sender: SlackSender, slack: FakeSlack
) -> None:
    view = await open_create_form(sender, slack, ORGANIZER)

    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == INPUT_BLOCKS
    elements = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert elements["members"]["type"] == "multi_users_select"
    assert elements["start"]["type"] == elements["end"]["type"] == "datetimepicker"
    start = datetime.fromtimestamp(
        elements["start"]["initial_date_time"], ZoneInfo("Europe/Warsaw")
    )
    end = datetime.fromtimestamp(elements["end"]["initial_date_time"], ZoneInfo("Europe/Warsaw"))
    now = datetime.now(UTC)
    assert now < start <= now + timedelta(minutes=30)
    assert start.minute in (0, 30) and start.second == 0
    assert end - start == timedelta(minutes=30)
    notify_option = elements["notify"]["options"][0]["text"]["text"]
    assert notify_option == "Notify me when someone accepts or declines"
    assert elements["files"]["type"] == "file_input" and elements["files"]["max_files"] == 10
    assert elements["reminder"]["initial_option"]["value"] == "15"


async def test_meet_text_becomes_the_title(sender: SlackSender, slack: FakeSlack) -> None:
    view = await open_create_form(sender, slack, ORGANIZER, "Quarterly   planning")

    title = next(b for b in view["blocks"] if b["block_id"] == "title")
    assert title["element"]["initial_value"] == "Quarterly planning"


async def test_each_problem_is_shown_beside_its_field(
    sender: SlackSender, slack: FakeSlack
) -> None:
    view = await open_create_form(sender, slack, ORGANIZER)
    past = datetime.now(UTC) - timedelta(days=1)

    answer = await sender.submit_view(
        ORGANIZER,
        view,
        title="   ",
        start=int(past.timestamp()),
        end=int((past - timedelta(hours=1)).timestamp()),
        guests="bob@client.example, not-an-address",
    )

    errors = answer.json()
    assert errors["response_action"] == "errors"
    assert set(errors["errors"]) == {"title", "start", "end", "guests"}
    assert "not-an-address" in errors["errors"]["guests"]
    assert "past" in errors["errors"]["start"] or "passed" in errors["errors"]["start"]
    assert slack.calls_to("chat.postMessage") == []


async def test_a_title_too_long_and_too_many_guests_are_refused(
    sender: SlackSender, slack: FakeSlack
) -> None:
    view = await open_create_form(sender, slack, ORGANIZER)
    start = in_days(1)

    answer = await sender.submit_view(
        ORGANIZER,
        view,
        title="x" * 151,
        start=int(start.timestamp()),
        end=int((start + timedelta(hours=1)).timestamp()),
        guests="\n".join(f"guest{n}@client.example" for n in range(1001)),
    )

    errors = answer.json()["errors"]
    assert "150" in errors["title"]
    assert "1001" in errors["guests"]


async def test_members_get_a_dm_with_buttons_and_guests_a_calendar_invitation(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    start = in_days(3, hour=13)
    answer = await send_invitations(
        sender,
        slack,
        ORGANIZER,
        start=start,
        members=[ANA, BEN, ORGANIZER],
        guests="Bob Client <bob@client.example>\nivy@partner.example, BOB@client.example",
    )
    # The organizer's first guests: the mailbox notice was pushed, confirmed, and all closed.
    assert answer == {"response_action": "clear"}

    for member in (ANA, BEN):
        await slack.wait_for(
            "chat.postMessage", lambda c, m=member: c.args["channel"] == slack.dm_channel(m)
        )
        dm = slack.messages(slack.dm_channel(member))[0]
        buttons = [
            e["text"]["text"] for b in dm["blocks"] if b["type"] == "actions" for e in b["elements"]
        ]
        # The place holds a video link (https://meet.example/abc): members can join from here.
        assert buttons == ["Join the video call", "Accept", "Maybe", "Decline"]
        body = " ".join(b["text"]["text"] for b in dm["blocks"] if b["type"] == "section")
        assert f"<!date^{int(start.timestamp())}^" in body
        assert "Design review" in body and "Room 4" in body

    mails = await mailbox.wait_for(2)
    assert sorted(r for m in mails for r in m.recipients) == [
        "bob@client.example",
        "ivy@partner.example",
    ]
    bob = mailbox.to("bob@client.example")[0].message
    sender_address = bob["From"].addresses[0]
    assert sender_address.display_name == "Olga Organizer via Meet"
    assert sender_address.addr_spec == "invites@meetbot.example"
    assert bob["Reply-To"].addresses[0].addr_spec == "olga@acme.example"
    assert bob["To"] == "Bob Client <bob@client.example>"
    part = calendar_part(bob)
    assert part.get_param("method") == "REQUEST"
    calendar = icalendar.Calendar.from_ical(part.get_content())
    assert str(calendar["METHOD"]) == "REQUEST"
    event = calendar.walk("VEVENT")[0]
    assert event["UID"].endswith("@meetbot")
    assert int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == start
    assert event["DTSTART"].params["TZID"] == "Europe/Warsaw"
    assert calendar.walk("VTIMEZONE")[0]["TZID"] == "Europe/Warsaw"
    assert "DTSTAMP" in event
    assert str(event["ORGANIZER"]) == "mailto:invites@meetbot.example"
    assert event["ORGANIZER"].params["CN"] == "Olga Organizer"
    attendee = event["ATTENDEE"]
    assert str(attendee) == "mailto:bob@client.example"
    assert attendee.params["RSVP"] == "TRUE" and attendee.params["PARTSTAT"] == "NEEDS-ACTION"
    attachments = [p.get_filename() for p in bob.iter_attachments()]
    assert "invite.ics" in attachments
    text = bob.get_body(("plain",)).get_content()
    html = bob.get_body(("html",)).get_content()
    for body in (text, html):
        assert "Design review" in body
        assert "Central European" in body  # the organizer's zone, named by Babel
        assert "Room 4" in body
        assert "Olga Organizer" in body
        assert "Walk through the new onboarding." in body
        assert f"{meetbot.settings.base_url}/rsvp/" in body

    await slack.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] == slack.dm_channel(ORGANIZER)
    )
    summary = slack.messages(slack.dm_channel(ORGANIZER))[0]
    summary_text = str(summary["blocks"])
    assert f"<@{ANA}>" in summary_text and f"<@{BEN}>" in summary_text
    assert "Bob Client &lt;bob@client.example&gt;" in summary_text
    assert "4 no answer yet" in summary_text
    assert f"<@{ORGANIZER}> —" not in summary_text


async def test_titles_cannot_inject_mail_headers_or_slack_mentions(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox
) -> None:
    await send_invitations(
        sender,
        slack,
        ORGANIZER,
        title="Hi <!channel> <https://evil.example|click>",
        members=[ANA],
        guests="bob@client.example",
    )

    mail = (await mailbox.wait_for(1))[0]
    assert mail.recipients == ("bob@client.example",)
    await slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == slack.dm_channel(ANA))
    dm_text = str(slack.messages(slack.dm_channel(ANA))[0]["blocks"])
    assert "<!channel>" not in dm_text
    assert "&lt;!channel&gt;" in dm_text


async def test_hundreds_of_guests_each_get_one_invitation_and_the_summary_fits_slack(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    guests = [f"Guest {n} <guest{n}@client{n % 7}.example>" for n in range(600)]

    answer = await send_invitations(
        sender, slack, ORGANIZER, members=[ANA], guests="\n".join(guests)
    )
    assert answer == {"response_action": "clear"}

    mails = await mailbox.wait_for(600, timeout=120)
    recipients = [r for m in mails for r in m.recipients]
    assert len(recipients) == len(set(recipients)) == 600
    await slack.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] == slack.dm_channel(ORGANIZER)
    )
    summary = str(slack.messages(slack.dm_channel(ORGANIZER))[0]["blocks"])
    assert "Guests (600)" in summary
    assert "…and 540 more" in summary
    assert slack.rejected() == []


async def test_an_expired_trigger_gets_a_polite_retry_message(
    sender: SlackSender, slack: FakeSlack
) -> None:
    slack.trigger_lifetime = 0.0

    response = await sender.command(ORGANIZER)

    assert response.status == 200
    reply = await slack.wait_for_response_url()
    assert reply["response_type"] == "ephemeral"
    assert "type /meet again" in reply["text"]


async def test_free_text_fills_the_form_in_the_organizers_time_zone(
    sender: SlackSender, slack: FakeSlack
) -> None:
    text = f"Design review tomorrow 3pm for 45m with <@{ANA}|ana> bob@client.com in Room 4"

    view = await open_create_form(sender, slack, ORGANIZER, text)

    by_id = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert by_id["title"]["initial_value"] == "Design review"
    warsaw = ZoneInfo("Europe/Warsaw")  # the organizer's zone, from users.info
    start = datetime.fromtimestamp(by_id["start"]["initial_date_time"], warsaw)
    end = datetime.fromtimestamp(by_id["end"]["initial_date_time"], warsaw)
    assert (start.date() - datetime.now(warsaw).date()).days == 1
    assert (start.hour, start.minute) == (15, 0)
    assert end - start == timedelta(minutes=45)
    assert by_id["members"]["initial_users"] == [ANA]
    assert by_id["guests"]["initial_value"] == "bob@client.com"
    assert by_id["location"]["initial_value"] == "Room 4"
    assert slack.calls_to("chat.postMessage") == []  # nothing is created until submitted


async def test_polish_free_text_fills_the_form(sender: SlackSender, slack: FakeSlack) -> None:
    view = await open_create_form(
        sender, slack, ORGANIZER, "Przegląd projektu jutro o 9:30 przez 30 minut"
    )

    by_id = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert by_id["title"]["initial_value"] == "Przegląd projektu"
    warsaw = ZoneInfo("Europe/Warsaw")
    start = datetime.fromtimestamp(by_id["start"]["initial_date_time"], warsaw)
    end = datetime.fromtimestamp(by_id["end"]["initial_date_time"], warsaw)
    assert (start.hour, start.minute) == (9, 30) and end - start == timedelta(minutes=30)
