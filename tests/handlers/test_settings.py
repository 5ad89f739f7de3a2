"""Personal settings on the App Home tab, the sending-mailbox question, the monthly guest cap."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from email.utils import parseaddr
from typing import Any

import icalendar
import pytest

from bot.app import Meetbot
from bot.config import SettingsError
from bot.settings_reading import load_settings
from tests.conftest import ANA, ORGANIZER, SIGNING_SECRET, TEAM_ID, make_settings
from tests.fakes.slack_api import FakeSlack
from tests.handlers.test_availability import (
    availability_text,
    next_weekday,
    open_form_record,
    updated_form,
)
from tests.handlers.test_home import home_of
from tests.support.flows import confirm_mailbox, in_days, open_create_form, send_invitations
from tests.support.mailbox import Mailbox
from tests.support.meetings import (
    answer_link,
    calendar_of,
    eventually,
    fetch,
    open_form_from,
    texts,
    wait_for_mails,
    wait_for_summary,
)
from tests.support.signed import SlackSender

TWO_MAILBOXES = [
    {"name": "Invitations", "address": "invites@acme.example"},
    {"name": "Partnerships", "address": "partners@acme.example"},
]


@pytest.fixture
async def shared_meetbot(
    database_url: str, slack: FakeSlack, mailbox: Mailbox, app_port: int
) -> AsyncIterator[Meetbot]:
    """Run the app with two sending mailboxes and a cap of three new guests a month."""
    app = Meetbot(
        make_settings(
            database_url,
            slack,
            mailbox,
            app_port,
            MEETBOT_MAILBOXES=TWO_MAILBOXES,
            MEETBOT_GUEST_INVITES_PER_MONTH=3,
        )
    )
    await app.start()
    yield app
    await app.stop()


@pytest.fixture
def shared_sender(shared_meetbot: Meetbot, slack: FakeSlack) -> SlackSender:
    """Return a sender of signed Slack requests to the two-mailbox app."""
    return SlackSender(shared_meetbot.settings.base_url, SIGNING_SECRET, slack, TEAM_ID)


async def submit_form(
    sender: SlackSender, slack: FakeSlack, title: str, guests: str, members: list[str] | None = None
) -> dict[str, Any]:
    """Open /meet, fill it in and press Send invitations; return the app's answer."""
    view = await open_create_form(sender, slack, ORGANIZER)
    start = in_days(2)
    response = await sender.submit_view(
        ORGANIZER,
        view,
        title=title,
        start=int(start.timestamp()),
        end=int((start + timedelta(hours=1)).timestamp()),
        guests=guests,
        members=members or [],
    )
    assert response.status == 200
    answer = response.json()
    assert isinstance(answer, dict)
    return answer


def radio_texts(view: dict[str, Any], block_id: str) -> list[str]:
    block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
    return [o["text"]["text"] for o in block["element"]["options"]]


async def open_settings(sender: SlackSender, slack: FakeSlack, user_id: str) -> dict[str, Any]:
    """Open the Home tab, press Change settings and return the settings form."""
    home = await home_of(sender, slack, user_id)
    before = len(slack.calls_to("views.open"))
    await sender.click_on_home(user_id, home, "open_settings")
    await eventually(lambda: len(slack.calls_to("views.open")) > before)
    view = slack.calls_to("views.open")[-1].args["view"]
    assert isinstance(view, dict)
    return view


