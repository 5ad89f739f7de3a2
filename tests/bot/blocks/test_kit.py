"""Block Kit's small parts: Slack's limits, escaping, times each reader sees in their own zone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.blocks.kit import (
    MESSAGE_BLOCK_LIMIT,
    SECTION_TEXT_LIMIT,
    VIEW_BLOCK_LIMIT,
    button,
    context,
    escape,
    more_text,
    mrkdwn,
    notice,
    reminder_label,
    shorten,
    slack_time,
    span,
    text_element,
)
from bot.i18n import Language, translator
from tests.bot.blocks.meetings import HOSTILE, HOSTILE_SHOWN, START
from tests.bot.blocks.slack_rules import (
    foreign_markup,
    refuse_unless_slack_accepts_message,
    refuse_unless_slack_accepts_view,
)
from tests.fakes import slack_api


def test_the_limits_builders_cut_to_are_the_ones_the_fake_slack_enforces() -> None:
    assert MESSAGE_BLOCK_LIMIT == slack_api.MESSAGE_MAX_BLOCKS == 50
    assert VIEW_BLOCK_LIMIT == slack_api.VIEW_MAX_BLOCKS == 100
    assert SECTION_TEXT_LIMIT == slack_api.SECTION_TEXT_MAX == 3000


@pytest.mark.parametrize(
    ("blocks", "why"),
    [
        ([context("x")] * 51, "51 blocks in a message"),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}], "long section"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}], "long header"),
        ([{"type": "actions", "elements": [button("Go", "go", "1")] * 2}], "same action twice"),
        ([{"type": "actions", "elements": [button("x" * 76, "go", "1")]}], "long button text"),
        (
            [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "colour": "red"}],
            "a key slack_sdk does not know",
        ),
    ],
)
def test_the_checks_every_builder_test_relies_on_refuse_what_slack_refuses(
    blocks: list[dict[str, object]], why: str
) -> None:
    with pytest.raises(AssertionError, match="Slack refuses"):
        refuse_unless_slack_accepts_message((why, blocks))


def test_the_view_checks_refuse_a_modal_with_a_title_slack_would_cut() -> None:
    modal = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "A title longer than 24 chars"},
        "blocks": [context("x")],
    }

    with pytest.raises(AssertionError, match="Slack refuses"):
        refuse_unless_slack_accepts_view(modal, "modal")


def test_user_text_is_shown_as_typed_and_cannot_mention_or_link() -> None:
    assert escape(HOSTILE) == HOSTILE_SHOWN
    assert foreign_markup([mrkdwn(escape(HOSTILE))]) == []
    assert foreign_markup([mrkdwn(HOSTILE)]) == ["<!channel>", "<https://evil.example|x>", "&"]


def test_what_looks_like_an_entity_is_escaped_too_so_it_reads_as_typed() -> None:
    assert escape("&lt;!here&gt; AT&T") == "&amp;lt;!here&amp;gt; AT&amp;T"


def test_a_long_section_is_cut_to_slacks_3000_characters() -> None:
    section = mrkdwn("ż" * 5000)

    assert len(section["text"]["text"]) == SECTION_TEXT_LIMIT
    refuse_unless_slack_accepts_message(("long", [section]))


@pytest.mark.parametrize(
    ("text", "limit", "shown"),
    [
        ("Weekly   sync\nwith Acme", 40, "Weekly sync with Acme"),
        ("Weekly sync with Acme", 10, "Weekly sy…"),
        ("Exactly10!", 10, "Exactly10!"),
    ],
)
def test_a_shortened_line_is_one_line_within_its_limit(text: str, limit: int, shown: str) -> None:
    assert shorten(text, limit) == shown
    assert len(shorten(text, limit)) <= limit


def test_a_time_is_shown_in_each_readers_zone_with_a_utc_fallback() -> None:
    stamp = int(START.timestamp())

    assert slack_time(START) == (
        f"<!date^{stamp}^{{date_short_pretty}} {{time}}|2026-12-01 14:00 UTC>"
    )


def test_a_span_within_one_day_names_the_day_once() -> None:
    same_day = span(START, START + timedelta(hours=1))
    overnight = span(START, START + timedelta(hours=12))

    assert same_day.count("date_short_pretty") == 1
    assert overnight.count("date_short_pretty") == 2
    assert foreign_markup([mrkdwn(same_day), mrkdwn(overnight)]) == []


@pytest.mark.parametrize(
    ("language", "minutes", "label"),
    [
        (Language.EN, None, "No reminder"),
        (Language.EN, 1, "1 minute before"),
        (Language.EN, 15, "15 minutes before"),
        (Language.PL, 1, "1 minutę przed"),
        (Language.PL, 2, "2 minuty przed"),
        (Language.PL, 15, "15 minut przed"),
    ],
)
def test_a_reminder_reads_naturally_in_english_and_polish(
    language: Language, minutes: int | None, label: str
) -> None:
    assert reminder_label(translator(language), minutes) == label


@pytest.mark.parametrize(
    ("language", "shown"), [(Language.EN, "…and 240 more"), (Language.PL, "…i jeszcze 240")]
)
def test_a_list_cut_short_says_how_many_are_not_shown(language: Language, shown: str) -> None:
    assert more_text(translator(language), 240) == shown


def test_a_text_input_never_opens_with_more_than_it_accepts() -> None:
    element = text_element("x" * 200, 150, placeholder="Design review")

    assert element["initial_value"] == "x" * 150
    refuse_unless_slack_accepts_view(
        {
            "type": "modal",
            "title": {"type": "plain_text", "text": "Form"},
            "submit": {"type": "plain_text", "text": "Save"},
            "blocks": [
                {
                    "type": "input",
                    "block_id": "title",
                    "label": {"type": "plain_text", "text": "Title"},
                    "element": element,
                }
            ],
        },
        "modal",
    )


def test_an_empty_text_input_has_no_initial_value_for_slack_to_refuse() -> None:
    assert "initial_value" not in text_element("", 150)
    assert "max_length" not in text_element("", None)


def test_a_short_notice_escapes_what_it_quotes() -> None:
    text, blocks = notice(f"Could not invite {HOSTILE}")

    refuse_unless_slack_accepts_message((text, blocks))
    assert foreign_markup(blocks) == []
    assert HOSTILE_SHOWN in blocks[0]["text"]["text"]
