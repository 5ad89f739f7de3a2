"""Reading the free text typed after /meet into a pre-filled create form."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

import dateparser

from bot.drafts import DEFAULT_LENGTH, MAX_LENGTH, default_times
from bot.guests import GuestListError, parse_guest_list

# Anything longer is a typo or not a meeting length at all ("for 90 hours").
# Each dateparser call costs about a millisecond; junk full of date-like words must not add up.
MAX_DATE_TRIES = 8
# Farther than this from today a typed year is junk ("9999-12-31"), and would overflow datetimes.
MAX_YEARS_AWAY = 10
# A date with no year ("3.12", "12/3") counts only this close to its time or after a preposition:
# on its own it is as likely a version number or a score.
_NEAR = 2


@dataclass(frozen=True)
class QuickDraft:
    """What the text after /meet says about a meeting, to pre-fill the create form."""

    title: str
    start: datetime | None
    end: datetime | None
    location: str
    member_ids: tuple[str, ...]
    guests_text: str


def read_quick_text(text: str, *, now: datetime, zone: ZoneInfo) -> QuickDraft:
    """Return the draft the text describes; what is not understood stays in the title."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    local_now = now.astimezone(zone)
    cleaned, member_ids, guests = _take_people(text)
    words = _Words(cleaned)
    words.drop_people_connectors()

    ranges = _find_ranges(words)
    untils = _find_clocks(words, _UNTIL, _until_clock)
    lengths = _find_lengths(words)
    for found in (*ranges, *untils, *lengths):
        words.mark(found.span, _State.HELD)

    clock = _take_start_clock(words, ranges)
    day = _take_date(words, clock.span if clock else None, local_now, zone)
    location = _take_place(words)

    start = _start_of(clock.start if clock else None, day, now, zone)
    end: datetime | None = None
    if start is not None:
        end = _end_of(start, clock, untils, lengths, words, zone)
    words.release_held()
    return QuickDraft(
        title=words.leftover(),
        start=start,
        end=end,
        location=location,
        member_ids=member_ids,
        guests_text="\n".join(guests),
    )


# ---------------------------------------------------------------- people


# Stand-ins for the people taken out of the text. Control characters are blanked first, so
# neither can be typed; each is its own token so "with ... and ..." around it can be seen.
_PERSON = "\x01"
_HIDDEN = "\x00"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Slack's markup (<@U123|name>, <mailto:a@b|a@b>, <#C1|general>, <!here>, <https://x|label>)
# or a bare address, loose on purpose: parse_guest_list, the form's own check, has the last word.
_MARKUP_OR_ADDRESS = re.compile(
    r"<(?P<target>[^<>|\s]+)(?:\|(?P<label>[^<>]*))?>"
    r"|(?<![\w.+'%-])(?P<address>[\w.+'%-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
)
_MEMBER = re.compile(r"@([UW][A-Z0-9]+)")
_ANGLED_PERSON = re.compile(rf"<(\s{_PERSON}\s)>")


def _take_people(text: str) -> tuple[str, tuple[str, ...], list[str]]:
    """Return the text with members and addresses replaced by stand-ins, the ids, the addresses."""
    members: dict[str, None] = {}
    addresses: dict[str, str] = {}

    def is_address(address: str) -> bool:
        try:
            parse_guest_list(address)
        except GuestListError:
            return False
        addresses.setdefault(address.lower(), address)
        return True

    def replace(match: re.Match[str]) -> str:
        if match["address"]:
            return f" {_PERSON} " if is_address(match["address"]) else match[0]
        target, label = match["target"], match["label"]
        member = _MEMBER.fullmatch(target)
        if member:
            members.setdefault(member[1], None)
            return f" {_PERSON} "
        if target.lower().startswith("mailto:") and is_address(target[7:].split("?")[0]):
            return f" {_PERSON} "
        if label:
            return f"#{label}" if target.startswith("#") else label
        if target.startswith("!"):
            return "@" + target[1:].split("^")[0]
        return target

    # One pass, before unescaping, so people keep the order they were typed in and a literal
    # "&lt;" typed by the organizer is never taken for markup.
    text = _MARKUP_OR_ADDRESS.sub(replace, _CONTROL.sub(" ", text))
    # Slack escapes exactly these three in command text; &amp; last so "&amp;lt;" stays "&lt;".
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return _ANGLED_PERSON.sub(r"\1", text), tuple(members), list(addresses.values())


