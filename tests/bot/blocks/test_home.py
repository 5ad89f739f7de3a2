"""The Home tab, `/meet list` and the calendar form: within Slack's limits, in each language."""

from __future__ import annotations

import pytest

from bot.blocks.agenda import LIST_LIMIT, agenda_message
from bot.blocks.home import (
    CONNECT_FEED_ACTION,
    DISCONNECT_FEED_ACTION,
    FEED_CALLBACK,
    HOME_MAX_PER_GROUP,
    MORE_ACTION,
    feed_modal,
    home_view,
)
from bot.blocks.kit import MESSAGE_BLOCK_LIMIT, VIEW_BLOCK_LIMIT
from bot.blocks.meeting_form import read_text
from bot.blocks.settings import SETTINGS_ACTION, settings_section
from bot.i18n import Language
from bot.mailboxes import Mailbox, Mailboxes
from bot.meetings.model import Agenda, Answer, Meeting
from bot.personal import FeedStatus, PersonalSettings
from tests.bot.blocks.meetings import HOSTILE, HOSTILE_SHOWN, START, guest, meeting, member
from tests.bot.blocks.slack_rules import (
    addressed_actions,
    foreign_markup,
    refuse_unless_every_action_is_told_apart,
    refuse_unless_slack_accepts_message,
    refuse_unless_slack_accepts_view,
)
from tests.support.signed import state_values

MAILBOXES = Mailboxes(
    [Mailbox("Invitations", "invites@acme.example"), Mailbox("Sales", "sales@acme.example")]
)


def busy_agenda(count: int) -> Agenda:
    """Return as many meetings organized and invited to, each its own, titles typed to harm."""
    you = member(1, Answer.TENTATIVE)
    invitees = (you, guest(1, HOSTILE, delivery_error="Mailbox full"), guest(2))

    def one(meeting_id: int) -> Meeting:
        return meeting(*invitees, meeting_id=meeting_id, title=f"{HOSTILE} {meeting_id}")

    return Agenda(
        organizing=[one(n) for n in range(1, count + 1)],
        invited=[(one(n), you) for n in range(1001, 1001 + count)],
    )


@pytest.mark.parametrize("language", list(Language))
def test_the_fullest_home_tab_is_a_view_slack_accepts(language: Language) -> None:
    settings = settings_section(PersonalSettings(), MAILBOXES, "Olga", language=language)
    feed = FeedStatus(HOSTILE, START, HOSTILE)

    view = home_view(busy_agenda(40), HOME_MAX_PER_GROUP, feed, settings, language=language)

    refuse_unless_slack_accepts_view(view, "home")
    refuse_unless_every_action_is_told_apart(view["blocks"])
    assert len(view["blocks"]) <= VIEW_BLOCK_LIMIT
    assert foreign_markup(view["blocks"]) == []
    # Nothing was cut off to fit: the invited list's "more" line is the last block.
    assert "18" in str(view["blocks"][-1]) and view["blocks"][-1]["type"] == "context"


@pytest.mark.parametrize(
    ("language", "organizing", "invited"),
    [
        (Language.EN, "Organizing (3)", "Invited (3)"),
        (Language.PL, "Organizujesz (3)", "Zaproszenia (3)"),
    ],
)
def test_the_home_tab_lists_what_you_organize_and_what_you_are_invited_to(
    language: Language, organizing: str, invited: str
) -> None:
    view = home_view(busy_agenda(3), language=language)

    headers = [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]
    assert headers == [organizing, invited]
    actions = addressed_actions(view["blocks"])
    assert ("manage_1", "edit_meeting") in actions and ("manage_1", "cancel_meeting") in actions
    assert ("answer_1001", "answer_tentative") in actions
    assert HOSTILE_SHOWN in str(view["blocks"])


def test_an_organized_meeting_on_home_names_guests_who_could_not_be_reached() -> None:
    view = home_view(busy_agenda(1))

    shown = str(view["blocks"])
    assert "Could not deliver to guest1@client.example" in shown
    assert shown.count("Could not deliver") == 1  # only where you organize


