"""What Meetbot tells an organizer in a DM (answers, proposals, bounces, edits); feed failures."""

from __future__ import annotations

from bot.blocks.kit import (
    ANSWER_EMOJI,
    Message,
    button,
    escape,
    mrkdwn,
    slack_time,
    span,
    time_range,
)
from bot.i18n import (
    DEFAULT_LANGUAGE,
    N_,
    Language,
    translator,
)
from bot.meetings.model import (
    PARTSTAT_ANSWERS,
    Answer,
    HeldAnswer,
    HeldReason,
    Invitee,
    Meeting,
    Proposal,
    Revision,
)

COUNTER_ACCEPT_ACTION = "counter_accept"
HELD_RECORD_ACTION = "held_answer_record"
HELD_ADD_ACTION = "held_answer_add"
HELD_IGNORE_ACTION = "held_answer_ignore"
# Slack cuts button labels at 75 characters; an address in one is shortened first.
BUTTON_ADDRESS_CHARACTERS = 40


COUNTER_DECLINE_ACTION = "counter_decline"


# What the organizer reads about a decision: `Ana accepted Design review`.
DECISION_WORDS = {
    Answer.ACCEPTED: N_("{who} accepted {title}"),
    Answer.TENTATIVE: N_("{who} answered maybe to {title}"),
    Answer.DECLINED: N_("{who} declined {title}"),
    Answer.NEEDS_ACTION: N_("{who} has not answered {title} yet"),
}


def mail_text(text: str) -> str:
    """Return text taken from an e-mail as mrkdwn that can neither mention nor link.

    Escaped (&, <, >: no `<!channel>`, no `<url|label>`), and with web addresses broken
    (`https[:]//`, `www[.]`) so Slack does not turn them into links.
    """
    return escape(text).replace("://", "[:]//").replace("www.", "www[.]")


def _quote(text: str) -> str:
    return "\n".join(f">{line}" for line in mail_text(text).splitlines())


def decision_notice(
    meeting: Meeting,
    invitee: Invitee,
    answer: Answer,
    comment: str,
    *,
    stale: bool = False,
    language: Language = DEFAULT_LANGUAGE,
) -> Message:
    """Return the organizer's DM about one person's decision."""
    t = translator(language)
    if invitee.is_member:
        who_text, who_mrkdwn = t.gettext("A member"), f"<@{invitee.slack_user_id}>"
    else:
        who_text = invitee.guest_label()
        who_mrkdwn = escape(who_text)
    words = t.gettext(DECISION_WORDS[answer])
    text = words.format(who=who_text, title=meeting.title)
    said = words.format(who=who_mrkdwn, title=f"*{escape(meeting.title)}*")
    body = f"{ANSWER_EMOJI[answer]} {said} ({slack_time(meeting.start)})"
    if stale:
        body += "\n:warning: " + t.gettext(
            "They answered an earlier version of the invitation, "
            "before its time or place changed: check that the answer still stands."
        )
    if comment:
        # A member's note was typed in Slack; a guest's came by mail or from their page.
        safe = escape(comment) if invitee.is_member else mail_text(comment)
        body += "\n" + "\n".join(f">{line}" for line in safe.splitlines())
    return text, [mrkdwn(body)]


def counter_notice(
    meeting: Meeting, guest: Invitee, proposal: Proposal, *, language: Language = DEFAULT_LANGUAGE
) -> Message:
    """Return the organizer's DM with a guest's proposed new time and buttons to decide."""
    t = translator(language)
    proposes = t.gettext("{who} proposes a new time for {title}")
    text = proposes.format(who=guest.guest_label(), title=meeting.title)
    lines = [
        ":calendar: "
        + proposes.format(who=escape(guest.guest_label()), title=f"*{escape(meeting.title)}*")
        + ":",
        t.gettext("*Proposed:* {when}").format(when=span(proposal.start, proposal.end)),
        t.gettext("*Now:* {when}").format(when=time_range(meeting)),
    ]
    if proposal.comment:
        lines.append(_quote(proposal.comment))
    return text, [
        mrkdwn("\n".join(lines)),
        {
            "type": "actions",
            "block_id": f"counter_{proposal.id}",
            "elements": [
                button(
                    t.gettext("Accept new time"),
                    COUNTER_ACCEPT_ACTION,
                    str(proposal.id),
                    "primary",
                ),
                button(t.gettext("Keep the time"), COUNTER_DECLINE_ACTION, str(proposal.id)),
            ],
        },
    ]


