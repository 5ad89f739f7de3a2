"""When a typed phrase says: clock times, ranges, lengths and dates, in English and Polish."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dateparser

from bot.drafts import MAX_LENGTH
from bot.quick.words import Clock, Found, State, Words

# Anything longer is a typo or not a meeting length at all ("for 90 hours").
# Each dateparser call costs about a millisecond; junk full of date-like words must not add up.
MAX_DATE_TRIES = 8


# Farther than this from today a typed year is junk ("9999-12-31"), and would overflow datetimes.
MAX_YEARS_AWAY = 10


# A date with no year ("3.12", "12/3") counts only this close to its time or after a preposition:
# on its own it is as likely a version number or a score.
_NEAR = 2


FLAGS = re.IGNORECASE


# A phrase starts a token (or follows an opening bracket) and ends one, perhaps before
# punctuation, so "15:00" is never read inside "2026-15:00x".
_START = r"(?<![^\s(\[])(?=\S)"


_END = r"(?=$|[\s,;!?)\]]|[.:](?:\s|$))"


def _clock_pattern(prefix: str) -> str:
    """Return a pattern for a clock time ("15:30", "3pm", "9.30", "10") with prefixed groups."""
    p = prefix
    return (
        rf"(?P<{p}h>[01]?[0-9]|2[0-3])(?:(?P<{p}sep>[:.])(?P<{p}m>[0-5][0-9]))?"
        rf"(?:\s?(?P<{p}mer>[ap])\.?m\.?)?"
    )


def _clock_of(match: re.Match[str], prefix: str = "") -> Clock | None:
    """Return the clock time a match holds, or None when am/pm makes it impossible ("15pm")."""
    hour = int(match[f"{prefix}h"])
    meridiem = (match[f"{prefix}mer"] or "").lower() or None
    if meridiem and not 1 <= hour <= 12:
        return None
    return Clock(
        hour=hour,
        minute=int(match[f"{prefix}m"] or 0),
        meridiem=meridiem,
        strong=meridiem is not None or match[f"{prefix}sep"] == ":",
        padded=len(match[f"{prefix}h"]) == 2 and not meridiem,
    )


_TIME_PREPOSITION = r"at|@|o\s+godz(?:\.|inie)?|o|godz\.?"


_TIME = re.compile(
    rf"{_START}(?:(?P<prep>{_TIME_PREPOSITION})\s+)?{_clock_pattern('')}{_END}", FLAGS
)


_TIME_WORD = re.compile(
    rf"{_START}(?:(?:at|@|o|w)\s+)?(?P<word>noon|midday|midnight|po[łl]udnie|p[óo][łl]nocy?){_END}",
    FLAGS,
)


_RANGE = re.compile(
    rf"{_START}(?:(?P<lead>from|od|between)\s+|(?:at|@|o)\s+)?{_clock_pattern('a')}\s*"
    rf"(?P<join>-|–|—|to|until|till|do|and)\s*{_clock_pattern('b')}{_END}",
    FLAGS,
)


# A dash sticks to its time ("-16:30"); "Review - 3pm" is a separator, not an end.
UNTIL = re.compile(
    rf"{_START}(?:(?P<kw>until|till|til|to|do)\s+|[-–—]){_clock_pattern('')}{_END}", FLAGS
)


def find_ranges(words: Words) -> list[Found]:
    """Return "15:00-16:30", "3-4pm", "from 10 to 11", "od 15 do 16" with both times."""
    found: list[Found] = []
    for match in _RANGE.finditer(words.view()):
        first, last = _clock_of(match, "a"), _clock_of(match, "b")
        lead, join = (match["lead"] or "").lower(), match["join"].lower()
        if first is None or last is None or (join == "and") != (lead == "between"):
            continue
        if not lead and not (first.strong or last.strong):
            continue  # "10-12 people" is a count, not a time
        start = first.wall()
        if first.meridiem is None and last.meridiem is not None:
            # "3-4pm" and "9-10pm" share the pm; "11-1pm" starts in the morning.
            start = first.wall(last.meridiem)
            if start >= last.wall():
                start = first.wall("a" if last.meridiem == "p" else "p")
        found.append(Found(match.span(), start=start, end=last))
    return found


def until_clock(match: re.Match[str]) -> Found | None:
    """Return the end an "until 4pm" match names; a bare hour only after until, till or do."""
    clock = _clock_of(match)
    if clock is None:
        return None
    if not clock.strong and (match["kw"] or "").lower() not in {"until", "till", "til", "do"}:
        return None
    return Found(match.span(), end=clock)


def find_clocks(
    words: Words, pattern: re.Pattern[str], read: Callable[[re.Match[str]], Found | None]
) -> list[Found]:
    """Return what read makes of each match of pattern in the free text."""
    found = (read(match) for match in pattern.finditer(words.view()))
    return [item for item in found if item is not None]


def _start_clock(match: re.Match[str]) -> Found | None:
    """Return the start a time match names; a bare number needs "at" or "o" before it."""
    clock = _clock_of(match)
    if clock is None or not (clock.strong or match["prep"]):
        return None
    return Found(match.span(), start=clock.wall())


def _word_clock(match: re.Match[str]) -> Found | None:
    """Return noon or midnight in English or Polish."""
    noon = match["word"].lower() in {"noon", "midday", "południe", "poludnie"}
    return Found(match.span(), start=time(12) if noon else time(0))


def take_start_clock(words: Words, ranges: list[Found]) -> Found | None:
    """Return the first start time in the text (a range's start counts) and take it out."""
    candidates = [
        *ranges,
        *find_clocks(words, _TIME, _start_clock),
        *find_clocks(words, _TIME_WORD, _word_clock),
    ]
    # "piątek 3.12 o 15": a dotted number after a day is a time only when nothing else is.
    candidates = candidates or find_clocks(words, _DAY_DOTTED, _dotted_clock)
    if not candidates:
        return None
    first = min(candidates, key=lambda found: found.span[0])
    words.mark(first.span, State.USED)
    return first


_HOURS_UNIT = r"hours?|hrs?|h|godzin[aeyę]?|godz\.?"


_MINUTES_UNIT = r"minutes?|mins?|minut[aeyę]?|m"


_LENGTH = re.compile(
    # "in 2 hours" and "za 2 godziny" say when, not how long.
    rf"{_START}(?<!\bin\s)(?<!\bza\s)(?:(?P<prep>for|przez|na)\s+)?(?:"
    rf"(?P<hours>[0-9]{{1,2}}(?:[.,][0-9]{{1,2}})?)\s?(?:{_HOURS_UNIT})"
    rf"(?:\s?(?:(?:and|i)\s)?(?P<extra>[0-9]{{1,2}})(?:\s?(?:{_MINUTES_UNIT}))?)?"
    rf"|(?P<minutes>[0-9]{{1,4}})\s?(?P<unit>{_MINUTES_UNIT})"
    rf"|(?P<words>half\s+an\s+hour|an\s+hour\s+and\s+a\s+half|an?\s+hour|one\s+hour"
    rf"|p[óo][łl]\s+godziny|p[óo][łl]torej\s+godziny|(?:jedn[ąa]\s+)?godzin[ęe])"
    rf"){_END}",
    FLAGS,
)


_WORD_LENGTHS = {"half": 30, "pół": 30, "pol": 30, "półtorej": 90, "poltorej": 90}


def find_lengths(words: Words) -> list[Found]:
    """Return "for 45m", "1h30", "for 1.5 hours", "przez godzinę" and the like."""
    found: list[Found] = []
    for match in _LENGTH.finditer(words.view()):
        if match["hours"]:
            extra = int(match["extra"] or 0)
            minutes = round(float(match["hours"].replace(",", ".")) * 60) + extra
            if extra >= 60:
                continue
        elif match["minutes"]:
            # A lone "m" could be metres or millions; only "for 45m" is surely minutes.
            if match["unit"].lower() == "m" and not match["prep"]:
                continue
            minutes = int(match["minutes"])
        else:
            if not match["prep"]:
                continue  # "an hour" alone is too common a phrase to take
            phrase = match["words"].lower()
            first = phrase.split()[0]
            minutes = _WORD_LENGTHS.get(first, 90 if phrase.endswith("half") else 60)
        length = timedelta(minutes=minutes)
        if timedelta(0) < length <= MAX_LENGTH:
            found.append(Found(match.span(), length=length))
    return found


RELDAY = r"(?:the\s+)?day\s+after\s+tomorrow|tomorrow|tmrw|today|pojutrze|jutro|dzisiaj|dzi[śs]"


# No "sat" or "sun": as English words they are far more common than as days.
WEEKDAY = (
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|(?:mon|tues?|wed|thu(?:rs?)?|fri)\.?"
    r"|poniedzia[łl]ek|wtorek|[śs]rod[aęe]|czwartek|pi[ąa]tek|sobot[aęe]|niedziel[aęe]"
)


MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec"
    r"|stycz(?:eń|en|nia|niu)|lut(?:y|ego|ym)|mar(?:zec|ca|cu)|kwie(?:cień|cien|tnia|tniu)"
    r"|maj[au]?|czerw(?:iec|ca|cu)|lip(?:iec|ca|cu)|sierp(?:ień|ien|nia|niu)"
    r"|wrze(?:sień|sien|śnia|snia|śniu|sniu)|pa[źz]dziernik[au]?|listopad(?:a|zie)?"
    r"|grud(?:zień|zien|nia|niu)|sty|kwi|cze|sie|wrz|pa[źz]|lis|gru)\.?"
)


