"""How a repeating meeting reads in Slack: its rule in words and its next occurrence; pure."""

from __future__ import annotations

import json
from dataclasses import replace
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
    meeting_modal,
    option,
    shorten,
    slack_time,
    span,
    text_element,
)
from bot.blocks.meeting_form import FROM_OCCURRENCE, FormValues, edit_modal, form_values_of
from bot.clock import utc_now
from bot.drafts import MAX_LOCATION, MAX_TITLE
from bot.i18n import N_, Language, Translator, babel_locale, translator
from bot.meetings.model import Meeting, OccurrenceEdit, SeriesSplit
from bot.meetings.occurrences import next_occurrence, one_occurrence, series_occurrences
from bot.meetings.recurrence import going_on_from, zone_named
from bot.meetings.recurrence_words import describe_series
from bot.meetings.repeat_choice import choice_of


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


# Which meetings of a series a cancellation or an edit is for.
SERIES_SCOPES = {
    "one": N_("Only this meeting"),
    "following": N_("This meeting and all after it"),
    "all": N_("The whole series"),
}
# Upcoming occurrences offered to pick from; later ones are reached with "all after it".
OCCURRENCE_CHOICES = 50


def occurrence_label(meeting: Meeting, start: datetime, language: Language) -> str:
    """Return an occurrence as an option shows it, on the organizer's clock."""
    local = start.astimezone(zone_named(meeting.organizer.timezone))
    return format_datetime(local, "EEE d MMM y, HH:mm zzz", locale=babel_locale(language))


def _occurrence_options(meeting: Meeting, language: Language) -> list[dict[str, Any]]:
    upcoming = series_occurrences(meeting, after=utc_now(), limit=OCCURRENCE_CHOICES)
    return [
        option(occurrence_label(meeting, o.start, language), str(int(o.recurrence_id.timestamp())))
        for o in upcoming
    ]


def _scope_inputs(t: Translator, meeting: Meeting, label: str) -> list[Block]:
    """Return "Which meeting" and which of them (only it, it and after, all); none if none."""
    if meeting.series is None:
        return []
    occurrences = _occurrence_options(meeting, language_of_translator(t))
    if not occurrences:
        return []
    scopes = [option(t.gettext(words), scope) for scope, words in SERIES_SCOPES.items()]
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
        input_block("scope", label, scope),
    ]


def series_cancel_inputs(t: Translator, meeting: Meeting) -> list[Block]:
    """Return "Which meeting" and "Cancel what" for a series' cancel form; none for one meeting."""
    return _scope_inputs(t, meeting, t.gettext("Cancel"))


def read_scope(values: dict[str, Any]) -> tuple[str, datetime | None]:
    """Return what a series' cancel or edit question asks ("one", "following", "all") and for
    which occurrence."""

    def chosen(block_id: str) -> str:
        block = values.get(block_id) or {}
        state = next(iter(block.values()), None) or {}
        return str((state.get("selected_option") or {}).get("value") or "")

    scope = chosen("scope") if chosen("scope") in SERIES_SCOPES else "all"
    stamp = chosen("occurrence")
    if scope == "all" or not stamp.isdigit():
        return "all", None
    return scope, datetime.fromtimestamp(int(stamp), UTC)


EDIT_SCOPE_CALLBACK = "meet_edit_scope"


def edit_scope_modal(meeting: Meeting, *, language: Language) -> View | None:
    """Return the question an edit of a series starts with; None when none is left to ask."""
    t = translator(language)
    inputs = _scope_inputs(t, meeting, t.gettext("Change"))
    if not inputs:
        return None
    title, submit = t.gettext("Edit meeting"), t.gettext("Continue")
    return meeting_modal(EDIT_SCOPE_CALLBACK, meeting, title, submit, t.gettext("Close"), inputs)


def following_values(values: FormValues, meeting: Meeting, recurrence_id: datetime) -> FormValues:
    """Return the edit form's values for a series going on from one occurrence.

    The form opens at that occurrence's usual time, and "after N times" counts only the
    meetings from it on.
    """
    assert meeting.series is not None
    zone = zone_named(meeting.organizer.timezone)
    rule = going_on_from(meeting.series.rule, meeting.start, zone, recurrence_id)
    return replace(
        values,
        start=recurrence_id,
        end=recurrence_id + (meeting.end - meeting.start),
        repeat=choice_of(rule, zone),
    )


def scoped_edit_form(
    meeting: Meeting,
    scope: str,
    occurrence: datetime | None,
    *,
    language: Language,
    video_offered: bool,
) -> View:
    """Return the form for the meetings of a series the organizer chose to change."""
    if scope == "one" and occurrence is not None:
        return move_modal(meeting, language=language, picked=occurrence)
    values = form_values_of(meeting, video_offered=video_offered)
    if scope == "following" and occurrence is not None:
        values = following_values(values, meeting, occurrence)
        return edit_modal(
            values, meeting.id, meeting.version, language=language, following=occurrence
        )
    return edit_modal(values, meeting.id, meeting.version, language=language)