def counter_settled(
    meeting: Meeting, guest: Invitee, proposal: Proposal, *, language: Language = DEFAULT_LANGUAGE
) -> Message:
    """Return the counter-proposal DM once the organizer has decided, without buttons."""
    t = translator(language)
    if proposal.status == "accepted":
        words = t.gettext("You accepted the time {who} proposed for {title}")
    else:
        words = t.gettext("You declined the time {who} proposed for {title}")
    text = words.format(who=guest.guest_label(), title=meeting.title)
    said = words.format(who=escape(guest.guest_label()), title=f"*{escape(meeting.title)}*")
    return text, [mrkdwn(f"{said} ({span(proposal.start, proposal.end)}).")]


def bounce_notice(
    meeting: Meeting, invitee: Invitee, reason: str, *, language: Language = DEFAULT_LANGUAGE
) -> Message:
    """Return the organizer's DM saying an invitee's invitation could not be delivered."""
    t = translator(language)
    reason = t.gettext(reason)
    if invitee.is_member:
        who_text, who = t.gettext("a member"), f"<@{invitee.slack_user_id}>"
    else:
        who_text = invitee.email or ""
        who = f"*{escape(who_text)}*"
    # The notification text is read as mrkdwn too: the server's words stay inert there as well.
    text = t.gettext("Could not deliver the invitation to {who}: {reason}").format(
        who=who_text, reason=mail_text(reason)
    )
    said = t.gettext("Could not deliver the invitation to {who} for *{title}*: {reason}").format(
        who=who, title=escape(meeting.title), reason=mail_text(reason)
    )
    return text, [mrkdwn(f":warning: {said}")]


# Why an answer waits for the organizer, in their words.
HELD_WHY = {
    HeldReason.UNVERIFIED: N_(
        "Meetbot could not verify that this e-mail comes from {guest}: it carries no valid "
        "signature of their domain. Nothing was recorded."
    ),
    HeldReason.OTHER_SENDER: N_(
        "It was sent from {sender}, not from the invited address {guest}. Nothing was recorded."
    ),
    HeldReason.NOT_INVITED: N_(
        "{address} is not on the guest list: the invitation may have been forwarded to them, "
        "or it is another address of a guest. Nothing was recorded."
    ),
}


def _short(address: str) -> str:
    if len(address) <= BUTTON_ADDRESS_CHARACTERS:
        return address
    return address[: BUTTON_ADDRESS_CHARACTERS - 1] + "…"