_DAYNUM = r"(?:[12]?[0-9]|3[01])(?:st|nd|rd|th|\.)?"


_YEAR = r"(?:19|20)[0-9]{2}"


# "przyszły poniedziałek" is "next Monday", which dateparser reads as plain "Monday" anyway.
_PL_NEXT = r"przysz[łl][yaąe]|nast[ęe]pn[yaąe]|najbli[żz]sz[yaąe]"


_ON_WEEKDAY = rf"(?:(?:on|dnia)\s+)?(?:(?:{WEEKDAY}),?\s+)?"


_DATE_RELDAY = re.compile(rf"{_START}(?:(?:on|w|we)\s+)?(?P<core>{RELDAY}){_END}", FLAGS)


_DATE_WEEKDAY = re.compile(
    rf"{_START}(?:(?:on|w|we)\s+)?(?:(?:{_PL_NEXT})\s+)?"
    rf"(?P<core>(?:(?:next|this)\s+)?(?:{WEEKDAY})){_END}",
    FLAGS,
)


_DATE_NAMED = re.compile(
    rf"{_START}{_ON_WEEKDAY}(?P<core>"
    rf"(?:the\s+)?{_DAYNUM}\s+(?:of\s+)?{MONTH}(?:,?\s+(?P<y>{_YEAR}))?"
    rf"|{MONTH}\s+(?:the\s+)?{_DAYNUM}(?:,?\s+(?P<y2>{_YEAR}))?"
    rf"){_END}",
    FLAGS,
)


