"""The typed words as the reader sees them: people taken out first, then what is claimed."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from datetime import time, timedelta
from enum import Enum

from bot.guests import GuestListError, parse_guest_list

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


def take_people(text: str) -> tuple[str, tuple[str, ...], list[str]]:
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


class State(Enum):
    """Where a token of the text stands."""

    FREE = "free"  # still part of the title
    HELD = "held"  # an end or a length, kept aside until we know there is a start
    USED = "used"  # understood and taken out of the title
    PERSON = "person"  # a member or guest stand-in


@dataclass(frozen=True)
class Found:
    """A recognised phrase: where it is in the text and what it says."""

    span: tuple[int, int]
    start: time | None = None
    end: Clock | None = None
    length: timedelta | None = None


_WITH = {"with", "z", "ze", "cc"}


_AND = {"and", "&", "i", "oraz", ",", "+"}


_PUNCTUATION_ONLY = re.compile(r"[,;.]+")


_TITLE_EDGES = " ,;:-–—|/"


class Words:
    """The text as whitespace-separated tokens, each free for the title or taken."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.spans = [match.span() for match in re.finditer(r"\S+", text)]
        self.starts = [start for start, _ in self.spans]
        self.states = [
            State.PERSON if text[start:end] == _PERSON else State.FREE for start, end in self.spans
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
            if state in (State.HELD, State.USED):
                pieces.append(self.text[last:start])
                pieces.append(_HIDDEN * (end - start))
                last = end
        pieces.append(self.text[last:])
        return "".join(pieces)

    def mark(self, span: tuple[int, int], state: State) -> None:
        """Mark every token the character span touches."""
        index = max(bisect.bisect_right(self.starts, span[0]) - 1, 0)
        while index < len(self.spans) and self.spans[index][0] < span[1]:
            if self.spans[index][1] > span[0]:
                self.states[index] = state
            index += 1

    def drop_people_connectors(self) -> None:
        """Take "with" before people and "and" or commas between them out of the title."""
        person = State.PERSON
        for index, state in enumerate(self.states):
            if state is not State.FREE:
                continue
            word = self.token(index).lower()
            before = index > 0 and self.states[index - 1] is person
            after = index + 1 < len(self.states) and self.states[index + 1] is person
            if (word in _WITH and after) or (word in _AND and before and after):
                self.states[index] = State.USED

    def release_held(self) -> None:
        """Give ends and lengths that were not used back to the title."""
        self.states = [State.FREE if s is State.HELD else s for s in self.states]

    def leftover(self) -> str:
        """Return the free tokens as the title, stray punctuation dropped."""
        kept = (
            self.token(index)
            for index, state in enumerate(self.states)
            if state is State.FREE and not _PUNCTUATION_ONLY.fullmatch(self.token(index))
        )
        return " ".join(kept).strip(_TITLE_EDGES)


@dataclass(frozen=True)
class Clock:
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
