"""Repeats typed after /meet, in English and Polish, read into the form's choice."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.meetings.repeat_choice import Repeat, RepeatChoice
from bot.quick.reader import read_quick_text

WARSAW = ZoneInfo("Europe/Warsaw")
# Thursday 3 December 2026, 14:00 in Warsaw.
NOW = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "title", "choice", "first"),
    [
        (
            "Standup every Monday 10:00 until March",
            "Standup",
            RepeatChoice(Repeat.WEEKLY, (0,), until=date(2027, 2, 28)),
            "Mon 07 10:00",
        ),
        (
            "Review on Mondays and Thursdays at 3pm until 1 February",
            "Review",
            RepeatChoice(Repeat.WEEKLY, (0, 3), until=date(2027, 2, 1)),
            "Thu 03 15:00",
        ),
        (
            "Planning every other Friday 14:00 10 times",
            "Planning",
            RepeatChoice(Repeat.BIWEEKLY, (4,), count=10),
            "Fri 04 14:00",
        ),
        (
            "Daily standup every weekday 9:15",
            "Daily standup",
            RepeatChoice(Repeat.WEEKDAYS),
            "Fri 04 09:15",
        ),
        ("1:1 monthly tomorrow 11am", "1:1", RepeatChoice(Repeat.MONTHLY_DATE), "Fri 04 11:00"),
        ("Sync co tydzień o 9", "Sync", RepeatChoice(Repeat.WEEKLY), "Fri 04 09:00"),
        (
            "Przegląd w każdy wtorek 15:00 do marca",
            "Przegląd",
            RepeatChoice(Repeat.WEEKLY, (1,), until=date(2027, 2, 28)),
            "Tue 08 15:00",
        ),
        (
            "Plan w każdą środę o 10 do końca stycznia",
            "Plan",
            RepeatChoice(Repeat.WEEKLY, (2,), until=date(2027, 1, 31)),
            "Wed 09 10:00",
        ),
        (
            "Retro we wtorki 16:00 do 30 kwietnia",
            "Retro",
            RepeatChoice(Repeat.WEEKLY, (1,), until=date(2027, 4, 30)),
            "Tue 08 16:00",
        ),
        (
            "Demo co drugi piątek 13:00 5 razy",
            "Demo",
            RepeatChoice(Repeat.BIWEEKLY, (4,), count=5),
            "Fri 04 13:00",
        ),
        ("Odprawa codziennie o 8:30", "Odprawa", RepeatChoice(Repeat.DAILY), "Fri 04 08:30"),
        ("Rada co miesiąc jutro o 12", "Rada", RepeatChoice(Repeat.MONTHLY_DATE), "Fri 04 12:00"),
    ],
)
def test_repeats_are_read_and_taken_out_of_the_title(
    text: str, title: str, choice: RepeatChoice, first: str
) -> None:
    draft = read_quick_text(text, now=NOW, zone=WARSAW)

    assert draft.title == title
    assert draft.repeat == choice
    assert draft.start is not None
    assert draft.start.astimezone(WARSAW).strftime("%a %d %H:%M") == first


@pytest.mark.parametrize(
    "text", ["Lunch on Monday 12:00", "Lunch w poniedziałek o 12", "Talk until 4pm tomorrow"]
)
def test_a_single_day_is_not_a_repeat(text: str) -> None:
    assert read_quick_text(text, now=NOW, zone=WARSAW).repeat == RepeatChoice()
