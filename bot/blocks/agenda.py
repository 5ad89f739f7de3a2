"""A person's upcoming meetings, for `/meet list` and the Home tab."""

from __future__ import annotations

from bot.blocks.kit import (
    MESSAGE_BLOCK_LIMIT,
    Block,
    Message,
    context,
    escape,
    more_text,
    mrkdwn,
    plain,
)
from bot.blocks.messages import answer_buttons, details, organizer_buttons, own_answer, tally_line
from bot.i18n import (
    DEFAULT_LANGUAGE,
    Language,
    Translator,
    translator,
)
from bot.meetings.model import (
    Agenda,
    Invitee,
    Meeting,
)

LIST_LIMIT = 10


def _agenda_entry(
    t: Translator, meeting: Meeting, invitee: Invitee | None, suffix: str, language: Language
) -> list[Block]:
    lines = [
        f"*{escape(meeting.title)}*",
        details(t, meeting),
        tally_line(meeting, language=language),
    ]
    undeliverable = [g for g in meeting.guests if g.delivery_error]
    if undeliverable and invitee is None:
        names = ", ".join(escape(g.email or "") for g in undeliverable[:5])
        lines.append(":warning: " + t.gettext("Could not deliver to {names}").format(names=names))
    if invitee is not None:
        organized = t.gettext("Organized by {organizer}").format(
            organizer=f"<@{meeting.organizer.user_id}>"
        )
        lines.insert(1, f"{organized} · {own_answer(t, invitee)}")
    blocks: list[Block] = [mrkdwn("\n".join(lines))]
    if invitee is None:
        blocks.append(organizer_buttons(t, meeting) | {"block_id": f"manage_{meeting.id}{suffix}"})
    else:
        blocks.append(answer_buttons(t, meeting, invitee, f"answer_{meeting.id}{suffix}"))
    return blocks


def agenda_blocks(
    agenda: Agenda, limit: int, suffix: str, language: Language
) -> tuple[list[Block], bool]:
    """Return the organizing and invited lists, each cut to a limit; tell if cut."""
    t = translator(language)
    blocks: list[Block] = []
    more = False
    groups: list[tuple[str, list[tuple[Meeting, Invitee | None]]]] = [
        (t.gettext("Organizing ({count})"), [(m, None) for m in agenda.organizing]),
        (t.gettext("Invited ({count})"), [(m, i) for m, i in agenda.invited]),
    ]
    for heading, entries in groups:
        blocks.append({"type": "header", "text": plain(heading.format(count=len(entries)))})
        if not entries:
            blocks.append(context(t.gettext("Nothing coming up.")))
        for meeting, invitee in entries[:limit]:
            blocks += _agenda_entry(t, meeting, invitee, suffix, language)
        if len(entries) > limit:
            more = True
            blocks.append(context(more_text(t, len(entries) - limit) + "."))
    return blocks, more


def agenda_message(agenda: Agenda, *, language: Language = DEFAULT_LANGUAGE) -> Message:
    """Return `/meet list`: the same upcoming meetings as the Home tab, as a message."""
    t = translator(language)
    organizing, invited = len(agenda.organizing), len(agenda.invited)
    text = " ".join(
        [
            t.ngettext(
                "You organize {count} upcoming meeting",
                "You organize {count} upcoming meetings",
                organizing,
            ).format(count=organizing),
            t.ngettext(
                "and are invited to {count}.", "and are invited to {count}.", invited
            ).format(count=invited),
        ]
    )
    blocks, _ = agenda_blocks(agenda, LIST_LIMIT, "_list", language)
    return text, blocks[:MESSAGE_BLOCK_LIMIT]