_DATE_ISO = re.compile(
    rf"{_START}{_ON_WEEKDAY}(?P<core>(?P<y>{_YEAR})-(?P<mo>[0-9]{{1,2}})-(?P<d>[0-9]{{1,2}})){_END}",
    FLAGS,
)


_DATE_DOTTED = re.compile(
    rf"{_START}(?P<prep>(?:on|dnia|w)\s+)?(?:(?:{WEEKDAY}),?\s+)?"
    rf"(?P<core>(?P<d>[0-9]{{1,2}})\.(?P<mo>[0-9]{{1,2}})(?:\.(?P<y>{_YEAR}|[0-9]{{2}}))?)\.?{_END}",
    FLAGS,
)


_DATE_SLASHED = re.compile(
    rf"{_START}(?P<prep>(?:on|dnia)\s+)?(?:(?:{WEEKDAY}),?\s+)?"
    rf"(?P<core>(?P<mo>[0-9]{{1,2}})/(?P<d>[0-9]{{1,2}})(?:/(?P<y>{_YEAR}|[0-9]{{2}}))?){_END}",
    FLAGS,
)


# "jutro 9.30": a dotted time right after a day word, where it cannot be a date.
_DAY_DOTTED = re.compile(
    rf"{_START}(?:{RELDAY}|{WEEKDAY})\s+(?P<dh>[01]?[0-9]|2[0-3])\.(?P<dm>[0-5][0-9]){_END}",
    FLAGS,
)


# Forms dateparser does not know, mapped to ones it does.
_CORE_ALIASES = (
    (re.compile(r"\btmrw\b", FLAGS), "tomorrow"),
    (re.compile(r"\bthurs?\b", FLAGS), "thursday"),
)


def _dotted_clock(match: re.Match[str]) -> Found | None:
    """Return the time of "jutro 9.30", taking only the time, not the day word."""
    clock = Clock(
        int(match["dh"]), int(match["dm"]), None, strong=True, padded=len(match["dh"]) == 2
    )
    return Found((match.start("dh"), match.end("dm")), start=clock.wall())


