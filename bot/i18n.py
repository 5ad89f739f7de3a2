"""The languages Meetbot speaks: message catalogs and date formatting for each of them."""

from __future__ import annotations

import functools
import gettext
from datetime import datetime, tzinfo
from enum import StrEnum
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime, format_interval, get_timezone_name
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import Environment, PackageLoader, select_autoescape

from bot.links import first_link, linkify

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "meetbot"
# The gettext interface builders use: gettext, ngettext (and Jinja's i18n extension).
Translator = gettext.NullTranslations


class Language(StrEnum):
    """A language Meetbot writes in; the value is its ISO 639-1 code."""

    EN = "en"
    PL = "pl"


DEFAULT_LANGUAGE = Language.EN
# Babel locale per language. English is written the British way: a 24-hour clock and the day
# before the month, as Meetbot's English always was.
_BABEL_LOCALES = {Language.EN: Locale.parse("en_GB"), Language.PL: Locale.parse("pl_PL")}


def N_(message: str) -> str:
    """Mark a text for translation where it is defined; it is translated where it is shown."""
    return message


class TranslatableError(ValueError):
    """An error whose message is an English template with values, shown in the reader's words."""

    def __init__(self, template: str, **values: object) -> None:
        super().__init__(template.format(**values))
        self.template = template
        self.values = values

    def translated(self, language: Language) -> str:
        """Return the message in a language."""
        return translator(language).gettext(self.template).format(**self.values)


def language_of(code: str | None) -> Language:
    """Return the language a stored code names, or English for anything unknown."""
    try:
        return Language(code or DEFAULT_LANGUAGE)
    except ValueError:
        return DEFAULT_LANGUAGE


def language_for_slack_locale(locale: str | None) -> Language:
    """Return the language for a Slack locale such as `pl-PL` or `en-US`; English otherwise."""
    primary = (locale or "").replace("_", "-").partition("-")[0].lower()
    return language_of(primary)


def language_for_accept_language(header: str | None) -> Language:
    """Return the language a browser asks for first among ours (`pl,en;q=0.8` -> Polish)."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        weighted.append((-quality, position, tag))
    for negative_quality, _, tag in sorted(weighted):
        primary = tag.strip().partition("-")[0].lower()
        if negative_quality < 0 and primary in {language.value for language in Language}:
            return Language(primary)
    return DEFAULT_LANGUAGE


def catalog_path(language: Language) -> Path:
    """Return where the language's .po catalog lives."""
    return LOCALE_DIR / language.value / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translator(language: Language) -> Translator:
    """Return the translations of a language, compiled in memory from its .po catalog."""
    if language is Language.EN:
        return NullTranslations()
    # Reading the .po at run time means no build step and no compiled file that can drift
    # from its source; fuzzy entries are left out, as msgfmt would.
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=_BABEL_LOCALES[language], domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def babel_locale(language: Language) -> Locale:
    """Return the Babel locale dates and times are written in for a language."""
    return _BABEL_LOCALES[language]


def format_day(moment: datetime, language: Language) -> str:
    """Return a day in full: `Thursday, 3 December 2026`, `czwartek, 3 grudnia 2026`."""
    return format_date(moment, "full", locale=_BABEL_LOCALES[language])


def format_time_of_day(moment: datetime, language: Language) -> str:
    """Return the hour and minute: `14:00`."""
    return format_datetime(moment, "HH:mm", locale=_BABEL_LOCALES[language])


def format_weekday_time(moment: datetime, language: Language) -> str:
    """Return a short weekday and time: `Thu 14:00`, `czw. 14:00`."""
    return format_datetime(moment, "EEE HH:mm", locale=_BABEL_LOCALES[language])


def format_zone(moment: datetime, language: Language) -> str:
    """Return the zone a moment is in, named and with its offset from UTC."""
    locale = _BABEL_LOCALES[language]
    offset = format_datetime(moment, "xxx", locale=locale)
    return f"{get_timezone_name(moment, locale=locale)}, UTC{offset}"


def format_span(start: datetime, end: datetime, zone: tzinfo, language: Language) -> str:
    """Return a span of time in a zone, the zone named, in the language's words."""
    start, end = start.astimezone(zone), end.astimezone(zone)
    locale = _BABEL_LOCALES[language]
    if start.date() == end.date():
        hours = format_interval(start, end, "Hm", tzinfo=zone, locale=locale)
        return f"{format_day(start, language)}, {hours} ({format_zone(start, language)})"
    return (
        f"{format_day(start, language)}, {format_time_of_day(start, language)} – "
        f"{format_day(end, language)}, {format_time_of_day(end, language)} "
        f"({format_zone(start, language)})"
    )


@functools.cache
def templates(package: str, language: Language) -> Environment:
    """Return a package's Jinja2 templates (HTML autoescaped) speaking one language.

    One environment per language, its translations installed once: pages and e-mails
    rendered at the same time in different languages never share a switched language.
    """
    environment = Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_translations(translator(language), newstyle=True)  # type: ignore[attr-defined]
    environment.filters["linkify"] = linkify
    environment.filters["first_link"] = first_link
    return environment
