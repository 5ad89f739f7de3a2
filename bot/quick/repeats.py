"""How often a typed meeting repeats: "every Monday", "co tydzień", "w każdy wtorek", "until March".

The phrases are taken out of the text before the rest is read, so "every Monday" is not
also read as next Monday's date, nor "until March" as the meeting's end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from bot.meetings.repeat_choice import Repeat, RepeatChoice

FLAGS = re.IGNORECASE
_B = r"(?<![\w@<])"  # a phrase starts a word (and is not inside a mention or an address)
_E = r"(?![\w>])"

# Each weekday as typed: English singular and plural, Polish in the cases "every" takes.
_DAYS = (
    r"mondays?|mon|poniedzia[łl]e?k(?:i)?",
    r"tuesdays?|tues?|wtor(?:ek|ki)",
    r"wednesdays?|wed|[śs]rod[aęey]",
    r"thursdays?|thu(?:rs?)?|czwart(?:ek|ki)",
    r"fridays?|fri|pi[ąa]t(?:ek|ki)",
    # No "sat" or "sun": as English words they are far more common than as days.
    r"saturdays?|sobot[aęy]",
    r"sundays?|niedziel[aęe]",
)
_DAY = "|".join(f"(?:{forms})" for forms in _DAYS)
_AND = r"\s*(?:,|\band\b|&|\bi\b|\boraz\b)\s*"
_DAY_LIST = rf"(?:{_DAY})(?:{_AND}(?:{_DAY}))*"
# Polish "every": każdy, każdą, każde; "co" takes a weekday too ("co wtorek").
_EVERY = r"(?:every|each|(?:w|we)\s+ka[żz]d[yąae]|co)"
_OTHER = r"(?:every\s+(?:other|second|2nd)|co\s+drug[iąa])"

_FIXED = (
    (
        r"every\s+(?:weekday|working\s+day|work\s*day)|on\s+weekdays|weekdays|w\s+dni\s+robocze"
        r"|(?:w\s+)?ka[żz]dy\s+dzie[ńn]\s+roboczy|od\s+poniedzia[łl]ku\s+do\s+pi[ąa]tku",
        Repeat.WEEKDAYS,
    ),
    (r"every\s+day|daily|codziennie|co\s+dzie[ńn]|ka[żz]dego\s+dnia", Repeat.DAILY),
    (
        r"every\s+(?:other|two|2)\s+weeks?|biweekly|fortnightly|co\s+(?:dwa|2)\s+tygodnie"
        r"|co\s+drugi\s+tydzie[ńn]",
        Repeat.BIWEEKLY,
    ),
    (r"every\s+week|weekly|co\s+tydzie[ńn]|cotygodniowo|ka[żz]dego\s+tygodnia", Repeat.WEEKLY),
    (
        r"every\s+month|monthly|co\s+miesi[ąa]c|comiesi[ęe]cznie|ka[żz]dego\s+miesi[ąa]ca",
        Repeat.MONTHLY_DATE,
    ),
)

_MONTHS = (
    r"january|jan|stycz(?:eń|en|nia)|sty",
    r"february|feb|lut(?:y|ego)",
    r"march|mar|mar(?:zec|ca)",
    r"april|apr|kwie(?:cień|cien|tnia)|kwi",
    r"may|maj(?:a)?",
    r"june|jun|czerw(?:iec|ca)|cze",
    r"july|jul|lip(?:iec|ca)|lip",
    r"august|aug|sierp(?:ień|ien|nia)|sie",
    r"september|sept?|wrze(?:sień|sien|śnia|snia)|wrz",
    r"october|oct|pa[źz]dziernik(?:a)?|pa[źz]",
    r"november|nov|listopad(?:a)?|lis",
    r"december|dec|grud(?:zień|zien|nia)|gru",
)
_MONTH = "|".join(f"(?:{forms})" for forms in _MONTHS)
_UNTIL = (
    rf"{_B}(?:until|till|do)\s+(?:"
    rf"(?P<d1>[0-9]{{1,2}})(?:st|nd|rd|th|\.)?\s+(?:of\s+)?(?P<m1>{_MONTH})"
    rf"|(?P<m2>{_MONTH})\s+(?P<d2>[0-9]{{1,2}})(?:st|nd|rd|th)?"
    rf"|(?:the\s+end\s+of\s+|ko[ńn]ca\s+)(?P<m3>{_MONTH})"
    rf"|(?P<m4>{_MONTH})"
    rf"|(?P<iso>20[0-9]{{2}}-[0-9]{{2}}-[0-9]{{2}})"
    rf")(?:\s+(?P<y>20[0-9]{{2}}))?\.?{_E}"
)
_COUNT = rf"{_B}(?:(?:for\s+)?(?P<n>[0-9]{{1,3}})\s*(?:times|x|razy)){_E}"


@dataclass(frozen=True)
class TypedRepeat:
    """What the text says about repeating, and the text with those words blanked out."""

    choice: RepeatChoice
    text: str


def _blank(text: str, match: re.Match[str]) -> str:
    return text[: match.start()] + " " * (match.end() - match.start()) + text[match.end() :]


def _days_in(phrase: str) -> tuple[int, ...]:
    found = []
    for match in re.finditer(_DAY, phrase, FLAGS):
        word = match.group(0)
        found.append(next(i for i, forms in enumerate(_DAYS) if re.fullmatch(forms, word, FLAGS)))
    return tuple(sorted(set(found)))


def _month_of(word: str) -> int:
    return next(i for i, forms in enumerate(_MONTHS, 1) if re.fullmatch(forms, word, FLAGS))


def _last_day(match: re.Match[str], year: int) -> date | None:
    """Return the series' last day in a year: "until 30 March" that day, "until March" the eve."""
    month = _month_of(match["m1"] or match["m2"] or match["m3"] or match["m4"])
    day_text = match["d1"] or match["d2"]
    try:
        if match["m3"]:  # the end of the month
            return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
        if day_text:
            return date(year, month, int(day_text))
        # "until March", "do marca": up to March, not into it.
        return date(year, month, 1) - timedelta(days=1)
    except ValueError:
        return None


