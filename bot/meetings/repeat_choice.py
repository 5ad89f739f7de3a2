"""The form's "Repeats" choices, turned into an RRULE and read back from one; pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from enum import StrEnum

from bot.meetings.recurrence import WEEKDAYS, rule_parts, rule_until


class Repeat(StrEnum):
    """How often a meeting repeats, as the form offers it."""

    NEVER = "never"
    DAILY = "daily"
    WEEKDAYS = "weekdays"
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY_DATE = "monthly-date"
    MONTHLY_WEEKDAY = "monthly-weekday"


@dataclass(frozen=True)
class RepeatChoice:
    """What the form's "Repeats" inputs say: how often, on which days, and until when."""

    repeat: Repeat = Repeat.NEVER
    # Weekdays for weekly repeats, 0 = Monday; none means the first meeting's own.
    days: tuple[int, ...] = ()
    until: date | None = None
    count: int | None = None


def nth_weekday(day: date) -> int:
    """Return which of its month's weekdays a day is: 1..4, or -1 for a fifth (the last)."""
    nth = (day.day - 1) // 7 + 1
    return -1 if nth == 5 else nth


def rule_for(choice: RepeatChoice, local_start: datetime) -> str | None:
    """Return the RRULE text the choice describes (not yet checked), or None for no repeats."""
    weekday = WEEKDAYS[local_start.weekday()]
    days = ",".join(WEEKDAYS[d] for d in sorted(set(choice.days))) or weekday
    rules = {
        Repeat.NEVER: None,
        Repeat.DAILY: "FREQ=DAILY",
        Repeat.WEEKDAYS: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        Repeat.WEEKLY: f"FREQ=WEEKLY;BYDAY={days}",
        Repeat.BIWEEKLY: f"FREQ=WEEKLY;INTERVAL=2;BYDAY={days}",
        Repeat.MONTHLY_DATE: f"FREQ=MONTHLY;BYMONTHDAY={local_start.day}",
        Repeat.MONTHLY_WEEKDAY: f"FREQ=MONTHLY;BYDAY={nth_weekday(local_start)}{weekday}",
    }
    rule = rules[choice.repeat]
    if rule is None:
        return None
    if choice.count is not None:
        rule += f";COUNT={choice.count}"
    if choice.until is not None:
        rule += f";UNTIL={choice.until:%Y%m%d}"
    return rule


def choice_of(rule: str | None, zone: tzinfo) -> RepeatChoice:
    """Return the form's choice showing a stored rule (a rule the form cannot show: never)."""
    if not rule:
        return RepeatChoice()
    parts = rule_parts(rule)
    freq, interval, byday = parts["FREQ"], parts.get("INTERVAL", "1"), parts.get("BYDAY", "")
    days = tuple(WEEKDAYS.index(d[-2:]) for d in byday.split(",") if d)
    repeat: Repeat | None = None
    if freq == "DAILY" and interval == "1":
        repeat = Repeat.DAILY
    elif freq == "WEEKLY" and byday == "MO,TU,WE,TH,FR" and interval == "1":
        repeat = Repeat.WEEKDAYS
    elif freq == "WEEKLY" and interval in ("1", "2"):
        repeat = Repeat.WEEKLY if interval == "1" else Repeat.BIWEEKLY
    elif freq == "MONTHLY" and interval == "1":
        repeat = Repeat.MONTHLY_DATE if "BYMONTHDAY" in parts else Repeat.MONTHLY_WEEKDAY
    if repeat is None:
        return RepeatChoice()
    until = rule_until(rule)
    return RepeatChoice(
        repeat=repeat,
        days=days if repeat in (Repeat.WEEKLY, Repeat.BIWEEKLY) else (),
        until=until.astimezone(zone).date() if until else None,
        count=int(parts["COUNT"]) if "COUNT" in parts else None,
    )
