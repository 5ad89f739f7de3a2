"""A series in words: `Every Monday 10:00 until 30 March`, in English and Polish."""

from __future__ import annotations

from datetime import datetime, tzinfo

from babel.dates import format_date, get_day_names

from bot.i18n import N_, Language, Translator, babel_locale, format_time_of_day, translator
from bot.meetings.model import Meeting
from bot.meetings.recurrence import WEEKDAYS, rule_parts, rule_until, zone_named

# One text per weekday: Polish says "w każdy poniedziałek" but "w każdą środę".
EVERY_WEEKDAY = (
    N_("Every Monday"),
    N_("Every Tuesday"),
    N_("Every Wednesday"),
    N_("Every Thursday"),
    N_("Every Friday"),
    N_("Every Saturday"),
    N_("Every Sunday"),
)
# Monthly "second Tuesday": the weekday's name and which of the month's it is.
NTH = {
    1: N_("Monthly on the first {weekday}"),
    2: N_("Monthly on the second {weekday}"),
    3: N_("Monthly on the third {weekday}"),
    4: N_("Monthly on the fourth {weekday}"),
    -1: N_("Monthly on the last {weekday}"),
}


def _day_names(days: str, language: Language) -> str:
    names = get_day_names("wide", locale=babel_locale(language))
    return ", ".join(names[WEEKDAYS.index(day[-2:])] for day in days.split(","))


def _how_often(t: Translator, parts: dict[str, str], language: Language) -> str:
    freq, interval, byday = parts["FREQ"], int(parts.get("INTERVAL", "1")), parts.get("BYDAY", "")
    if freq == "DAILY":
        if interval == 1:
            return t.gettext("Every day")
        return t.ngettext("Every {count} day", "Every {count} days", interval).format(
            count=interval
        )
    if freq == "WEEKLY":
        if byday == "MO,TU,WE,TH,FR" and interval == 1:
            return t.gettext("Every weekday")
        if interval == 1 and byday and "," not in byday:
            return t.gettext(EVERY_WEEKDAY[WEEKDAYS.index(byday)])
        days = _day_names(byday, language) if byday else ""
        if interval == 1:
            return t.gettext("Every week on {days}").format(days=days)
        return t.ngettext(
            "Every {count} week on {days}", "Every {count} weeks on {days}", interval
        ).format(count=interval, days=days)
    if freq == "MONTHLY" and interval == 1:
        if "BYMONTHDAY" in parts:
            return t.gettext("Monthly on day {day}").format(day=parts["BYMONTHDAY"])
        if byday and byday[:-2].lstrip("+").lstrip("-").isdigit():
            nth = int(byday[:-2])
            if nth in NTH:
                weekday = _day_names(byday[-2:], language)
                return t.gettext(NTH[nth]).format(weekday=weekday)
    if freq == "YEARLY" and interval == 1:
        return t.gettext("Every year")
    return t.gettext("Repeats")


def describe_series(rule: str, start: datetime, zone: tzinfo, language: Language) -> str:
    """Return how a series repeats, at what time, until when or how many times."""
    t = translator(language)
    parts = rule_parts(rule)
    local_start = start.astimezone(zone)
    words = f"{_how_often(t, parts, language)} {format_time_of_day(local_start, language)}"
    until = rule_until(rule)
    if until is not None:
        last_day = until.astimezone(zone)
        layout = "d MMMM" if last_day.year == local_start.year else "d MMMM y"
        day = format_date(last_day.date(), layout, locale=babel_locale(language))
        return t.gettext("{repeats} until {day}").format(repeats=words, day=day)
    count = int(parts.get("COUNT", "0"))
    if count:
        return t.ngettext("{repeats}, {count} time", "{repeats}, {count} times", count).format(
            repeats=words, count=count
        )
    return words


def series_when(meeting: Meeting, first: str, language: Language) -> str:
    """Return when a meeting is, as mail says it: a series' rule in words and its first time."""
    if meeting.series is None:
        return first
    zone = zone_named(meeting.organizer.timezone)
    repeats = describe_series(meeting.series.rule, meeting.start, zone, language)
    return (
        translator(language)
        .gettext("{repeats}, first on {when}")
        .format(repeats=repeats, when=first)
    )