# ---------------------------------------------------------------- words


class _State(Enum):
    """Where a token of the text stands."""

    FREE = "free"  # still part of the title
    HELD = "held"  # an end or a length, kept aside until we know there is a start
    USED = "used"  # understood and taken out of the title
    PERSON = "person"  # a member or guest stand-in


@dataclass(frozen=True)
class _Found:
    """A recognised phrase: where it is in the text and what it says."""

    span: tuple[int, int]
    start: time | None = None
    end: _Clock | None = None
    length: timedelta | None = None


_WITH = {"with", "z", "ze", "cc"}
_AND = {"and", "&", "i", "oraz", ",", "+"}
_PUNCTUATION_ONLY = re.compile(r"[,;.]+")
_TITLE_EDGES = " ,;:-–—|/"


class _Words:
    """The text as whitespace-separated tokens, each free for the title or taken."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.spans = [match.span() for match in re.finditer(r"\S+", text)]
        self.starts = [start for start, _ in self.spans]
        self.states = [
            _State.PERSON if text[start:end] == _PERSON else _State.FREE
            for start, end in self.spans
        ]

    def token(self, index: int) -> str:
        """Return the token as typed."""
        start, end = self.spans[index]
        return self.text[start:end]

    def view(self) -> str:
        """Return the text with taken tokens blanked, same length, so matches cannot use them."""
        pieces: list[str] = []
        last = 0
        for (start, end), state in zip(self.spans, self.states, strict=True):
            if state in (_State.HELD, _State.USED):
                pieces.append(self.text[last:start])
                pieces.append(_HIDDEN * (end - start))
                last = end
        pieces.append(self.text[last:])
        return "".join(pieces)

    def mark(self, span: tuple[int, int], state: _State) -> None:
        """Mark every token the character span touches."""
        index = max(bisect.bisect_right(self.starts, span[0]) - 1, 0)
        while index < len(self.spans) and self.spans[index][0] < span[1]:
            if self.spans[index][1] > span[0]:
                self.states[index] = state
            index += 1

    def drop_people_connectors(self) -> None:
        """Take "with" before people and "and" or commas between them out of the title."""
        person = _State.PERSON
        for index, state in enumerate(self.states):
            if state is not _State.FREE:
                continue
            word = self.token(index).lower()
            before = index > 0 and self.states[index - 1] is person
            after = index + 1 < len(self.states) and self.states[index + 1] is person
            if (word in _WITH and after) or (word in _AND and before and after):
                self.states[index] = _State.USED

    def release_held(self) -> None:
        """Give ends and lengths that were not used back to the title."""
        self.states = [_State.FREE if s is _State.HELD else s for s in self.states]

    def leftover(self) -> str:
        """Return the free tokens as the title, stray punctuation dropped."""
        kept = (
            self.token(index)
            for index, state in enumerate(self.states)
            if state is _State.FREE and not _PUNCTUATION_ONLY.fullmatch(self.token(index))
        )
        return " ".join(kept).strip(_TITLE_EDGES)


# ---------------------------------------------------------------- clock times

_FLAGS = re.IGNORECASE
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


@dataclass(frozen=True)
class _Clock:
    """A clock time as typed, before am/pm guessing."""

    hour: int
    minute: int
    meridiem: str | None  # "a" or "p"
    strong: bool  # has a colon or am/pm, so it cannot be a plain number
    padded: bool = False  # typed with two hour digits ("03:00"), so surely on a 24-hour clock

    def wall(self, meridiem: str | None = None) -> time:
        """Return the time of day, reading a bare 1 to 6 as afternoon."""
        hour, meridiem = self.hour, self.meridiem or meridiem
        if meridiem == "a":
            hour %= 12
        elif meridiem == "p":
            hour = hour % 12 + 12
        elif 1 <= hour <= 6 and not self.padded:
            # Meetings at 3 at night are rare; "at 3" and "o 5" mean the afternoon.
            hour += 12
        return time(hour, self.minute)

    def readings(self) -> list[time]:
        """Return every time of day it may mean, morning first, for an end after a start."""
        if self.meridiem or self.padded or not 1 <= self.hour <= 11:
            return [self.wall()]
        return [time(self.hour, self.minute), time(self.hour + 12, self.minute)]


def _clock_of(match: re.Match[str], prefix: str = "") -> _Clock | None:
    """Return the clock time a match holds, or None when am/pm makes it impossible ("15pm")."""
    hour = int(match[f"{prefix}h"])
    meridiem = (match[f"{prefix}mer"] or "").lower() or None
    if meridiem and not 1 <= hour <= 12:
        return None
    return _Clock(
        hour=hour,
        minute=int(match[f"{prefix}m"] or 0),
        meridiem=meridiem,
        strong=meridiem is not None or match[f"{prefix}sep"] == ":",
        padded=len(match[f"{prefix}h"]) == 2 and not meridiem,
    )


_TIME_PREPOSITION = r"at|@|o\s+godz(?:\.|inie)?|o|godz\.?"
_TIME = re.compile(
    rf"{_START}(?:(?P<prep>{_TIME_PREPOSITION})\s+)?{_clock_pattern('')}{_END}", _FLAGS
)
_TIME_WORD = re.compile(
    rf"{_START}(?:(?:at|@|o|w)\s+)?(?P<word>noon|midday|midnight|po[łl]udnie|p[óo][łl]nocy?){_END}",
    _FLAGS,
)
_RANGE = re.compile(
    rf"{_START}(?:(?P<lead>from|od|between)\s+|(?:at|@|o)\s+)?{_clock_pattern('a')}\s*"
    rf"(?P<join>-|–|—|to|until|till|do|and)\s*{_clock_pattern('b')}{_END}",
    _FLAGS,
)
# A dash sticks to its time ("-16:30"); "Review - 3pm" is a separator, not an end.
_UNTIL = re.compile(
    rf"{_START}(?:(?P<kw>until|till|til|to|do)\s+|[-–—]){_clock_pattern('')}{_END}", _FLAGS
)


def _find_ranges(words: _Words) -> list[_Found]:
    """Return "15:00-16:30", "3-4pm", "from 10 to 11", "od 15 do 16" with both times."""
    found: list[_Found] = []
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
        found.append(_Found(match.span(), start=start, end=last))
    return found


def _until_clock(match: re.Match[str]) -> _Found | None:
    """Return the end an "until 4pm" match names; a bare hour only after until, till or do."""
    clock = _clock_of(match)
    if clock is None:
        return None
    if not clock.strong and (match["kw"] or "").lower() not in {"until", "till", "til", "do"}:
        return None
    return _Found(match.span(), end=clock)


def _find_clocks(
    words: _Words, pattern: re.Pattern[str], read: Callable[[re.Match[str]], _Found | None]
) -> list[_Found]:
    """Return what read makes of each match of pattern in the free text."""
    found = (read(match) for match in pattern.finditer(words.view()))
    return [item for item in found if item is not None]


def _start_clock(match: re.Match[str]) -> _Found | None:
    """Return the start a time match names; a bare number needs "at" or "o" before it."""
    clock = _clock_of(match)
    if clock is None or not (clock.strong or match["prep"]):
        return None
    return _Found(match.span(), start=clock.wall())


def _word_clock(match: re.Match[str]) -> _Found | None:
    """Return noon or midnight in English or Polish."""
    noon = match["word"].lower() in {"noon", "midday", "południe", "poludnie"}
    return _Found(match.span(), start=time(12) if noon else time(0))


def _take_start_clock(words: _Words, ranges: list[_Found]) -> _Found | None:
    """Return the first start time in the text (a range's start counts) and take it out."""
    candidates = [
        *ranges,
        *_find_clocks(words, _TIME, _start_clock),
        *_find_clocks(words, _TIME_WORD, _word_clock),
    ]
    # "piątek 3.12 o 15": a dotted number after a day is a time only when nothing else is.
    candidates = candidates or _find_clocks(words, _DAY_DOTTED, _dotted_clock)
    if not candidates:
        return None
    first = min(candidates, key=lambda found: found.span[0])
    words.mark(first.span, _State.USED)
    return first


# ---------------------------------------------------------------- lengths

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
    _FLAGS,
)
_WORD_LENGTHS = {"half": 30, "pół": 30, "pol": 30, "półtorej": 90, "poltorej": 90}


