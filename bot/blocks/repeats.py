"""The form's "Repeats" inputs: how often, on which days, until a day or after N times; pure."""

from __future__ import annotations

from datetime import date
from typing import Any

from babel.dates import get_day_names

from bot.blocks.kit import Block, input_block, option, plain
from bot.i18n import N_, Language, Translator, babel_locale
from bot.meetings.recurrence import MAX_COUNT
from bot.meetings.repeat_choice import Repeat, RepeatChoice

# English words, translated where shown.
REPEAT_WORDS = {
    Repeat.NEVER: N_("Never"),
    Repeat.DAILY: N_("Every day"),
    Repeat.WEEKDAYS: N_("Every weekday (Monday to Friday)"),
    Repeat.WEEKLY: N_("Every week"),
    Repeat.BIWEEKLY: N_("Every two weeks"),
    Repeat.MONTHLY_DATE: N_("Every month on the same date"),
    Repeat.MONTHLY_WEEKDAY: N_("Every month on the same weekday (e.g. second Tuesday)"),
}
REPEAT_BLOCKS = ("repeats", "repeat_days", "repeat_until", "repeat_count")


def repeat_inputs(t: Translator, choice: RepeatChoice, language: Language) -> list[Block]:
    """Return the "Repeats" inputs, showing a choice."""
    options = [option(t.gettext(words), repeat.value) for repeat, words in REPEAT_WORDS.items()]
    chosen = next(o for o in options if o["value"] == choice.repeat.value)
    names = get_day_names("wide", locale=babel_locale(language))
    days = [option(str(names[day]).capitalize(), str(day)) for day in range(7)]
    days_element: dict[str, Any] = {"type": "checkboxes", "action_id": "value", "options": days}
    if choice.days:
        days_element["initial_options"] = [days[day] for day in sorted(set(choice.days))]
    until: dict[str, Any] = {"type": "datepicker", "action_id": "value"}
    if choice.until is not None:
        until["initial_date"] = choice.until.isoformat()
    count: dict[str, Any] = {
        "type": "number_input",
        "action_id": "value",
        "is_decimal_allowed": False,
        "min_value": "1",
        "max_value": str(MAX_COUNT),
    }
    if choice.count is not None:
        count["initial_value"] = str(choice.count)
    select = {
        "type": "static_select",
        "action_id": "value",
        "options": options,
        "initial_option": chosen,
    }
    return [
        input_block("repeats", t.gettext("Repeats"), select),
        {
            **input_block(
                "repeat_days", t.gettext("On these days (weekly)"), days_element, optional=True
            ),
            "hint": plain(t.gettext("Left empty: the first meeting's day.")),
        },
        {
            **input_block("repeat_until", t.gettext("Until"), until, optional=True),
            "hint": plain(t.gettext("Or after a number of times; with neither, five years.")),
        },
        input_block("repeat_count", t.gettext("Or after this many times"), count, optional=True),
    ]


def _value(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    block = values.get(block_id) or {}
    return dict(next(iter(block.values()), None) or {})


def read_repeat(values: dict[str, Any]) -> RepeatChoice:
    """Read the "Repeats" inputs of a submitted or changed form (by block id)."""
    chosen = str((_value(values, "repeats").get("selected_option") or {}).get("value", ""))
    repeat = Repeat(chosen) if chosen in set(Repeat) else Repeat.NEVER
    days = tuple(
        int(v)
        for o in _value(values, "repeat_days").get("selected_options") or []
        if (v := str(o.get("value"))).isdigit() and int(v) < 7
    )
    typed_until = _value(values, "repeat_until").get("selected_date")
    try:
        until = date.fromisoformat(str(typed_until)) if typed_until else None
    except ValueError:
        until = None
    typed_count = str(_value(values, "repeat_count").get("value") or "").strip()
    # Slack checks the number; anything else still reaches the form's checks as out of range.
    count = int(typed_count) if typed_count.isdigit() else (0 if typed_count else None)
    return RepeatChoice(repeat, days, until, count)