async def test_first_guests_ask_which_mailbox_and_the_choice_is_remembered(
    shared_sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, shared_meetbot: Meetbot
) -> None:
    answer = await submit_form(shared_sender, slack, "Kick-off", "Bob Client <bob@client.example>")

    assert answer["response_action"] == "push"
    question = answer["view"]
    assert radio_texts(question, "mailbox") == [
        "Olga Organizer via Meet <invites@acme.example>",
        "Olga Organizer via Meet <partners@acme.example>",
    ]
    assert "olga@acme.example" in texts(question)  # where the guest's replies go
    assert mailbox.received == []  # nothing leaves before the organizer answers

    closed = await confirm_mailbox(shared_sender, ORGANIZER, answer, "partners@acme.example")
    assert closed == {"response_action": "clear"}
    [invitation] = await wait_for_mails(mailbox, "bob@client.example", 1)
    assert parseaddr(invitation.message["From"]) == (
        "Olga Organizer via Meet",
        "partners@acme.example",
    )
    assert parseaddr(invitation.message["Reply-To"])[1] == "olga@acme.example"
    # Bounces come back to the chosen mailbox, to this guest's own return path (VERP).
    assert re.fullmatch(r"partners\+b\d+-[0-9a-f]{20}@acme\.example", invitation.envelope_from)
    event = calendar_of(invitation).walk("VEVENT")[0]
    assert str(event["ORGANIZER"]) == "mailto:partners@acme.example"
    # The calendar file on the guest's page names the same organizer address.
    status, ics = await fetch("GET", answer_link(invitation) + "/invite.ics")
    assert status == 200
    downloaded = icalendar.Calendar.from_ical(ics).walk("VEVENT")[0]
    assert str(downloaded["ORGANIZER"]) == "mailto:partners@acme.example"

    # The next meeting with guests goes straight out from the remembered mailbox.
    again = await submit_form(shared_sender, slack, "Follow-up", "ivy@partner.example")
    assert again == {}
    [follow_up] = await wait_for_mails(mailbox, "ivy@partner.example", 1)
    assert parseaddr(follow_up.message["From"])[1] == "partners@acme.example"

    # Settings show the choice and can change it; later meetings follow.
    form = await open_settings(shared_sender, slack, ORGANIZER)
    chosen = next(b for b in form["blocks"] if b.get("block_id") == "mailbox")
    assert chosen["element"]["initial_option"]["value"] == "partners@acme.example"
    saved = await shared_sender.submit_view(ORGANIZER, form, mailbox="invites@acme.example")
    assert saved.json() == {}
    await eventually(
        lambda: "invites@acme.example" in texts(slack.calls_to("views.publish")[-1].args["view"])
    )
    third = await submit_form(shared_sender, slack, "Retro", "zoe@client.example")
    assert third == {}
    [retro] = await wait_for_mails(mailbox, "zoe@client.example", 1)
    assert parseaddr(retro.message["From"])[1] == "invites@acme.example"
    assert slack.rejected() == []


async def test_backing_out_of_the_mailbox_question_sends_nothing_and_asks_again(
    shared_sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, shared_meetbot: Meetbot
) -> None:
    first = await submit_form(shared_sender, slack, "Kick-off", "bob@client.example")
    assert first["response_action"] == "push"
    # The organizer presses Back: Slack shows the form again and tells the app nothing.

    second = await submit_form(shared_sender, slack, "Kick-off", "bob@client.example")
    assert second["response_action"] == "push"
    assert await confirm_mailbox(shared_sender, ORGANIZER, second) == {"response_action": "clear"}
    [invitation] = await wait_for_mails(mailbox, "bob@client.example", 1)
    assert parseaddr(invitation.message["From"])[1] == "invites@acme.example"
    await wait_for_summary(slack)
    assert [m for m in slack.messages(slack.dm_channel(ORGANIZER)) if "Kick-off" in texts(m)]
    assert len(mailbox.to("bob@client.example")) == 1