def _find_lengths(words: _Words) -> list[_Found]:
    """Return "for 45m", "1h30", "for 1.5 hours", "przez godzinę" and the like."""
    found: list[_Found] = []
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
            found.append(_Found(match.span(), length=length))
    return found


# ---------------------------------------------------------------- dates

_RELDAY = r"(?:the\s+)?day\s+after\s+tomorrow|tomorrow|tmrw|today|pojutrze|jutro|dzisiaj|dzi[śs]"
# No "sat" or "sun": as English words they are far more common than as days.
_WEEKDAY = (
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|(?:mon|tues?|wed|thu(?:rs?)?|fri)\.?"
    r"|poniedzia[łl]ek|wtorek|[śs]rod[aęe]|czwartek|pi[ąa]tek|sobot[aęe]|niedziel[aęe]"
)
_MONTH = (
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
_ON_WEEKDAY = rf"(?:(?:on|dnia)\s+)?(?:(?:{_WEEKDAY}),?\s+)?"
_DATE_RELDAY = re.compile(rf"{_START}(?:(?:on|w|we)\s+)?(?P<core>{_RELDAY}){_END}", _FLAGS)
_DATE_WEEKDAY = re.compile(
    rf"{_START}(?:(?:on|w|we)\s+)?(?:(?:{_PL_NEXT})\s+)?"
    rf"(?P<core>(?:(?:next|this)\s+)?(?:{_WEEKDAY})){_END}",
    _FLAGS,
)
_DATE_NAMED = re.compile(
    rf"{_START}{_ON_WEEKDAY}(?P<core>"
    rf"(?:the\s+)?{_DAYNUM}\s+(?:of\s+)?{_MONTH}(?:,?\s+(?P<y>{_YEAR}))?"
    rf"|{_MONTH}\s+(?:the\s+)?{_DAYNUM}(?:,?\s+(?P<y2>{_YEAR}))?"
    rf"){_END}",
    _FLAGS,
)
_DATE_ISO = re.compile(
    rf"{_START}{_ON_WEEKDAY}(?P<core>(?P<y>{_YEAR})-(?P<mo>[0-9]{{1,2}})-(?P<d>[0-9]{{1,2}})){_END}",
    _FLAGS,
)
_DATE_DOTTED = re.compile(
    rf"{_START}(?P<prep>(?:on|dnia|w)\s+)?(?:(?:{_WEEKDAY}),?\s+)?"
    rf"(?P<core>(?P<d>[0-9]{{1,2}})\.(?P<mo>[0-9]{{1,2}})(?:\.(?P<y>{_YEAR}|[0-9]{{2}}))?)\.?{_END}",
    _FLAGS,
)
_DATE_SLASHED = re.compile(
    rf"{_START}(?P<prep>(?:on|dnia)\s+)?(?:(?:{_WEEKDAY}),?\s+)?"
    rf"(?P<core>(?P<mo>[0-9]{{1,2}})/(?P<d>[0-9]{{1,2}})(?:/(?P<y>{_YEAR}|[0-9]{{2}}))?){_END}",
    _FLAGS,
)
# "jutro 9.30": a dotted time right after a day word, where it cannot be a date.
_DAY_DOTTED = re.compile(
    rf"{_START}(?:{_RELDAY}|{_WEEKDAY})\s+(?P<dh>[01]?[0-9]|2[0-3])\.(?P<dm>[0-5][0-9]){_END}",
    _FLAGS,
)
# Forms dateparser does not know, mapped to ones it does.
_CORE_ALIASES = (
    (re.compile(r"\btmrw\b", _FLAGS), "tomorrow"),
    (re.compile(r"\bthurs?\b", _FLAGS), "thursday"),
)


def _dotted_clock(match: re.Match[str]) -> _Found | None:
    """Return the time of "jutro 9.30", taking only the time, not the day word."""
    clock = _Clock(
        int(match["dh"]), int(match["dm"]), None, strong=True, padded=len(match["dh"]) == 2
    )
    return _Found((match.start("dh"), match.end("dm")), start=clock.wall())


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


def _take_date(
    words: _Words, clock_span: tuple[int, int] | None, local_now: datetime, zone: ZoneInfo
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
            words.mark(found.span, _State.USED)
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


# ---------------------------------------------------------------- places

_PLACE_PREPOSITIONS = {"in", "at", "@", "w", "we"}
_EN_PLACE_NOUNS = {
    "room", "office", "cafe", "café", "kitchen", "lobby", "hall", "building", "lab", "library",
    "restaurant", "bar", "pub", "hotel", "reception", "hq", "boardroom", "studio", "canteen",
    "cafeteria", "park", "garden", "auditorium", "lounge", "bistro",
}  # fmt: skip
# Polish nouns in the locative case, as they follow "w".
_PL_PLACE_NOUNS = {
    "sali", "salce", "pokoju", "biurze", "kawiarni", "restauracji", "budynku", "siedzibie",
    "hotelu", "kuchni", "auli", "gabinecie", "holu", "recepcji", "stołówce", "stolowce",
    "kantynie", "parku", "ogrodzie",
}  # fmt: skip
_PLACE_NOUNS = _EN_PLACE_NOUNS | _PL_PLACE_NOUNS
_PLACE_MODIFIERS = {"the", "our", "conference", "meeting", "board", "coffee", "break", "main"}
# Capitalised, yet not places: "in English", "in Q3".
_NOT_PLACES = {
    "english", "polish", "german", "french", "spanish", "italian", "ukrainian", "russian",
    "q1", "q2", "q3", "q4", "h1", "h2", "the", "a", "an",
}  # fmt: skip
_ROOM_NUMBER = re.compile(r"#?[0-9]{1,5}[A-Za-z]?|[A-Za-z][0-9]{1,5}")
_POLISH_ADJECTIVE = re.compile(r"[a-ząćęłńóśźż]+(?:ej|ym|im)")
_TIME_OR_DATE_WORD = re.compile(
    rf"(?:{_RELDAY}|{_WEEKDAY}|{_MONTH}|noon|midday|midnight|po[łl]udnie|p[óo][łl]noc)", _FLAGS
)
_TRAILING = ",;:.!?)"
_MAX_PLACE_WORDS = 6


def _is_name(word: str) -> bool:
    """Tell whether a word looks like a proper name a place could have."""
    return (
        word[:1].isupper()
        and word.lower() not in _NOT_PLACES
        and not _TIME_OR_DATE_WORD.fullmatch(word)
    )


def _take_place(words: _Words) -> str:
    """Return the place after "in", "at" or "w" when it clearly is one, and take it out."""
    states = words.states
    for index, state in enumerate(states):
        preposition = words.token(index).lstrip("(").lower()
        if state is not _State.FREE or preposition not in _PLACE_PREPOSITIONS:
            continue
        taken = _place_tokens(words, index + 1)
        if taken:
            states[index] = _State.USED
            for part in taken:
                states[part] = _State.USED
            return " ".join(words.token(part) for part in taken).rstrip(_TRAILING)
    return ""


def _place_tokens(words: _Words, first: int) -> list[int]:
    """Return the indexes of the place's words starting at first, or none if it is no place."""
    taken: list[int] = []
    polish_noun = False
    index = first
    while index < len(words.spans) and len(taken) < _MAX_PLACE_WORDS:
        if words.states[index] is not _State.FREE:
            break
        raw = words.token(index)
        word = raw.rstrip(_TRAILING).lstrip("(")
        lower = word.lower()
        next_word = ""
        if index + 1 < len(words.spans) and words.states[index + 1] is _State.FREE:
            next_word = words.token(index + 1).rstrip(_TRAILING)
        if not word:
            break
        if lower in _PLACE_NOUNS or _is_name(word):
            taken.append(index)
            polish_noun = lower in _PL_PLACE_NOUNS
        elif (
            not taken
            and lower in _PLACE_MODIFIERS
            and next_word
            and (next_word.lower() in _PLACE_NOUNS or _is_name(next_word))
        ):
            taken.append(index)
        elif taken and _ROOM_NUMBER.fullmatch(word):
            taken.append(index)
            break  # "Room 4 Design review": the number ends the place
        elif taken and polish_noun and _POLISH_ADJECTIVE.fullmatch(word):
            taken.append(index)  # "sali konferencyjnej": Polish adjectives follow the noun
        else:
            break
        if raw != word and raw[-1:] in _TRAILING:
            break  # a comma or full stop ends the place
        index += 1
    # A modifier alone ("at the") is no place.
    if taken and words.token(taken[-1]).rstrip(_TRAILING).lower() in _PLACE_MODIFIERS:
        return []
    return taken


# ---------------------------------------------------------------- putting it together


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """Return the wall-clock time on that day in the zone, moved past a spring-forward gap."""
    # A time in the gap (02:30 on the spring change) does not exist; the UTC round trip
    # turns it into the wall-clock time an hour later, as calendars do.
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC).astimezone(zone)


def _start_of(
    clock: time | None, day: date | None, now: datetime, zone: ZoneInfo
) -> datetime | None:
    """Return the start the time and date make, or None when neither was found."""
    if day is None:
        if clock is None:
            return None
        today = now.astimezone(zone).date()
        start = _at(today, clock, zone)
        # "9am" said at 11:00 means tomorrow's 9am.
        return start if start >= now else _at(today + timedelta(days=1), clock, zone)
    if clock is None:
        # A day without a time gets the time of day the form would have offered.
        offered = default_times(now, zone)[0]
        if day == now.astimezone(zone).date():
            return offered
        clock = offered.time()
    return _at(day, clock, zone)


def _end_of(
    start: datetime,
    clock: _Found | None,
    untils: list[_Found],
    lengths: list[_Found],
    words: _Words,
    zone: ZoneInfo,
) -> datetime:
    """Return the end the range, "until" or length gives (taking it out), else 30 minutes on."""
    chosen: _Found | None = clock if clock is not None and clock.end is not None else None
    if chosen is None:
        rest = sorted((*untils, *lengths), key=lambda found: found.span[0])
        chosen = rest[0] if rest else None
        if chosen is not None:
            words.mark(chosen.span, _State.USED)
    if chosen is not None and chosen.end is not None:
        return _end_at(start, chosen.end, zone)
    return _after(start, chosen.length if chosen and chosen.length else DEFAULT_LENGTH, zone)


def _after(start: datetime, length: timedelta, zone: ZoneInfo) -> datetime:
    """Return start plus length on the wall clock, with the offset that holds at the end."""
    # Wall-clock, like the rest of Python's same-zone arithmetic, so end > start always holds
    # when compared; only a start inside the repeated autumn hour runs an hour long.
    end = start + length
    return _at(end.date(), end.time(), zone)


def _end_at(start: datetime, clock: _Clock, zone: ZoneInfo) -> datetime:
    """Return the first time after start the end clock can mean ("until 4" after 3pm is 16:00)."""
    # The next day too, for a meeting that runs past midnight ("22:00-01:00").
    ends = (
        _at(start.date() + timedelta(days=days), wall, zone)
        for days in (0, 1)
        for wall in clock.readings()
    )
    return min(end for end in ends if end > start)
