"""The delivery ledger in Slack: the summary's one line, the Guests view, "Fix address"; pure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.blocks.kit import (
    ANSWER_EMOJI,
    ANSWER_WORDS,
    SECTION_TEXT_LIMIT,
    VIEW_BLOCK_LIMIT,
    Block,
    View,
    button,
    context,
    escape,
    input_block,
    mrkdwn,
    plain,
    shorten,
    slack_time,
    text_element,
)
from bot.i18n import DEFAULT_LANGUAGE, N_, Language, Translator, translator
from bot.ledger import (
    MESSAGE_NAMES,
    DeliverySum,
    GuestLedger,
    SentMessage,
    Stage,
    problems_first,
    sum_up,
)
from bot.meetings.model import Invitee, Meeting

GUESTS_ACTION = "ledger_guests"
# Two buttons in one block need two action ids; both turn the page their value names.
PAGE_ACTIONS = ("ledger_page_back", "ledger_page_next")
RESEND_ACTION = "ledger_resend"
FIX_ACTION = "ledger_fix"
GUESTS_CALLBACK = "ledger_view"
FIX_CALLBACK = "ledger_fix_address"
# Two blocks a guest; with the header, the note and the page buttons well inside a view's 100.
GUESTS_PER_PAGE = 20
# A guest's latest messages shown; older ones are counted.
MESSAGES_SHOWN = 4
REASON_LIMIT = 160

STAGE_WORDS = {
    Stage.QUEUED: N_("queued"),
    Stage.RETRYING: N_("queued, the mail server will be tried again ({reason})"),
    Stage.ACCEPTED: N_("accepted by the mail server"),
    Stage.DELAYED: N_("delayed ({reason}); the receiving server keeps trying"),
    Stage.BOUNCED: N_("bounced ({reason})"),
}
STAGE_EMOJI = {
    Stage.QUEUED: ":outbox_tray:",
    Stage.RETRYING: ":outbox_tray:",
    Stage.ACCEPTED: ":incoming_envelope:",
    Stage.DELAYED: ":hourglass:",
    Stage.BOUNCED: ":warning:",
}
VIA_WORDS = {
    "mail": N_("from their calendar, by e-mail"),
    "page": N_("on their answer page"),
    "organizer": N_("confirmed by you"),
}
NO_PIXELS = N_(
    "Meetbot reads this from its own records: what it queued, what the mail server answered "
    "and the delivery reports that came back. No tracking pixels are used."
)


def delivery_line(total: DeliverySum, *, language: Language = DEFAULT_LANGUAGE) -> str:
    """Return the ledger's sum: `12 delivered, 1 delayed, 1 bounced, 9 answered`."""
    t = translator(language)
    parts = [t.gettext("{count} delivered").format(count=total.delivered)]
    if total.queued:
        parts.append(t.gettext("{count} queued").format(count=total.queued))
    if total.delayed:
        parts.append(t.gettext("{count} delayed").format(count=total.delayed))
    if total.bounced:
        parts.append(t.gettext("{count} bounced").format(count=total.bounced))
    parts.append(t.gettext("{count} answered").format(count=total.answered))
    return ":incoming_envelope: " + ", ".join(parts)


def message_line(t: Translator, message: SentMessage) -> str:
    """Return one e-mail's line: what it was, when, and where it stands."""
    name = t.gettext(MESSAGE_NAMES.get(message.kind, N_("Message")))
    if message.update:
        name = t.gettext("Update")
    # Reasons are the servers' words, or Meetbot's own in English (translated here).
    reason = escape(shorten(t.gettext(message.reason), REASON_LIMIT)) if message.reason else ""
    reason = reason or t.gettext("no reason given")
    stage = t.gettext(STAGE_WORDS[message.stage]).format(reason=reason)
    if message.stage is Stage.ACCEPTED and message.queue_id:
        stage += " " + t.gettext("(queue id {id})").format(id=f"`{escape(message.queue_id)}`")
    when = slack_time(message.at, "{date_short} {time}")
    return f"{STAGE_EMOJI[message.stage]} {name}, {when}: {stage}"


def guest_text(t: Translator, ledger: GuestLedger) -> str:
    """Return a guest's section: who, their answer and how it came, and each e-mail."""
    guest = ledger.guest
    who = f"*{escape(shorten(guest.guest_label(), 150))}*"
    answer = f"{ANSWER_EMOJI[guest.answer]} {t.gettext(ANSWER_WORDS[guest.answer])}"
    if ledger.answered and guest.answered_via in VIA_WORDS:
        answer += " " + t.gettext("({how})").format(how=t.gettext(VIA_WORDS[guest.answered_via]))
    lines = [f"{who} — {answer}"]
    shown = ledger.messages[-MESSAGES_SHOWN:]
    if len(ledger.messages) > len(shown):
        earlier = len(ledger.messages) - len(shown)
        lines.append(
            t.ngettext("{count} earlier message", "{count} earlier messages", earlier).format(
                count=earlier
            )
        )
    lines += [message_line(t, m) for m in shown] or [t.gettext("Nothing sent yet.")]
    return "\n".join(lines)[:SECTION_TEXT_LIMIT]


def target_value(meeting: Meeting, guest: Invitee) -> str:
    """Return the value a guest's Resend and Fix address buttons carry."""
    return f"{meeting.id}:{guest.id}"


