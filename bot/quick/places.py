"""Where a typed phrase says: 'in Room 4', 'w sali 2', 'at the Office'."""

from __future__ import annotations

import re

from bot.quick.when import FLAGS, MONTH, RELDAY, WEEKDAY
from bot.quick.words import State, Words

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
    rf"(?:{RELDAY}|{WEEKDAY}|{MONTH}|noon|midday|midnight|po[łl]udnie|p[óo][łl]noc)", FLAGS
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


def take_place(words: Words) -> str:
    """Return the place after "in", "at" or "w" when it clearly is one, and take it out."""
    states = words.states
    for index, state in enumerate(states):
        preposition = words.token(index).lstrip("(").lower()
        if state is not State.FREE or preposition not in _PLACE_PREPOSITIONS:
            continue
        taken = _place_tokens(words, index + 1)
        if taken:
            states[index] = State.USED
            for part in taken:
                states[part] = State.USED
            return " ".join(words.token(part) for part in taken).rstrip(_TRAILING)
    return ""


def _place_tokens(words: Words, first: int) -> list[int]:
    """Return the indexes of the place's words starting at first, or none if it is no place."""
    taken: list[int] = []
    polish_noun = False
    index = first
    while index < len(words.spans) and len(taken) < _MAX_PLACE_WORDS:
        if words.states[index] is not State.FREE:
            break
        raw = words.token(index)
        word = raw.rstrip(_TRAILING).lstrip("(")
        lower = word.lower()
        next_word = ""
        if index + 1 < len(words.spans) and words.states[index + 1] is State.FREE:
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
