"""Who is free while the form is open: each picked member's free/busy, and "Find a time"."""

from __future__ import annotations

from datetime import datetime

from bot.blocks.kit import SECTION_TEXT_LIMIT, Block, button, context, escape, mrkdwn, shorten, span
from bot.i18n import DEFAULT_LANGUAGE, Language, Translator, format_weekday_time, translator
from bot.personal import MemberStatus

PICK_SLOT_ACTION = "pick_slot"


def availability_lines(
    statuses: tuple[MemberStatus, ...], *, language: Language = DEFAULT_LANGUAGE
) -> str:
    """Return one line per picked member: free, or busy and with what, and their local time."""
    t = translator(language)
    lines = []
    for status in statuses:
        who = f"<@{status.user_id}>"
        if status.free:
            line = ":large_green_circle: " + t.gettext("{who} is free").format(who=who)
        else:
            clash = status.clashes[0]
            what = f" ({escape(shorten(clash.title, 60))})" if clash.title else ""
            busy = t.gettext("{who} is busy {when}").format(
                who=who, when=span(clash.start, clash.end)
            )
            line = f":red_circle: {busy}{what}"
            more = len(status.clashes) - 1
            if more > 0:
                line += " " + t.ngettext("and {count} more", "and {count} more", more).format(
                    count=more
                )
        if status.outside_hours:
            local = format_weekday_time(status.local_start, language)
            line += " · " + t.gettext("their time {time}, outside working hours").format(time=local)
        lines.append(line)
    return "\n".join(lines)


def slot_buttons(t: Translator, slots: tuple[tuple[datetime, datetime], ...]) -> list[Block]:
    """Return the times "Find a time" found, as buttons that fill them in."""
    if not slots:
        return [
            context(
                t.gettext("No time in the next two weeks suits everyone; try a shorter meeting.")
            )
        ]
    suiting = " · ".join(span(s, e) for s, e in slots)
    return [
        mrkdwn(t.gettext("*Times that suit everyone:* {times}").format(times=suiting)),
        {
            "type": "actions",
            "block_id": "slots",
            "elements": [
                button(
                    t.gettext("Option {number}").format(number=n),
                    f"{PICK_SLOT_ACTION}_{n}",
                    f"{int(start.timestamp())}-{int(end.timestamp())}",
                )
                for n, (start, end) in enumerate(slots, 1)
            ],
        },
    ]


def availability_sections(lines: str) -> list[Block]:
    """Return the free/busy lines in as many sections as Slack's 3,000 characters need."""
    sections: list[list[str]] = [[]]
    size = 0
    for line in lines.split("\n"):
        if sections[-1] and size + len(line) + 1 > SECTION_TEXT_LIMIT:
            sections.append([])
            size = 0
        sections[-1].append(line[:SECTION_TEXT_LIMIT])
        size += len(line) + 1
    return [
        {
            "type": "section",
            "block_id": "availability" if n == 0 else f"availability_{n}",
            "text": {"type": "mrkdwn", "text": "\n".join(part)},
        }
        for n, part in enumerate(sections)
    ]