def parse_target(value: str) -> tuple[int, int] | None:
    """Return the meeting and guest a Resend or Fix address button is about."""
    meeting_id, _, attendee_id = value.partition(":")
    if not (meeting_id.isdigit() and attendee_id.isdigit()):
        return None
    return int(meeting_id), int(attendee_id)


def _guest_blocks(t: Translator, meeting: Meeting, ledger: GuestLedger) -> list[Block]:
    value = target_value(meeting, ledger.guest)
    buttons = [
        button(t.gettext("Resend"), RESEND_ACTION, value),
        button(t.gettext("Fix address"), FIX_ACTION, value),
    ]
    return [
        mrkdwn(guest_text(t, ledger)),
        {"type": "actions", "block_id": f"guest_{ledger.guest.id}", "elements": buttons},
    ]


def guests_view(
    meeting: Meeting,
    ledgers: list[GuestLedger],
    page: int = 0,
    *,
    language: Language = DEFAULT_LANGUAGE,
    note: str = "",
) -> View:
    """Return the Guests view: the sum, then a page of guests, those in trouble first."""
    t = translator(language)
    ordered = problems_first(ledgers)
    pages = max((len(ordered) - 1) // GUESTS_PER_PAGE + 1, 1)
    page = min(max(page, 0), pages - 1)
    first = page * GUESTS_PER_PAGE
    shown = ordered[first : first + GUESTS_PER_PAGE]
    title = escape(shorten(meeting.title, 200))
    blocks: list[Block] = [
        mrkdwn(f"*{title}*\n{delivery_line(sum_up(ledgers), language=language)}"),
        context(t.gettext(NO_PIXELS)),
    ]
    if note:
        blocks.append(context(escape(note)))
    if not ordered:
        blocks.append(mrkdwn(t.gettext("No guests are invited.")))
    for ledger in shown:
        blocks += _guest_blocks(t, meeting, ledger)
    if pages > 1:
        blocks.append(
            context(
                t.gettext("Guests {first}–{last} of {count}, those with trouble first.").format(
                    first=first + 1, last=first + len(shown), count=len(ordered)
                )
            )
        )
        turns = []
        if page > 0:
            back = f"{meeting.id}:{page - 1}"
            turns.append(button(t.gettext("Previous"), PAGE_ACTIONS[0], back))
        if page < pages - 1:
            onward = f"{meeting.id}:{page + 1}"
            turns.append(button(t.gettext("Next"), PAGE_ACTIONS[1], onward))
        blocks.append({"type": "actions", "block_id": "pages", "elements": turns})
    assert len(blocks) <= VIEW_BLOCK_LIMIT
    return {
        "type": "modal",
        "callback_id": GUESTS_CALLBACK,
        "private_metadata": json.dumps({"meeting_id": meeting.id, "page": page}),
        "title": plain(t.gettext("Guests")),
        "close": plain(t.gettext("Close")),
        "blocks": blocks,
    }


def shown_page(view: dict[str, Any]) -> tuple[int, int] | None:
    """Return the meeting and page an open Guests view shows, if it is one."""
    if view.get("callback_id") != GUESTS_CALLBACK:
        return None
    metadata = json.loads(view.get("private_metadata") or "{}")
    return int(metadata["meeting_id"]), int(metadata.get("page", 0))


def fix_address_modal(
    meeting: Meeting,
    guest: Invitee,
    *,
    guests_view: tuple[str, int],
    language: Language = DEFAULT_LANGUAGE,
) -> View:
    """Return the form that replaces a guest's wrong address with the right one.

    `guests_view` is the Guests view it was opened from (its id and page), redrawn after.
    """
    t = translator(language)
    explained = t.gettext(
        "Meetbot takes back the invitation to {address} (it gets a cancellation if a message "
        "to it was delivered) and invites the address you type instead."
    ).format(address=f"*{escape(guest.email or '')}*")
    return {
        "type": "modal",
        "callback_id": FIX_CALLBACK,
        "private_metadata": json.dumps(
            {
                "meeting_id": meeting.id,
                "attendee_id": guest.id,
                "guests_view": guests_view[0],
                "page": guests_view[1],
            }
        ),
        "title": plain(t.gettext("Fix address")),
        "submit": plain(t.gettext("Invite")),
        "close": plain(t.gettext("Cancel")),
        "blocks": [
            mrkdwn(explained),
            input_block(
                "address",
                t.gettext("The right address"),
                text_element(guest.guest_label(), 320, placeholder="ana@client.example"),
            ),
        ],
    }


@dataclass(frozen=True)
class AddressFix:
    """What a submitted Fix address form is about, and the Guests view to redraw after."""

    meeting_id: int
    attendee_id: int
    guests_view: str
    page: int
    typed: str


def read_address_fix(view: dict[str, Any]) -> AddressFix:
    """Read a submitted Fix address form."""
    metadata = json.loads(view.get("private_metadata") or "{}")
    block = view.get("state", {}).get("values", {}).get("address") or {}
    typed = str((next(iter(block.values()), None) or {}).get("value") or "")
    return AddressFix(
        int(metadata["meeting_id"]),
        int(metadata["attendee_id"]),
        str(metadata.get("guests_view", "")),
        int(metadata.get("page", 0)),
        typed,
    )