def answer_to_confirm(
    meeting: Meeting, held: HeldAnswer, *, language: Language = DEFAULT_LANGUAGE
) -> Message:
    """Return the organizer's DM about an e-mailed answer Meetbot did not believe on its own."""
    t = translator(language)
    guest = meeting.invitee(held.attendee_id) if held.attendee_id is not None else None
    guest_address = (guest.email or "") if guest else ""
    if held.method == "COUNTER":
        words = t.gettext("{who} proposes a new time for {title}")
    else:
        answer = PARTSTAT_ANSWERS.get(held.partstat or "", Answer.NEEDS_ACTION)
        words = t.gettext(DECISION_WORDS[answer])
    text = words.format(who=mail_text(held.address), title=meeting.title)
    lines = [
        ":grey_question: "
        + words.format(who=f"*{mail_text(held.address)}*", title=f"*{escape(meeting.title)}*")
        + f" ({slack_time(meeting.start)})"
    ]
    if held.method == "COUNTER" and held.proposed_start is not None:
        end = held.proposed_end or held.proposed_start + (meeting.end - meeting.start)
        lines.append(t.gettext("*Proposed:* {when}").format(when=span(held.proposed_start, end)))
    lines.append(
        t.gettext(HELD_WHY[held.reason]).format(
            guest=mail_text(guest_address or held.address),
            sender=mail_text(held.sender),
            address=mail_text(held.address),
        )
    )
    if held.comment:
        lines.append(_quote(held.comment))
    buttons = []
    if guest is not None:
        label = t.gettext("Record as {guest}'s answer").format(guest=_short(guest_address))
        buttons.append(button(label, HELD_RECORD_ACTION, str(held.id), "primary"))
    if held.reason is HeldReason.NOT_INVITED:
        label = t.gettext("Add {person} as a guest").format(person=_short(held.address))
        buttons.append(button(label, HELD_ADD_ACTION, str(held.id)))
    buttons.append(button(t.gettext("Ignore"), HELD_IGNORE_ACTION, str(held.id)))
    return text, [
        mrkdwn("\n".join(lines)),
        {"type": "actions", "block_id": f"held_{held.id}", "elements": buttons},
    ]


def held_answer_settled(
    meeting: Meeting, held: HeldAnswer, *, language: Language = DEFAULT_LANGUAGE
) -> Message:
    """Return the DM about a held answer once the organizer has decided, without buttons."""
    t = translator(language)
    guest = meeting.invitee(held.attendee_id) if held.attendee_id is not None else None
    if held.status == "recorded" and guest is not None:
        words = t.gettext("Recorded the answer from {sender} as {guest}'s.")
    elif held.status == "added":
        words = t.gettext("Invited {address} to {title} and recorded their answer.")
    else:
        words = t.gettext("Ignored the answer from {sender}.")
    values = {
        "sender": held.sender,
        "guest": (guest.email or "") if guest else "",
        "address": held.address,
        "title": meeting.title,
    }
    safe = {k: mail_text(v) for k, v in values.items()}
    text = words.format(**safe)
    safe["title"] = f"*{escape(meeting.title)}*"
    return text, [mrkdwn(":ballot_box_with_check: " + words.format(**safe))]


def feed_failure_notice(reason: str, *, language: Language = DEFAULT_LANGUAGE) -> Message:
    """Return the DM telling a member their connected calendar could not be read."""
    t = translator(language)
    reason = t.gettext(reason)
    text = t.gettext("Meetbot could not read your connected calendar: {reason}").format(
        reason=reason
    )
    return text, [
        mrkdwn(
            ":warning: "
            + t.gettext(
                "Meetbot could not read your connected calendar: {reason}. "
                "Until it can, colleagues see only your Meetbot meetings as busy. "
                "You can connect the calendar again from Meetbot's Home tab."
            ).format(reason=escape(reason))
        )
    ]


def _who(invitee: Invitee) -> str:
    return f"<@{invitee.slack_user_id}>" if invitee.is_member else escape(invitee.guest_label())


def edit_outcome(revision: Revision, *, language: Language = DEFAULT_LANGUAGE) -> str | None:
    """Return what the organizer is told after saving an edit, if anything beyond the summary."""
    t = translator(language)
    title = escape(revision.meeting.title)
    if not revision.changed:
        return t.gettext("Nothing changed in “{title}”.").format(title=title)
    parts = []
    if revision.added:
        names = ", ".join(_who(i) for i in revision.added)
        parts.append(t.gettext("invited {names}").format(names=names))
    if revision.removed:
        names = ", ".join(_who(i) for i in revision.removed)
        parts.append(t.gettext("took {names} off the list").format(names=names))
    if not parts:
        return None
    return t.gettext("Saved “{title}”: {what}.").format(title=title, what="; ".join(parts))
