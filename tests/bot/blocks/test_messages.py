"""Meeting messages: Slack accepts each one, typed text cannot act as markup, buttons come back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.blocks.kit import LINE_PART_LIMIT, MESSAGE_BLOCK_LIMIT, SECTION_TEXT_LIMIT, Message
from bot.blocks.ledger import GUESTS_ACTION
from bot.blocks.meeting_form import edited_meeting, read_text
from bot.blocks.messages import (
    ANSWER_ACTIONS,
    CANCEL_ACTION,
    CANCEL_CALLBACK,
    EDIT_ACTION,
    cancel_modal,
    help_message,
    member_invitation,
    member_notice,
    member_reminder,
    organizer_summary,
    parse_answer_value,
)
from bot.blocks.notices import (
    COUNTER_ACCEPT_ACTION,
    COUNTER_DECLINE_ACTION,
    answer_to_confirm,
    bounce_notice,
    counter_notice,
    counter_settled,
    decision_notice,
    feed_failure_notice,
    held_answer_settled,
)
from bot.i18n import Language
from bot.meetings.model import (
    Answer,
    Change,
    ChangedField,
    HeldAnswer,
    HeldReason,
    Meeting,
    Proposal,
    time_change_text,
)
from tests.bot.blocks.meetings import HOSTILE, HOSTILE_SHOWN, START, guest, meeting, member
from tests.bot.blocks.slack_rules import (
    addressed_actions,
    foreign_markup,
    load_payload,
    mrkdwn_texts,
    refuse_unless_every_action_is_told_apart,
    refuse_unless_slack_accepts_message,
    refuse_unless_slack_accepts_view,
)
from tests.support.signed import state_values

FILES_BASE = "https://meetbot.example/files/"
FILE_LINKS = [(f"{HOSTILE}.pdf", f"{FILES_BASE}k7")]


def hostile_meeting(status: str = "confirmed") -> Meeting:
    """Return a meeting whose every typed text tries to mention everyone and fake a link."""
    return meeting(
        member(1, Answer.ACCEPTED, HOSTILE),
        member(2, Answer.DECLINED),
        guest(1, HOSTILE, Answer.TENTATIVE, HOSTILE, delivery_error=HOSTILE),
        guest(2),
        title=HOSTILE,
        location=HOSTILE,
        description=f"{HOSTILE}\n{HOSTILE}",
        cancel_message=HOSTILE,
        status=status,
    )


PROPOSAL = Proposal(
    9, 42, 1001, START + timedelta(days=1), START + timedelta(days=1, hours=1), HOSTILE, "pending"
)
CHANGES = [
    Change(
        ChangedField.TIME,
        time_change_text(START, START + timedelta(hours=1)),
        time_change_text(START + timedelta(hours=2), START + timedelta(hours=3)),
    ),
    Change(ChangedField.TITLE, "Design review", HOSTILE),
    Change(ChangedField.PLACE, "", HOSTILE),
    Change(ChangedField.DESCRIPTION, "old", HOSTILE),
]
HELD = HeldAnswer(
    id=7,
    meeting_id=42,
    attendee_id=1001,
    reason=HeldReason.OTHER_SENDER,
    sender=f"{HOSTILE}@evil.example",
    address="guest1@client.example",
    name=HOSTILE,
    method="REPLY",
    partstat="DECLINED",
    comment=HOSTILE,
    proposed_start=None,
    proposed_end=None,
    status="pending",
)
HELD_COUNTER = replace(
    HELD,
    reason=HeldReason.NOT_INVITED,
    attendee_id=None,
    address="carol" * 20 + "@partner.example",
    method="COUNTER",
    proposed_start=START + timedelta(days=2),
)
Builder = Callable[[Language], Message]
# Every message Meetbot posts, built from the hostile meeting; True where typed text shows.
MESSAGES: dict[str, tuple[Builder, bool]] = {
    "organizer summary": (
        lambda lang: organizer_summary(hostile_meeting(), FILE_LINKS, language=lang),
        True,
    ),
    "cancelled summary": (
        lambda lang: organizer_summary(hostile_meeting(status="cancelled"), language=lang),
        False,
    ),
    "member invitation": (
        lambda lang: member_invitation(
            hostile_meeting(), member(1, Answer.ACCEPTED), FILE_LINKS, language=lang
        ),
        True,
    ),
    "cancelled invitation": (
        lambda lang: member_invitation(
            hostile_meeting(status="cancelled"), member(1), language=lang
        ),
        True,
    ),
    "removed invitation": (
        lambda lang: member_invitation(hostile_meeting(), member(1, removed=True), language=lang),
        True,
    ),
    "cancellation notice": (
        lambda lang: member_notice(
            hostile_meeting(status="cancelled"), "cancelled", [], False, language=lang
        ),
        True,
    ),
    "removal notice": (
        lambda lang: member_notice(hostile_meeting(), "removed", [], False, language=lang),
        True,
    ),
    "change notice": (
        lambda lang: member_notice(hostile_meeting(), "changed", CHANGES, True, language=lang),
        True,
    ),
    "reminder": (lambda lang: member_reminder(hostile_meeting(), language=lang), True),
    "guest's decision": (
        lambda lang: decision_notice(
            hostile_meeting(),
            guest(1, HOSTILE),
            Answer.DECLINED,
            HOSTILE,
            stale=True,
            language=lang,
        ),
        True,
    ),
    "member's decision": (
        lambda lang: decision_notice(
            hostile_meeting(), member(1), Answer.TENTATIVE, "", language=lang
        ),
        True,
    ),
    "counter-proposal": (
        lambda lang: counter_notice(hostile_meeting(), guest(1, HOSTILE), PROPOSAL, language=lang),
        True,
    ),
    "counter accepted": (
        lambda lang: counter_settled(
            hostile_meeting(),
            guest(1, HOSTILE),
            replace(PROPOSAL, status="accepted"),
            language=lang,
        ),
        True,
    ),
    "counter declined": (
        lambda lang: counter_settled(
            hostile_meeting(),
            guest(1, HOSTILE),
            replace(PROPOSAL, status="declined"),
            language=lang,
        ),
        True,
    ),
    "guest bounce": (
        lambda lang: bounce_notice(hostile_meeting(), guest(1, HOSTILE), HOSTILE, language=lang),
        True,
    ),
    "member bounce": (
        lambda lang: bounce_notice(hostile_meeting(), member(1), HOSTILE, language=lang),
        True,
    ),
    "calendar failure": (lambda lang: feed_failure_notice(HOSTILE, language=lang), True),
    "answer to confirm": (
        lambda lang: answer_to_confirm(hostile_meeting(), HELD, language=lang),
        True,
    ),
    "unverified answer to confirm": (
        lambda lang: answer_to_confirm(
            hostile_meeting(), replace(HELD, reason=HeldReason.UNVERIFIED), language=lang
        ),
        True,
    ),
    "forwarded proposal to confirm": (
        lambda lang: answer_to_confirm(hostile_meeting(), HELD_COUNTER, language=lang),
        True,
    ),
    "answer recorded": (
        lambda lang: held_answer_settled(
            hostile_meeting(), replace(HELD, status="recorded"), language=lang
        ),
        False,  # only words from mail, defanged: see the test below
    ),
    "guest added": (
        lambda lang: held_answer_settled(
            hostile_meeting(), replace(HELD_COUNTER, status="added"), language=lang
        ),
        True,
    ),
    "answer ignored": (
        lambda lang: held_answer_settled(
            hostile_meeting(), replace(HELD, status="ignored"), language=lang
        ),
        False,
    ),
    "help": (lambda lang: help_message(language=lang), False),
}


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("name", list(MESSAGES))
def test_every_message_is_one_slack_accepts(name: str, language: Language) -> None:
    build, _ = MESSAGES[name]

    text, blocks = build(language)

    refuse_unless_slack_accepts_message((text, blocks))
    refuse_unless_every_action_is_told_apart(blocks)


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("name", list(MESSAGES))
def test_typed_text_in_every_message_is_shown_but_cannot_mention_or_link(
    name: str, language: Language
) -> None:
    build, shows_typed_text = MESSAGES[name]

    _, blocks = build(language)

    assert foreign_markup(blocks, allowed_links=(FILES_BASE,)) == []
    if shows_typed_text:
        assert any(HOSTILE_SHOWN in text for text in mrkdwn_texts(blocks))


# Words that came by mail, as the organizer must see them: no mention, no link.
MAIL_SHOWN = "&lt;!channel&gt; &amp; &lt;https[:]//evil.example|x&gt;"


@pytest.mark.parametrize(
    "name",
    [
        "guest's decision",
        "counter-proposal",
        "guest bounce",
        "answer to confirm",
        "answer recorded",
    ],
)
def test_words_that_came_by_mail_are_shown_with_their_links_broken(name: str) -> None:
    build, _ = MESSAGES[name]

    _, blocks = build(Language.EN)

    # (The meeting's title, typed by the organizer, is only escaped.)
    assert any(MAIL_SHOWN in shown for shown in mrkdwn_texts(blocks))


def test_an_answer_to_confirm_offers_what_fits_it() -> None:
    _, other = answer_to_confirm(hostile_meeting(), HELD)
    _, forwarded = answer_to_confirm(hostile_meeting(), HELD_COUNTER)

    assert [a for _, a in addressed_actions(other)] == [
        "held_answer_record",
        "held_answer_ignore",
    ]
    assert [a for _, a in addressed_actions(forwarded)] == ["held_answer_add", "held_answer_ignore"]


def crowd_of_guests() -> Meeting:
    """Return a meeting with 300 guests whose names and comments run on and on."""
    long_name = "Konstanty Ildefons Gałczyński-Wielkopolski " * 5
    guests = [
        guest(n, f"{long_name}{n}", list(Answer)[n % 4], "Sorry, I may be late " * 20)
        for n in range(300)
    ]
    return meeting(member(1), *guests, title="T" * 150, description="Line\n" * 3000)


@pytest.mark.parametrize(
    ("language", "heading", "more"),
    [
        (Language.EN, "*Guests (300)*", "…and 240 more"),
        (Language.PL, "*Goście (300)*", "…i jeszcze 240"),
    ],
)
def test_a_summary_of_300_guests_with_long_names_lists_60_and_says_how_many_more(
    language: Language, heading: str, more: str
) -> None:
    text, blocks = organizer_summary(crowd_of_guests(), language=language)

    refuse_unless_slack_accepts_message((text, blocks))
    assert len(blocks) <= MESSAGE_BLOCK_LIMIT
    shown = list(mrkdwn_texts(blocks))
    assert all(len(section) <= SECTION_TEXT_LIMIT for section in shown)
    listed = "\n".join(shown)
    assert heading in listed and more in listed
    lines = [line for line in listed.splitlines() if "Gałczyński" in line]
    assert len(lines) == 60
    # Name and comment are each cut to a line's part, whatever was typed.
    assert all(len(line) < 3 * LINE_PART_LIMIT for line in lines)
    # However long the list, the organizer can still edit, see the guests, or cancel.
    actions = [a for _, a in addressed_actions(blocks)]
    assert actions == [EDIT_ACTION, GUESTS_ACTION, CANCEL_ACTION]


def test_a_cancelled_meetings_summary_says_so_and_offers_nothing_to_press() -> None:
    _, blocks = organizer_summary(meeting(member(1), title="T" * 150, status="cancelled"))

    assert blocks[0]["text"]["text"].startswith("Cancelled: TTT")
    assert len(blocks[0]["text"]["text"]) <= 150
    assert addressed_actions(blocks) == []


def test_a_summary_with_nobody_invited_says_so() -> None:
    _, blocks = organizer_summary(meeting())

    assert "Nobody is invited yet." in str(blocks)


def test_the_recorded_accept_press_names_the_meeting_and_the_version_it_answers() -> None:
    press = load_payload("block_actions_accept.json")
    action = press["actions"][0]

    assert ANSWER_ACTIONS[action["action_id"]] is Answer.ACCEPTED
    assert parse_answer_value(action["value"]) == (42, 3)


def test_the_invitation_buttons_are_the_ones_slack_sends_back_when_pressed() -> None:
    press = load_payload("block_actions_accept.json")
    invited = meeting(member(1), member(2), sequence=3)

    _, blocks = member_invitation(invited, member(1))

    answer = next(b for b in blocks if b.get("block_id") == "answer")
    assert answer == press["message"]["blocks"][0]
    assert press["actions"][0]["block_id"] == answer["block_id"]


@pytest.mark.parametrize("value", ["", "x", "42:x", "42:3:1", ":3"])
def test_a_value_no_answer_button_carries_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="invalid literal"):
        parse_answer_value(value)


def test_an_answer_button_from_before_versions_answers_any_version() -> None:
    assert parse_answer_value("42:") == (42, None)


@pytest.mark.parametrize(
    ("answer", "style"),
    [(Answer.ACCEPTED, "primary"), (Answer.TENTATIVE, "primary"), (Answer.DECLINED, "danger")],
)
def test_a_members_own_answer_is_the_highlighted_button(answer: Answer, style: str) -> None:
    _, blocks = member_invitation(meeting(member(1, answer)), member(1, answer))

    buttons = next(b for b in blocks if b.get("block_id") == "answer")["elements"]
    styled = {b["action_id"]: b["style"] for b in buttons if "style" in b}
    assert styled == {f"answer_{answer.value}": style}


def test_a_member_who_has_not_answered_sees_plain_buttons_and_no_answer_line() -> None:
    _, blocks = member_invitation(meeting(member(1), member(2)), member(1))

    buttons = next(b for b in blocks if b.get("block_id") == "answer")["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Accept", "Maybe", "Decline"]
    assert all("style" not in b for b in buttons)
    assert "Your answer" not in str(blocks)
    assert "1 other person is invited." in str(blocks)


@pytest.mark.parametrize(
    "invited",
    [
        pytest.param(meeting(member(1), status="cancelled"), id="cancelled"),
        pytest.param(meeting(member(1, removed=True)), id="removed"),
    ],
)
def test_a_cancelled_or_withdrawn_invitation_is_struck_through_without_buttons(
    invited: Meeting,
) -> None:
    _, blocks = member_invitation(invited, invited.attendees[0])

    assert addressed_actions(blocks) == []
    assert blocks[0]["text"]["text"].startswith("~*Design review*~")


@pytest.mark.parametrize(
    ("language", "asked_again", "none"),
    [
        (Language.EN, "Please answer again above.", "_none_"),
        (Language.PL, "Odpowiedz ponownie powyżej.", "_brak_"),
    ],
)
def test_a_change_notice_lists_each_change_and_asks_to_answer_again(
    language: Language, asked_again: str, none: str
) -> None:
    _, blocks = member_notice(hostile_meeting(), "changed", CHANGES, True, language=language)

    said = blocks[0]["text"]["text"]
    assert said.count("\n• ") == len(CHANGES)
    assert said.count("<!date^") == 4  # the old and the new time, each in the reader's zone
    assert f"{none} → {HOSTILE_SHOWN}" in said
    assert asked_again in said


def test_a_decision_on_an_earlier_version_warns_the_organizer() -> None:
    invited = meeting(guest(1, "Ana Client"))

    _, stale = decision_notice(invited, invited.guests[0], Answer.ACCEPTED, "", stale=True)
    _, fresh = decision_notice(invited, invited.guests[0], Answer.ACCEPTED, "", stale=False)

    assert "Ana Client &lt;guest1@client.example&gt; accepted *Design review*" in str(fresh)
    assert "earlier version" in str(stale) and "earlier version" not in str(fresh)


def test_a_guests_proposal_offers_to_accept_or_keep_the_time_then_settles_without_buttons() -> None:
    proposer = guest(1, "Ana Client")
    invited = meeting(proposer)

    _, asked = counter_notice(invited, proposer, PROPOSAL)
    _, settled = counter_settled(invited, proposer, replace(PROPOSAL, status="accepted"))

    assert addressed_actions(asked) == [
        ("counter_9", COUNTER_ACCEPT_ACTION),
        ("counter_9", COUNTER_DECLINE_ACTION),
    ]
    assert {e["value"] for e in asked[1]["elements"]} == {"9"}
    assert addressed_actions(settled) == []
    assert "You accepted the time" in settled[0]["text"]["text"]


@pytest.mark.parametrize(
    ("language", "consequence"),
    [
        (Language.EN, "All 4 invited people will be told"),
        (Language.PL, "powiadomion"),
    ],
)
def test_the_cancel_confirmation_names_the_meeting_and_who_will_be_told(
    language: Language, consequence: str
) -> None:
    view = cancel_modal(hostile_meeting(), language=language)

    refuse_unless_slack_accepts_view(view, "modal")
    refuse_unless_every_action_is_told_apart(view["blocks"])
    assert foreign_markup(view["blocks"]) == []
    assert view["callback_id"] == CANCEL_CALLBACK
    assert HOSTILE_SHOWN in view["blocks"][0]["text"]["text"]
    assert consequence in view["blocks"][0]["text"]["text"]
    submitted = {**view, "state": {"values": state_values(view, message="Sorry, ill.")}}
    assert edited_meeting(submitted) == (42, 5)
    assert read_text(submitted, "message") == "Sorry, ill."
