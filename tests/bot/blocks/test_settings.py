"""Personal settings: the Home tab's summary, the form, the mailbox question, reading them back."""

from __future__ import annotations

import json
from datetime import time
from typing import Any

import pytest

from bot.blocks.kit import View
from bot.blocks.settings import (
    MAILBOX_CALLBACK,
    SETTINGS_ACTION,
    SETTINGS_CALLBACK,
    mailbox_question,
    read_settings,
    settings_modal,
    settings_section,
)
from bot.i18n import Language
from bot.mailboxes import Mailbox, Mailboxes
from bot.personal import PersonalSettings, WorkingHours
from tests.bot.blocks.meetings import HOSTILE, HOSTILE_SHOWN
from tests.bot.blocks.slack_rules import (
    addressed_actions,
    foreign_markup,
    mrkdwn_texts,
    refuse_unless_every_action_is_told_apart,
    refuse_unless_slack_accepts_view,
)
from tests.support.signed import state_values

ONE = Mailboxes([Mailbox("Invitations", "invites@acme.example")])
SEVERAL = Mailboxes(
    [
        Mailbox("Invitations", "invites@acme.example"),
        Mailbox("Sales team, for customers who already know us", "sales@acme.example"),
    ]
)
CHOSEN = PersonalSettings(
    reminder_minutes=30,
    notify_on_decision=True,
    working_hours=WorkingHours(time(8, 30), time(16, 0), frozenset({0, 1, 2, 3})),
    guest_language="pl",
    mailbox="sales@acme.example",
)


def submitted(view: View, **typed: Any) -> dict[str, Any]:
    """Return the view as Slack sends it back on submit, with what the person changed."""
    return {**view, "state": {"values": state_values(view, **typed)}}


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("mailboxes", [ONE, SEVERAL], ids=["one mailbox", "several mailboxes"])
def test_the_settings_summary_fits_a_home_tab_slack_accepts(
    language: Language, mailboxes: Mailboxes
) -> None:
    section = settings_section(CHOSEN, mailboxes, HOSTILE, language=language)

    refuse_unless_slack_accepts_view({"type": "home", "blocks": [section]}, "home")
    assert addressed_actions([section]) == [("settings", SETTINGS_ACTION)]
    assert foreign_markup([section]) == []
    assert HOSTILE_SHOWN in section["text"]["text"]


@pytest.mark.parametrize(
    ("language", "settings", "lines"),
    [
        (
            Language.EN,
            PersonalSettings(),
            [
                "*Your settings*",
                "Reminder for new meetings: 15 minutes before",
                "Notify me on decisions: no",
                "Working hours: Mon–Fri 09:00–18:00",
                "Guests' e-mails and pages in: the same as my Slack",
                "Guests see invitations from: Olga via Meet &lt;invites@acme.example&gt;",
            ],
        ),
        (
            Language.EN,
            PersonalSettings(None, True, WorkingHours(time(8, 30), time(16), frozenset({0, 2, 4}))),
            [
                "*Your settings*",
                "Reminder for new meetings: no reminder",
                "Notify me on decisions: yes",
                "Working hours: Mon, Wed, Fri 08:30–16:00",
                "Guests' e-mails and pages in: the same as my Slack",
                "Guests see invitations from: Olga via Meet &lt;invites@acme.example&gt;",
            ],
        ),
        (
            Language.PL,
            CHOSEN,
            [
                "*Twoje ustawienia*",
                "Przypomnienie dla nowych spotkań: 30 minut przed",
                "Powiadamiaj mnie o decyzjach: tak",
                "Godziny pracy: pon.–czw. 08:30–16:00",
                "Język e-maili i stron dla gości: Polski",
                "Goście widzą zaproszenia od: Olga via Meet &lt;sales@acme.example&gt;",
            ],
        ),
    ],
)
def test_the_settings_summary_reads_as_a_person_would_say_it(
    language: Language, settings: PersonalSettings, lines: list[str]
) -> None:
    section = settings_section(settings, SEVERAL, "Olga", language=language)

    assert section["text"]["text"].splitlines() == lines


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("mailboxes", [ONE, SEVERAL], ids=["one mailbox", "several mailboxes"])
@pytest.mark.parametrize(
    "settings",
    [
        PersonalSettings(),
        CHOSEN,
        PersonalSettings(working_hours=WorkingHours(days=frozenset()), mailbox="gone@acme.example"),
    ],
    ids=["defaults", "chosen", "no working days and a mailbox since removed"],
)
def test_the_settings_form_is_a_modal_slack_accepts(
    language: Language, mailboxes: Mailboxes, settings: PersonalSettings
) -> None:
    view = settings_modal(settings, mailboxes, HOSTILE, HOSTILE, language=language)

    refuse_unless_slack_accepts_view(view, "modal")
    refuse_unless_every_action_is_told_apart(view["blocks"])
    assert view["callback_id"] == SETTINGS_CALLBACK
    assert foreign_markup(view["blocks"]) == []


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("mailboxes", [ONE, SEVERAL], ids=["one mailbox", "several mailboxes"])
def test_the_settings_form_submitted_as_shown_saves_nothing_new(
    language: Language, mailboxes: Mailboxes
) -> None:
    view = settings_modal(CHOSEN, mailboxes, "Olga", "olga@acme.example", language=language)

    assert read_settings(submitted(view), CHOSEN) == CHOSEN


