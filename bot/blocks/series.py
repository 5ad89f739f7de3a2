"""How a repeating meeting reads in Slack: its rule in words and its next occurrence; pure."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from babel.dates import format_datetime

from bot.blocks.kit import (
    ANSWER_EMOJI,
    ANSWER_WORDS,
    LINE_PART_LIMIT,
    Block,
    View,
    button,
    context,
    escape,
    input_block,
    option,
    plain,
    shorten,
    slack_time,
    span,
)
from bot.clock import utc_now
from bot.i18n import N_, Language, Translator, babel_locale, translator
from bot.meetings.model import Meeting
from bot.meetings.occurrences import next_occurrence, series_occurrences
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


# Which meetings of a series a cancellation is for.
CANCEL_SCOPES = {
    "one": N_("Only this meeting"),
    "following": N_("This meeting and all after it"),
    "all": N_("The whole series"),
}
# Upcoming occurrences offered to pick from; later ones are cancelled with "all after it".
OCCURRENCE_CHOICES = 50


def occurrence_label(meeting: Meeting, start: datetime, language: Language) -> str:
    """Return an occurrence as an option shows it, on the organizer's clock."""
    local = start.astimezone(zone_named(meeting.organizer.timezone))
    return format_datetime(local, "EEE d MMM y, HH:mm zzz", locale=babel_locale(language))


def series_cancel_inputs(t: Translator, meeting: Meeting) -> list[Block]:
    """Return "Which meeting" and "Cancel what" for a series' cancel form; none for one meeting."""
    if meeting.series is None:
        return []
    upcoming = series_occurrences(meeting, after=utc_now(), limit=OCCURRENCE_CHOICES)
    if not upcoming:
        return []
    language = language_of_translator(t)
    occurrences = [
        option(occurrence_label(meeting, o.start, language), str(int(o.recurrence_id.timestamp())))
        for o in upcoming
    ]
    scopes = [option(t.gettext(words), scope) for scope, words in CANCEL_SCOPES.items()]
    which: dict[str, Any] = {
        "type": "static_select",
        "action_id": "value",
        "options": occurrences,
        "initial_option": occurrences[0],
    }
    scope: dict[str, Any] = {
        "type": "radio_buttons",
        "action_id": "value",
        "options": scopes,
        "initial_option": scopes[0],
    }
    return [
        input_block("occurrence", t.gettext("Which meeting"), which),
        input_block("scope", t.gettext("Cancel"), scope),
    ]


def read_cancel_scope(values: dict[str, Any]) -> tuple[str, datetime | None]:
    """Return what a series' cancel form asks ("one", "following", "all") and for which one."""

    def chosen(block_id: str) -> str:
        block = values.get(block_id) or {}
        state = next(iter(block.values()), None) or {}
        return str((state.get("selected_option") or {}).get("value") or "")

    scope = chosen("scope") if chosen("scope") in CANCEL_SCOPES else "all"
    stamp = chosen("occurrence")
    if scope == "all" or not stamp.isdigit():
        return "all", None
    return scope, datetime.fromtimestamp(int(stamp), UTC)


# Answers to single occurrences listed on the summary; the rest are counted.
LISTED_OCCURRENCE_ANSWERS = 10


def occurrence_answer_blocks(t: Translator, meeting: Meeting) -> list[Block]:
    """Return the answers given to single meetings of a series, for the organizer's summary."""
    if meeting.series is None or not meeting.series.answers:
        return []
    lines = []
    for given in meeting.series.answers[:LISTED_OCCURRENCE_ANSWERS]:
        invitee = meeting.invitee(given.attendee_id)
        who = (
            f"<@{invitee.slack_user_id}>"
            if invitee.is_member
            else escape(shorten(invitee.guest_label(), LINE_PART_LIMIT))
        )
        when = slack_time(given.recurrence_id, "{date_short_pretty}")
        words = t.gettext(ANSWER_WORDS[given.answer])
        lines.append(f"{ANSWER_EMOJI[given.answer]} {who} — {when}: {words}")
    heading = t.gettext("Answers for single meetings of the series:")
    return [context("\n".join([heading, *lines]))]


MOVE_ACTION = "move_occurrence"
MOVE_CALLBACK = "meet_move_occurrence"


def series_buttons(t: Translator, meeting: Meeting) -> list[dict[str, Any]]:
    """Return the organizer's "Move one meeting" button for a series; none for one meeting."""
    if meeting.series is None:
        return []
    return [button(t.gettext("Move one meeting"), MOVE_ACTION, str(meeting.id))]


def _picker(block_id: str, label: str, moment: datetime) -> Block:
    element = {
        "type": "datetimepicker",
        "action_id": "value",
        "initial_date_time": int(moment.timestamp()),
    }
    return input_block(block_id, label, element)


def move_modal(meeting: Meeting, *, language: Language) -> View:
    """Return the form moving one occurrence of a series to another time."""
    t = translator(language)
    upcoming = series_occurrences(meeting, after=utc_now(), limit=OCCURRENCE_CHOICES)
    occurrences = [
        option(occurrence_label(meeting, o.start, language), str(int(o.recurrence_id.timestamp())))
        for o in upcoming
    ]
    blocks: list[Block] = []
    if occurrences:
        which = {
            "type": "static_select",
            "action_id": "value",
            "options": occurrences,
            "initial_option": occurrences[0],
        }
        first = upcoming[0]
        blocks = [
            input_block("occurrence", t.gettext("Which meeting"), which),
            _picker("start", t.gettext("Starts"), first.start),
            _picker("end", t.gettext("Ends"), first.end),
        ]
    return {
        "type": "modal",
        "callback_id": MOVE_CALLBACK,
        "private_metadata": json.dumps({"meeting_id": meeting.id, "version": meeting.version}),
        "title": plain(t.gettext("Move one meeting")),
        "submit": plain(t.gettext("Move it")),
        "close": plain(t.gettext("Close")),
        "blocks": blocks or [context(t.gettext("Nothing coming up."))],
    }


def read_move(values: dict[str, Any]) -> tuple[datetime | None, datetime | None, datetime | None]:
    """Return the occurrence a move form picked and its new start and end."""

    def state(block_id: str) -> dict[str, Any]:
        block = values.get(block_id) or {}
        return dict(next(iter(block.values()), None) or {})

    picked = str((state("occurrence").get("selected_option") or {}).get("value") or "")
    moments = [state(b).get("selected_date_time") for b in ("start", "end")]
    start, end = (datetime.fromtimestamp(int(m), UTC) if m is not None else None for m in moments)
    occurrence = datetime.fromtimestamp(int(picked), UTC) if picked.isdigit() else None
    return occurrence, start, end