def edited_from(view: dict[str, Any]) -> datetime | None:
    """Return the occurrence an edit form changes the series from, if it is such a form."""
    stamp = json.loads(view.get("private_metadata") or "{}").get(FROM_OCCURRENCE)
    return datetime.fromtimestamp(int(stamp), UTC) if isinstance(stamp, int) else None


def split_outcome(split: SeriesSplit, *, language: Language) -> str:
    """Return what the organizer is told once a series goes on as a new one (plain text)."""
    t = translator(language)
    ended, started = split.ended, split.started
    last = series_occurrences(ended)
    return t.gettext(
        "“{title}” now ends with the meeting on {last}. From {first} on it goes on as a new "
        "series with your changes, “{new_title}”: everyone was invited to it and asked to "
        "answer again."
    ).format(
        title=ended.title,
        last=occurrence_label(ended, last[-1].start, language) if last else "—",
        first=occurrence_label(started, started.start, language),
        new_title=started.title,
    )


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
# Picking another meeting in "Change one meeting" redraws the form with that meeting's values.
MOVE_PICK_ACTION = "move_occurrence_pick"


def series_buttons(t: Translator, meeting: Meeting) -> list[dict[str, Any]]:
    """Return the organizer's "Change one meeting" button for a series; none for one meeting."""
    if meeting.series is None:
        return []
    return [button(t.gettext("Change one meeting"), MOVE_ACTION, str(meeting.id))]


def _picker(block_id: str, label: str, moment: datetime, action_id: str) -> Block:
    element = {
        "type": "datetimepicker",
        "action_id": action_id,
        "initial_date_time": int(moment.timestamp()),
    }
    return input_block(block_id, label, element)


def move_modal(meeting: Meeting, *, language: Language, picked: datetime | None = None) -> View:
    """Return the form changing one occurrence of a series (the picked one first): its time,
    title and place."""
    t = translator(language)
    upcoming = series_occurrences(meeting, after=utc_now(), limit=OCCURRENCE_CHOICES)
    occurrences = _occurrence_options(meeting, language)
    blocks: list[Block] = []
    if occurrences:
        at = next((n for n, o in enumerate(upcoming) if o.recurrence_id == picked), 0)
        which = {
            "type": "static_select",
            "action_id": MOVE_PICK_ACTION,
            "options": occurrences,
            "initial_option": occurrences[at],
        }
        # Filled in as the chosen meeting is now (its own title and place, if it has them).
        shown = one_occurrence(meeting, upcoming[at].recurrence_id)
        # Slack keeps what an input showed while its ids stay the same: each meeting's fields
        # get action ids of their own, so picking another one shows its values.
        own = f"value_{int(upcoming[at].recurrence_id.timestamp())}"
        title = text_element(shown.title, MAX_TITLE) | {"action_id": own}
        location = text_element(shown.location, MAX_LOCATION) | {"action_id": own}
        blocks = [
            input_block("occurrence", t.gettext("Which meeting"), which)
            | {"dispatch_action": True},
            input_block("title", t.gettext("Title"), title),
            _picker("start", t.gettext("Starts"), shown.start, own),
            _picker("end", t.gettext("Ends"), shown.end, own),
            input_block("location", t.gettext("Place"), location, optional=True),
        ]
    return meeting_modal(
        MOVE_CALLBACK,
        meeting,
        t.gettext("Change one meeting"),
        t.gettext("Save changes"),
        t.gettext("Close"),
        blocks or [context(t.gettext("Nothing coming up."))],
    )


def picked_occurrence(action: dict[str, Any]) -> datetime | None:
    """Return the meeting just picked in a "Change one meeting" form (its RECURRENCE-ID)."""
    picked = str((action.get("selected_option") or {}).get("value") or "")
    return datetime.fromtimestamp(int(picked), UTC) if picked.isdigit() else None


def read_move(values: dict[str, Any]) -> tuple[datetime | None, OccurrenceEdit | None]:
    """Return the occurrence a "Change one meeting" form picked and what it asks of it."""

    def state(block_id: str) -> dict[str, Any]:
        block = values.get(block_id) or {}
        return dict(next(iter(block.values()), None) or {})

    picked = str((state("occurrence").get("selected_option") or {}).get("value") or "")
    occurrence = datetime.fromtimestamp(int(picked), UTC) if picked.isdigit() else None
    moments = [state(b).get("selected_date_time") for b in ("start", "end")]
    if None in moments:
        return occurrence, None
    start, end = (datetime.fromtimestamp(int(m), UTC) for m in moments if m is not None)
    title = str(state("title").get("value") or "").strip()[:MAX_TITLE]
    location = str(state("location").get("value") or "").strip()[:MAX_LOCATION]
    return occurrence, OccurrenceEdit(start, end, title, location)