@dataclass(frozen=True)
class _DateFound:
    """A phrase that may be a date, with what dateparser needs to read it."""

    span: tuple[int, int]
    core: str
    order: str | None = None  # dateparser's DATE_ORDER for numeric dates
    numbers: tuple[int, int] | None = None  # the typed day and month, to check the reading
    numeric: bool = False
    needs_support: bool = False  # a yearless number: only with a preposition or beside a time
    yearless: bool = False  # a calendar date typed without a year ("Dec 3", "3.12")


def _date_candidates(view: str) -> list[_DateFound]:
    """Return every phrase in the free text that may be a date."""
    found: list[_DateFound] = []
    for pattern in (_DATE_RELDAY, _DATE_WEEKDAY):
        for match in pattern.finditer(view):
            core = match["core"]
            for alias, canonical in _CORE_ALIASES:
                core = alias.sub(canonical, core)
            found.append(_DateFound(match.span(), core.rstrip(".")))
    for match in _DATE_NAMED.finditer(view):
        yearless = not (match["y"] or match["y2"])
        found.append(_DateFound(match.span(), match["core"].rstrip("."), yearless=yearless))
    for match in _DATE_ISO.finditer(view):
        day_month = (int(match["d"]), int(match["mo"]))
        found.append(_DateFound(match.span(), match["core"], "YMD", day_month, numeric=True))
    for pattern, order in ((_DATE_DOTTED, "DMY"), (_DATE_SLASHED, "MDY")):
        for match in pattern.finditer(view):
            yearless = match["y"] is None
            found.append(
                _DateFound(
                    match.span(),
                    # Slashes, so that dateparser cannot take "3.12" for 3:12.
                    match["core"].replace(".", "/"),
                    order,
                    numbers=(int(match["d"]), int(match["mo"])),
                    numeric=True,
                    needs_support=yearless and not match["prep"],
                    yearless=yearless,
                )
            )
    return found


def _distance(span: tuple[int, int], other: tuple[int, int]) -> int:
    """Return how many characters lie between two spans."""
    return max(other[0] - span[1], span[0] - other[1], 0)


def take_date(
    words: Words, clock_span: tuple[int, int] | None, local_now: datetime, zone: ZoneInfo
) -> date | None:
    """Return the date nearest the start time (or the first one) and take it out of the text."""
    candidates = [
        found
        for found in _date_candidates(words.view())
        if not found.needs_support
        or (clock_span is not None and _distance(found.span, clock_span) <= _NEAR)
    ]

    def rank(found: _DateFound) -> tuple[int, bool, int, int]:
        near = _distance(found.span, clock_span) if clock_span is not None else 0
        # Nearest the time first; words before bare numbers; then the first, the longest.
        return (near, found.numeric, found.span[0], found.span[0] - found.span[1])

    for found in sorted(candidates, key=rank)[:MAX_DATE_TRIES]:
        day = _read_date(found, local_now, zone)
        if day is not None:
            words.mark(found.span, State.USED)
            return day
    return None


def _read_date(found: _DateFound, local_now: datetime, zone: ZoneInfo) -> date | None:
    """Return the date dateparser reads in a phrase, or None if it is not one."""
    settings: dict[str, object] = {
        "PREFER_DATES_FROM": "future",
        # Naive wall-clock "now" in the organizer's zone: we only take the date back.
        "RELATIVE_BASE": local_now.replace(tzinfo=None),
        "RETURN_AS_TIMEZONE_AWARE": False,
        "PARSERS": ["relative-time", "absolute-time"],
    }
    if zone.key:
        settings["TIMEZONE"] = zone.key
    if found.order:
        settings["DATE_ORDER"] = found.order
    parsed = dateparser.parse(found.core, languages=["en", "pl"], settings=settings)
    if not isinstance(parsed, datetime):
        return None
    if found.numbers is not None and found.numbers != (parsed.day, parsed.month):
        return None  # dateparser reordered the numbers ("9/30" as 9 October 2030)
    if abs(parsed.year - local_now.year) > MAX_YEARS_AWAY:
        return None
    today = local_now.date()
    same_day = (parsed.month, parsed.day) == (today.month, today.day)
    if found.yearless and same_day and parsed.year == today.year + 1:
        return today  # dateparser moves "Dec 3" said on Dec 3 to next year; today was meant
    return parsed.date()
