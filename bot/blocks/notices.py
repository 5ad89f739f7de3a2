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
    Answer,
    Invitee,
    Meeting,
    Proposal,
    Revision,
)

COUNTER_ACCEPT_ACTION = "counter_accept"


COUNTER_DECLINE_ACTION = "counter_decline"


# What the organizer reads about a decision: `Ana accepted Design review`.
DECISION_WORDS = {
    Answer.ACCEPTED: N_("{who} accepted {title}"),
    Answer.TENTATIVE: N_("{who} answered maybe to {title}"),
    Answer.DECLINED: N_("{who} declined {title}"),
    Answer.NEEDS_ACTION: N_("{who} has not answered {title} yet"),
}


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
        quoted = "\n".join(f">{line}" for line in escape(comment).splitlines())
        body += f"\n{quoted}"
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
        lines.append(f">{escape(proposal.comment)}")
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
    text = t.gettext("Could not deliver the invitation to {who}: {reason}").format(
        who=who_text, reason=reason
    )
    said = t.gettext("Could not deliver the invitation to {who} for *{title}*: {reason}").format(
        who=who, title=escape(meeting.title), reason=escape(reason)
    )
    return text, [mrkdwn(f":warning: {said}")]


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