def _until(match: re.Match[str], today: date) -> date | None:
    """Return the last day an "until" phrase names: this year's, or next year's if gone."""
    if match["iso"]:
        try:
            return date.fromisoformat(match["iso"])
        except ValueError:
            return None
    if match["y"]:
        return _last_day(match, int(match["y"]))
    last = _last_day(match, today.year)
    return last if last is None or last >= today else _last_day(match, today.year + 1)


def take_repeats(text: str, now: datetime) -> TypedRepeat:
    """Return the repeat the text names and the text without those words (blanked out)."""
    choice = RepeatChoice()
    other = re.search(rf"{_B}{_OTHER}\s+(?P<days>{_DAY_LIST}){_E}", text, FLAGS)
    named = re.finditer(
        rf"{_B}(?:{_EVERY}\s+|on\s+|w\s+|we\s+)?(?P<days>{_DAY_LIST}){_E}", text, FLAGS
    )
    every = other or next((m for m in named if _is_repeat(m)), None)
    if every is not None:
        repeat = Repeat.BIWEEKLY if other else Repeat.WEEKLY
        choice = RepeatChoice(repeat, _days_in(every["days"]))
        text = _blank(text, every)
    else:
        for pattern, repeat in _FIXED:
            fixed = re.search(rf"{_B}(?:{pattern}){_E}", text, FLAGS)
            if fixed is not None:
                choice = RepeatChoice(repeat)
                text = _blank(text, fixed)
                break
    if choice.repeat is Repeat.NEVER:
        return TypedRepeat(choice, text)
    until = re.search(_UNTIL, text, FLAGS)
    if until is not None and (last := _until(until, now.date())) is not None:
        choice = replace(choice, until=last)
        text = _blank(text, until)
    count = re.search(_COUNT, text, FLAGS)
    if count is not None and choice.until is None:
        choice = replace(choice, count=int(count["n"]))
        text = _blank(text, count)
    return TypedRepeat(choice, text)


def _is_repeat(match: re.Match[str]) -> bool:
    """Tell "every Monday", "w każdy wtorek", "we wtorki", "on Mondays" from "on Monday"."""
    prefix = match.group(0)[: match.start("days") - match.start()].strip()
    if re.fullmatch(_EVERY, prefix, FLAGS):
        return True
    # Plural only: "mondays", "wtorki", "środy", "czwartki", "piątki", "soboty", "niedziele".
    return re.fullmatch(_PLURAL, re.split(_AND, match["days"])[0], FLAGS) is not None


_PLURAL = (
    r"mondays|tuesdays|wednesdays|thursdays|fridays|saturdays|sundays"
    r"|poniedzia[łl]ki|wtorki|[śs]rody|czwartki|pi[ąa]tki|soboty|niedziele"
)


def next_matching_day(start: datetime, days: tuple[int, ...]) -> datetime:
    """Return the start moved forward to the first of the days it repeats on (same clock)."""
    if not days or start.weekday() in days:
        return start
    ahead = min((day - start.weekday()) % 7 for day in days)
    moved = start.replace(tzinfo=None) + timedelta(days=ahead)
    return moved.replace(tzinfo=start.tzinfo)
