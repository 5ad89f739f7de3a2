"""How a repeating meeting reads in Slack: its rule in words and its next occurrence; pure."""

from __future__ import annotations

from bot.blocks.kit import span
from bot.clock import utc_now
from bot.i18n import Language, Translator, translator
from bot.meetings.model import Meeting
from bot.meetings.occurrences import next_occurrence
from bot.meetings.recurrence import zone_named
from bot.meetings.recurrence_words import describe_series


def language_of_translator(t: Translator) -> Language:
    """Return the language a translator speaks (translators are made once per language)."""
    return next((language for language in Language if translator(language) is t), Language.EN)


def series_lines(t: Translator, meeting: Meeting) -> list[str]:
    """Return "Repeats: Every Monday 10:00 until 30 March" and "Next: …"; none for one meeting."""
    if meeting.series is None:
        return []
    language = language_of_translator(t)
    zone = zone_named(meeting.organizer.timezone)
    repeats = describe_series(meeting.series.rule, meeting.start, zone, language)
    lines = [t.gettext("*Repeats:* {repeats}").format(repeats=repeats)]
    upcoming = next_occurrence(meeting, utc_now())
    if upcoming is None:
        lines.append(t.gettext("*Next:* none, the series is over"))
    else:
        lines.append(t.gettext("*Next:* {when}").format(when=span(upcoming.start, upcoming.end)))
    return lines