def test_the_settings_form_keeps_the_mailbox_it_does_not_show() -> None:
    # One mailbox: nothing to choose, so no mailbox input; the one confirmed before stays.
    before = PersonalSettings(mailbox="old-invites@acme.example")
    view = settings_modal(before, ONE, "Olga", None)

    assert all(b.get("block_id") != "mailbox" for b in view["blocks"])
    assert read_settings(submitted(view, reminder="60"), before) == PersonalSettings(
        reminder_minutes=60, mailbox="old-invites@acme.example"
    )


def test_what_a_person_changes_in_the_settings_form_is_what_is_saved() -> None:
    view = settings_modal(CHOSEN, SEVERAL, "Olga", None)

    saved = read_settings(
        submitted(
            view,
            reminder="none",
            notify=[],
            work_start="07:00",
            work_end="15:00",
            work_days=["5", "6"],
            guest_language="auto",
            mailbox="invites@acme.example",
        ),
        CHOSEN,
    )

    assert saved == PersonalSettings(
        reminder_minutes=None,
        notify_on_decision=False,
        working_hours=WorkingHours(time(7, 0), time(15, 0), frozenset({5, 6})),
        guest_language=None,
        mailbox="invites@acme.example",
    )


@pytest.mark.parametrize("sent", [None, "", "25:00", "noon"])
def test_a_working_hour_slack_did_not_send_as_a_time_keeps_the_one_before(
    sent: str | None,
) -> None:
    view = submitted(settings_modal(CHOSEN, SEVERAL, "Olga", None))
    view["state"]["values"]["work_start"]["value"]["selected_time"] = sent

    saved = read_settings(view, CHOSEN)

    assert saved.working_hours.start == CHOSEN.working_hours.start


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("mailboxes", [ONE, SEVERAL], ids=["one mailbox", "several mailboxes"])
@pytest.mark.parametrize("guests", [1, 2, 5, 300])
def test_the_mailbox_question_is_a_modal_slack_accepts(
    language: Language, mailboxes: Mailboxes, guests: int
) -> None:
    view = mailbox_question(mailboxes, HOSTILE, HOSTILE, 17, guests, language=language)

    refuse_unless_slack_accepts_view(view, "modal")
    refuse_unless_every_action_is_told_apart(view["blocks"])
    assert view["callback_id"] == MAILBOX_CALLBACK
    assert json.loads(view["private_metadata"]) == {"held_form": 17}
    assert foreign_markup(view["blocks"]) == []
    assert any(str(guests) in text for text in mrkdwn_texts(view["blocks"]))


def test_the_mailbox_question_offers_every_mailbox_as_guests_will_see_it() -> None:
    view = mailbox_question(SEVERAL, "Olga", "olga@acme.example", 17, 2)

    choice = next(b for b in view["blocks"] if b.get("block_id") == "mailbox")["element"]
    assert [o["value"] for o in choice["options"]] == ["invites@acme.example", "sales@acme.example"]
    assert choice["options"][1]["text"]["text"] == "Olga via Meet <sales@acme.example>"
    assert choice["initial_option"] == choice["options"][0]
    assert "Guests' replies go to olga@acme.example." in str(view["blocks"])


def test_the_single_mailbox_is_shown_without_a_choice() -> None:
    view = mailbox_question(ONE, "Olga", None, 17, 1)

    assert addressed_actions(view["blocks"]) == []
    assert "*Olga via Meet &lt;invites@acme.example&gt;*" in view["blocks"][0]["text"]["text"]
    assert "1 guest will see it come from" in view["blocks"][0]["text"]["text"]


ELEVEN = Mailboxes([Mailbox(f"Team {n}", f"team{n}@acme.example") for n in range(11)])


@pytest.mark.parametrize("form", ["settings", "question"])
def test_eleven_mailboxes_are_still_offered_in_a_form_slack_accepts(form: str) -> None:
    if form == "settings":
        view = settings_modal(PersonalSettings(), ELEVEN, "Olga", None)
    else:
        view = mailbox_question(ELEVEN, "Olga", None, 17, 2)

    refuse_unless_slack_accepts_view(view, "modal")