def test_the_first_page_offers_more_and_the_fullest_page_does_not() -> None:
    first = home_view(busy_agenda(40), 10)
    fullest = home_view(busy_agenda(40), HOME_MAX_PER_GROUP)

    more = next(b for b in first["blocks"] if b.get("block_id") == "home_more")
    assert more["elements"][0]["action_id"] == MORE_ACTION
    assert more["elements"][0]["value"] == "20"
    assert all(b.get("block_id") != "home_more" for b in fullest["blocks"])


@pytest.mark.parametrize("page_size", [-5, 0, 1000])
def test_a_page_size_out_of_range_still_shows_a_home_tab_slack_accepts(page_size: int) -> None:
    view = home_view(busy_agenda(40), page_size)

    refuse_unless_slack_accepts_view(view, "home")
    assert any(b.get("block_id") == "manage_1" for b in view["blocks"])


@pytest.mark.parametrize(
    ("language", "nothing", "connect"),
    [
        (Language.EN, "Nothing coming up.", "Connect calendar"),
        (Language.PL, "Nic w najbliższym czasie.", "Połącz kalendarz"),
    ],
)
def test_an_empty_home_tab_says_nothing_is_coming_up_and_offers_the_calendar(
    language: Language, nothing: str, connect: str
) -> None:
    view = home_view(Agenda([], []), language=language)

    refuse_unless_slack_accepts_view(view, "home")
    assert str(view["blocks"]).count(nothing) == 2
    assert addressed_actions(view["blocks"]) == [("feed", CONNECT_FEED_ACTION)]
    assert connect in str(view["blocks"])
    assert "/meet" in view["blocks"][0]["text"]["text"]


@pytest.mark.parametrize(
    ("feed", "said"),
    [
        (
            FeedStatus("calendar.google.com", START, None),
            "connected (calendar.google.com), last read <!date^",
        ),
        (FeedStatus("calendar.google.com", None, None), "not read yet"),
        (FeedStatus(HOSTILE, None, HOSTILE), f":warning: {HOSTILE_SHOWN}"),
    ],
)
def test_a_connected_calendar_shows_how_it_was_last_read_and_can_be_changed_or_dropped(
    feed: FeedStatus, said: str
) -> None:
    view = home_view(Agenda([], []), feed=feed)

    refuse_unless_slack_accepts_view(view, "home")
    assert said in str(view["blocks"])
    assert foreign_markup(view["blocks"]) == []
    assert addressed_actions(view["blocks"]) == [
        ("feed", CONNECT_FEED_ACTION),
        ("feed", DISCONNECT_FEED_ACTION),
    ]


def test_the_home_tab_shows_the_settings_once_with_their_button() -> None:
    settings = settings_section(PersonalSettings(), MAILBOXES, "Olga")

    view = home_view(busy_agenda(2), settings=settings)

    assert [b.get("block_id") for b in view["blocks"]].count("settings") == 1
    assert ("settings", SETTINGS_ACTION) in addressed_actions(view["blocks"])


@pytest.mark.parametrize("language", list(Language))
def test_the_calendar_form_is_a_modal_slack_accepts_and_reads_the_pasted_address(
    language: Language,
) -> None:
    view = feed_modal(language=language)
    address = "https://calendar.google.com/calendar/ical/olga/private-abc/basic.ics"

    refuse_unless_slack_accepts_view(view, "modal")
    assert view["callback_id"] == FEED_CALLBACK
    submitted = {**view, "state": {"values": state_values(view, feed_url=address)}}
    assert read_text(submitted, "feed_url") == address


@pytest.mark.parametrize("language", list(Language))
def test_meet_list_of_a_busy_person_is_a_message_slack_accepts(language: Language) -> None:
    text, blocks = agenda_message(busy_agenda(40), language=language)

    refuse_unless_slack_accepts_message((text, blocks))
    refuse_unless_every_action_is_told_apart(blocks)
    assert len(blocks) <= MESSAGE_BLOCK_LIMIT
    assert foreign_markup(blocks) == []
    # The list's buttons are told apart from the same meeting's buttons on the Home tab.
    assert all(block_id.endswith("_list") for block_id, _ in addressed_actions(blocks))
    assert sum(b["type"] == "header" for b in blocks) == 2
    assert len([a for a in addressed_actions(blocks) if a[1] == "edit_meeting"]) == LIST_LIMIT


def test_meet_list_counts_what_is_coming_up() -> None:
    text, _ = agenda_message(busy_agenda(40))

    assert text == "You organize 40 upcoming meetings and are invited to 40."
