"""Repeat rules: written one way, limits enforced, occurrences on the organizer's clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import Language
from bot.meetings.model import OccurrenceChange, Series
from bot.meetings.occurrences import Occurrence, occurrence_of, one_occurrence, series_occurrences
from bot.meetings.recurrence import (
    MAX_EXPANDED,
    RepeatRefused,
    normalize_rule,
    occurrences,
    series_end,
    truncated_before,
)
from bot.meetings.recurrence_words import describe_series
from bot.meetings.repeat_choice import Repeat, RepeatChoice, choice_of, rule_for
from tests.bot.blocks.meetings import meeting

WARSAW = ZoneInfo("Europe/Warsaw")
NEW_YORK = ZoneInfo("America/New_York")
# Monday 22 March 2027, 10:00 in Warsaw; the clocks go forward on Sunday 28 March.
MONDAY = datetime(2027, 3, 22, 10, 0, tzinfo=WARSAW)


def test_a_rule_is_written_one_way_and_a_date_until_means_the_end_of_that_day() -> None:
    rule = normalize_rule("rrule:byday=mo;freq=weekly;interval=1;until=20270412", MONDAY, WARSAW)

    # 12 April, 23:59:59 in Warsaw (summer time) is 21:59:59 UTC.
    assert rule == "FREQ=WEEKLY;BYDAY=MO;UNTIL=20270412T215959Z"


def test_a_rule_without_an_end_stops_five_years_on() -> None:
    rule = normalize_rule("FREQ=DAILY", MONDAY, WARSAW)

    assert rule.endswith("UNTIL=20320322T090000Z")


@pytest.mark.parametrize(
    ("rule", "field", "words"),
    [
        ("FREQ=WEEKLY;UNTIL=20330101", "repeat_until", "five years"),
        ("FREQ=MONTHLY;COUNT=100", "repeat_count", "five years"),
        ("FREQ=DAILY;COUNT=261", "repeat_count", "260"),
        ("FREQ=WEEKLY;UNTIL=20270301", "repeat_until", "after its first"),
        ("FREQ=WEEKLY;COUNT=3;UNTIL=20270501", "repeat_until", "not both"),
        ("FREQ=WEEKLY;BYDAY=TU", "repeat_days", "first meeting"),
        ("FREQ=HOURLY", "repeats", "cannot repeat"),
        ("FREQ=DAILY;BYHOUR=9,17", "repeats", "cannot repeat"),
        ("FREQ=WEEKLY;BYDAY=XX", "repeats", "cannot repeat"),
        ("FREQ=WEEKLY;FREQ=DAILY", "repeats", "cannot repeat"),
    ],
)
def test_a_rule_meetbot_does_not_take_is_refused_beside_its_field(
    rule: str, field: str, words: str
) -> None:
    with pytest.raises(RepeatRefused) as refused:
        normalize_rule(rule, MONDAY, WARSAW)

    assert refused.value.field == field
    assert words in refused.value.translated(Language.EN)


def test_occurrences_keep_the_wall_clock_time_across_the_clock_change() -> None:
    rule = normalize_rule("FREQ=WEEKLY;BYDAY=MO;COUNT=3", MONDAY, WARSAW)

    starts = occurrences(rule, MONDAY, WARSAW)

    assert [s.astimezone(WARSAW).strftime("%a %d %H:%M") for s in starts] == [
        "Mon 22 10:00",
        "Mon 29 10:00",
        "Mon 05 10:00",
    ]
    assert [s.hour for s in starts] == [9, 8, 8]  # in UTC: the offset follows the clock


def test_cancelled_occurrences_are_left_out_and_a_window_is_expanded_alone() -> None:
    rule = normalize_rule("FREQ=DAILY", MONDAY, WARSAW)
    second = MONDAY.astimezone(UTC) + timedelta(days=1)

    starts = occurrences(rule, MONDAY, WARSAW, skip=[second], before=MONDAY + timedelta(days=3))
    later = occurrences(rule, MONDAY, WARSAW, after=MONDAY + timedelta(days=400), limit=2)

    assert starts == [MONDAY.astimezone(UTC), MONDAY.astimezone(UTC) + timedelta(days=2)]
    assert [s.astimezone(WARSAW).date() for s in later] == [date(2028, 4, 25), date(2028, 4, 26)]


def test_no_more_than_the_cap_is_expanded_at_once() -> None:
    rule = normalize_rule("FREQ=DAILY", MONDAY, WARSAW)

    assert len(occurrences(rule, MONDAY, WARSAW, limit=10_000)) == MAX_EXPANDED


def test_a_series_ends_with_its_last_occurrence() -> None:
    rule = normalize_rule("FREQ=WEEKLY;BYDAY=MO;COUNT=4", MONDAY, WARSAW)

    end = series_end(rule, MONDAY, MONDAY + timedelta(hours=1), WARSAW)

    assert end.astimezone(WARSAW) == datetime(2027, 4, 12, 11, 0, tzinfo=WARSAW)


def test_this_and_following_ends_the_series_just_before_the_occurrence() -> None:
    rule = normalize_rule("FREQ=WEEKLY;BYDAY=MO;COUNT=10", MONDAY, WARSAW)
    third = occurrences(rule, MONDAY, WARSAW)[2]

    shorter = truncated_before(rule, third, WARSAW)

    # The end of Sunday 4 April in Warsaw (summer time).
    assert shorter == "FREQ=WEEKLY;BYDAY=MO;UNTIL=20270404T215959Z"
    assert len(occurrences(shorter, MONDAY, WARSAW)) == 2


@pytest.mark.parametrize(
    ("choice", "rule"),
    [
        (RepeatChoice(Repeat.DAILY, count=5), "FREQ=DAILY;COUNT=5"),
        (RepeatChoice(Repeat.WEEKDAYS, count=5), "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;COUNT=5"),
        (RepeatChoice(Repeat.WEEKLY, days=(0,), count=5), "FREQ=WEEKLY;BYDAY=MO;COUNT=5"),
        (RepeatChoice(Repeat.WEEKLY, days=(0, 3), count=5), "FREQ=WEEKLY;BYDAY=MO,TH;COUNT=5"),
        (
            RepeatChoice(Repeat.BIWEEKLY, days=(0,), count=5),
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;COUNT=5",
        ),
        (RepeatChoice(Repeat.MONTHLY_DATE, count=5), "FREQ=MONTHLY;BYMONTHDAY=22;COUNT=5"),
        # 22 March 2027 is the fourth Monday of its month.
        (RepeatChoice(Repeat.MONTHLY_WEEKDAY, count=5), "FREQ=MONTHLY;BYDAY=4MO;COUNT=5"),
    ],
)
def test_the_forms_choices_make_rules_and_read_back_from_them(
    choice: RepeatChoice, rule: str
) -> None:
    made = normalize_rule(rule_for(choice, MONDAY) or "", MONDAY, WARSAW)

    assert made == rule
    assert choice_of(made, WARSAW) == choice


def test_until_a_day_reads_back_as_that_day() -> None:
    choice = RepeatChoice(Repeat.WEEKLY, days=(0,), until=date(2027, 3, 29))
    rule = normalize_rule(rule_for(choice, MONDAY) or "", MONDAY, WARSAW)

    assert choice_of(rule, WARSAW) == choice


@pytest.mark.parametrize(
    ("rule", "english", "polish"),
    [
        (
            "FREQ=WEEKLY;BYDAY=MO;UNTIL=20270330",
            "Every Monday 10:00 until 30 March",
            "W każdy poniedziałek 10:00 do 30 marca",
        ),
        (
            "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;COUNT=10",
            "Every weekday 10:00, 10 times",
            "W każdy dzień roboczy 10:00, 10 razy",
        ),
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=2",
            "Every 2 weeks on Monday, Wednesday 10:00, 2 times",
            "Co 2 tygodnie: poniedziałek, środa 10:00, 2 razy",
        ),
        (
            "FREQ=MONTHLY;BYDAY=4MO;UNTIL=20280101",
            "Monthly on the fourth Monday 10:00 until 1 January 2028",
            "Co miesiąc: 4. poniedziałek miesiąca 10:00 do 1 stycznia 2028",
        ),
        ("FREQ=DAILY;COUNT=1", "Every day 10:00, 1 time", "Codziennie 10:00, 1 raz"),
    ],
)
def test_a_series_in_words_in_english_and_polish(rule: str, english: str, polish: str) -> None:
    normalised = normalize_rule(rule, MONDAY, WARSAW)

    assert describe_series(normalised, MONDAY, WARSAW, Language.EN) == english
    assert describe_series(normalised, MONDAY, WARSAW, Language.PL) == polish


def test_a_moved_occurrence_is_found_by_its_first_start_and_met_at_its_new_time() -> None:
    rule = normalize_rule("FREQ=WEEKLY;BYDAY=MO;COUNT=4", MONDAY, WARSAW)
    first, second, third, fourth = occurrences(rule, MONDAY, WARSAW)
    moved_to = second + timedelta(days=3)
    hour = timedelta(hours=1)
    made = meeting(
        start=first,
        end=first + hour,
        series=Series(
            rule,
            (
                OccurrenceChange(second, False, moved_to, moved_to + hour, sequence=4),
                OccurrenceChange(third, True),
            ),
        ),
    )

    assert occurrence_of(made, second) == Occurrence(second, moved_to, moved_to + hour)
    assert occurrence_of(made, third) is None  # cancelled
    assert [o.start for o in series_occurrences(made)] == [first, moved_to, fourth]
    one = one_occurrence(made, second)
    assert (one.start, one.recurrence_id, one.sequence, one.series) == (moved_to, second, 4, None)