async def test_with_one_mailbox_the_organizer_is_shown_it_once(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    members_only = await submit_form(sender, slack, "Stand-up", "", members=[ANA])
    assert members_only == {}  # no guests, no mailbox to speak of

    answer = await submit_form(sender, slack, "Kick-off", "bob@client.example")
    assert answer["response_action"] == "push"
    notice = answer["view"]
    assert "Olga Organizer via Meet &lt;invites@meetbot.example&gt;" in texts(notice)
    assert "olga@acme.example" in texts(notice)
    assert not [b for b in notice["blocks"] if b["type"] == "input"]  # nothing to choose
    assert await confirm_mailbox(sender, ORGANIZER, answer) == {"response_action": "clear"}
    await wait_for_mails(mailbox, "bob@client.example", 1)

    assert await submit_form(sender, slack, "Follow-up", "ivy@partner.example") == {}
    await wait_for_mails(mailbox, "ivy@partner.example", 1)


async def test_settings_on_home_change_the_defaults_of_new_meetings(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    home = await home_of(sender, slack, ORGANIZER)
    assert "Reminder for new meetings: 15 minutes before" in texts(home)
    assert "Working hours: Mon–Fri 09:00–18:00" in texts(home)

    form = await open_settings(sender, slack, ORGANIZER)
    refused = await sender.submit_view(
        ORGANIZER, form, work_start="17:00", work_end="08:00", reminder="30"
    )
    assert refused.json() == {
        "response_action": "errors",
        "errors": {"work_end": "The working day has to end after it starts."},
    }
    no_days = await sender.submit_view(ORGANIZER, form, work_days=[])
    assert no_days.json()["errors"] == {"work_days": "Pick at least one working day."}

    saved = await sender.submit_view(
        ORGANIZER,
        form,
        reminder="30",
        notify=["notify"],
        work_start="08:00",
        work_end="16:30",
        work_days=["0", "1", "2", "3"],
        guest_language="pl",
    )
    assert saved.json() == {}
    await eventually(
        lambda: (
            "Working hours: Mon–Thu 08:00–16:30"
            in texts(slack.calls_to("views.publish")[-1].args["view"])
        )
    )
    home = slack.calls_to("views.publish")[-1].args["view"]
    assert "Reminder for new meetings: 30 minutes before" in texts(home)
    assert "Notify me on decisions: yes" in texts(home)
    assert "Guests' e-mails and pages in: Polski" in texts(home)

    meet_form = await open_create_form(sender, slack, ORGANIZER)
    blocks = {b.get("block_id"): b for b in meet_form["blocks"]}
    assert blocks["reminder"]["element"]["initial_option"]["value"] == "30"
    assert [o["value"] for o in blocks["notify"]["element"]["initial_options"]] == ["notify"]

    # Guests now read Polish, though the organizer's own Slack is in English.
    answer = await send_invitations(sender, slack, ORGANIZER, guests="bob@client.example")
    assert answer == {"response_action": "clear"}
    [invitation] = await wait_for_mails(mailbox, "bob@client.example", 1)
    assert str(invitation.message["Subject"]).startswith("Zaproszenie: Design review, ")
    her_summary = await wait_for_summary(slack)
    assert "Your meeting Design review: invitations sent" in texts(her_summary)
    assert "Zaproszenie" not in texts(her_summary)  # Slack stays in her own language

    reopened = await open_settings(sender, slack, ORGANIZER)
    fields = {b.get("block_id"): b["element"] for b in reopened["blocks"] if b["type"] == "input"}
    assert fields["work_start"]["initial_time"] == "08:00"
    assert fields["work_end"]["initial_time"] == "16:30"
    assert [o["value"] for o in fields["work_days"]["initial_options"]] == ["0", "1", "2", "3"]
    assert fields["guest_language"]["initial_option"]["value"] == "pl"
    assert slack.rejected() == []


async def test_a_members_own_working_hours_decide_when_they_are_outside_them(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    # 15:00 UTC on a weekday is 10:00 or 11:00 in New York: inside the usual 9-18.
    moment = next_weekday(15)
    await open_create_form(sender, slack, ORGANIZER)
    typed = {
        "title": "Partner call",
        "start": int(moment.timestamp()),
        "end": int((moment + timedelta(minutes=30)).timestamp()),
        "members": [ANA],
    }
    before = len(slack.calls_to("views.update"))
    await sender.change_in_view(ORGANIZER, open_form_record(slack), "members", **typed)
    assert "outside working hours" not in availability_text(await updated_form(slack, before))

    # Ana works 12:00-20:00 her time, so the same slot is now outside her hours.
    form = await open_settings(sender, slack, ANA)
    assert (await sender.submit_view(ANA, form, work_start="12:00", work_end="20:00")).json() == {}

    await open_create_form(sender, slack, ORGANIZER)
    before = len(slack.calls_to("views.update"))
    await sender.change_in_view(ORGANIZER, open_form_record(slack), "members", **typed)
    line = availability_text(await updated_form(slack, before))
    assert line.startswith(f":large_green_circle: <@{ANA}> is free")
    assert "outside working hours" in line


async def test_the_monthly_guest_cap_is_shown_in_the_form_and_updates_do_not_count(
    shared_sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, shared_meetbot: Meetbot
) -> None:
    first = await submit_form(
        shared_sender, slack, "Kick-off", "a@client.example, b@client.example"
    )
    await confirm_mailbox(shared_sender, ORGANIZER, first)
    await wait_for_mails(mailbox, "b@client.example", 1)

    over = await submit_form(shared_sender, slack, "Second", "c@client.example, d@client.example")
    assert over == {
        "response_action": "errors",
        "errors": {
            "guests": "Your workspace can invite 1 more guest this month; this would invite 2. "
            "Remove 1 to send the invitations."
        },
    }
    assert await submit_form(shared_sender, slack, "Second", "c@client.example") == {}
    await wait_for_mails(mailbox, "c@client.example", 1)

    # The cap is spent: new guests are refused in the form, members can still be invited.
    full = await submit_form(shared_sender, slack, "Third", "e@client.example")
    assert "used all its guest invitations for this month" in full["errors"]["guests"]
    assert await submit_form(shared_sender, slack, "Stand-up", "", members=[ANA]) == {}

    # Moving the first meeting updates both guests' calendars without counting again...
    kick_off = next(
        m for m in slack.messages(slack.dm_channel(ORGANIZER)) if "Kick-off" in texts(m)
    )
    edit = await open_form_from(shared_sender, slack, ORGANIZER, kick_off, "edit_meeting")
    later = in_days(3)
    moved = await shared_sender.submit_view(
        ORGANIZER,
        edit,
        start=int(later.timestamp()),
        end=int((later + timedelta(hours=1)).timestamp()),
    )
    assert moved.json() == {}
    await wait_for_mails(mailbox, "a@client.example", 2)
    await wait_for_mails(mailbox, "b@client.example", 2)
    # ...but adding a guest in an edit is a new invitation, and there is none left.
    edit = await open_form_from(shared_sender, slack, ORGANIZER, kick_off, "edit_meeting")
    added = await shared_sender.submit_view(
        ORGANIZER, edit, guests="a@client.example\nb@client.example\nf@client.example"
    )
    assert "used all its guest invitations" in added.json()["errors"]["guests"]
    assert mailbox.to("f@client.example") == []
    # Taking a guest off and back on is an update too: it needs no new place.
    edit = await open_form_from(shared_sender, slack, ORGANIZER, kick_off, "edit_meeting")
    assert (
        await shared_sender.submit_view(ORGANIZER, edit, guests="a@client.example")
    ).json() == {}
    await wait_for_mails(mailbox, "b@client.example", 3)  # b's cancellation
    edit = await open_form_from(shared_sender, slack, ORGANIZER, kick_off, "edit_meeting")
    back = await shared_sender.submit_view(
        ORGANIZER, edit, guests="a@client.example\nb@client.example"
    )
    assert back.json() == {}
    mails_to_b = await wait_for_mails(mailbox, "b@client.example", 4)
    assert str(mails_to_b[-1].message["Subject"]).startswith("Invitation: Kick-off")


def test_mailboxes_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv(
        "MEETBOT_MAILBOXES",
        '[{"name": "Invitations", "address": "invites@acme.example", '
        '"smtp_url": "smtps://mail.acme.example"}]',
    )
    settings = load_settings()
    assert [(b.name, b.address, b.smtp_url) for b in settings.mailboxes] == [
        ("Invitations", "invites@acme.example", "smtps://mail.acme.example")
    ]

    monkeypatch.setenv("MEETBOT_MAILBOXES", '[{"name": "Invitations", "address": "not mail"}]')
    with pytest.raises(SettingsError, match=r"^MEETBOT_MAILBOXES "):
        load_settings()


@pytest.fixture
async def named_mailbox_meetbot(
    database_url: str, slack: FakeSlack, mailbox: Mailbox, app_port: int
) -> AsyncIterator[Meetbot]:
    """Run the app with MEETBOT_MAIL_FROM written as most mail settings take it: with a name."""
    app = Meetbot(
        make_settings(
            database_url,
            slack,
            mailbox,
            app_port,
            MEETBOT_MAIL_FROM='"Acme Meetings" <invites@acme.example>',
        )
    )
    await app.start()
    yield app
    await app.stop()


async def test_the_name_in_mail_from_is_what_guests_see_after_the_organizers(
    named_mailbox_meetbot: Meetbot, slack: FakeSlack, mailbox: Mailbox
) -> None:
    sender = SlackSender(named_mailbox_meetbot.settings.base_url, SIGNING_SECRET, slack, TEAM_ID)

    answer = await submit_form(sender, slack, "Kick-off", "Bob Client <bob@client.example>")

    assert "Olga Organizer via Acme Meetings &lt;invites@acme.example&gt;" in texts(answer["view"])
    assert await confirm_mailbox(sender, ORGANIZER, answer) == {"response_action": "clear"}
    [invitation] = await wait_for_mails(mailbox, "bob@client.example", 1)
    assert parseaddr(invitation.message["From"]) == (
        "Olga Organizer via Acme Meetings",
        "invites@acme.example",
    )
    # Bounces come back to a return path of its own per guest (VERP), at the same mailbox.
    assert invitation.envelope_from.startswith("invites+b")
    assert invitation.envelope_from.endswith("@acme.example")


@pytest.mark.parametrize(
    ("written", "name", "address"),
    [
        ("invites@acme.example", None, "invites@acme.example"),
        ("Meet <invites@acme.example>", "Meet", "invites@acme.example"),
        ('"Acme, Inc." <invites@acme.example>', "Acme, Inc.", "invites@acme.example"),
    ],
)
def test_mail_from_takes_a_bare_address_or_one_with_a_name(
    written: str, name: str | None, address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("MEETBOT_MAIL_FROM", written)

    settings = load_settings()

    assert (settings.mail_from_name, settings.mail_from_address) == (name, address)
