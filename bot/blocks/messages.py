"""Meeting messages in Slack: the organizer's summary, members' invitations and notices."""

from __future__ import annotations

from bot.blocks.kit import (
    ANSWER_COUNTS,
    ANSWER_EMOJI,
    ANSWER_WORDS,
    BUTTON_LABELS,
    LINE_PART_LIMIT,
    LISTED_PER_GROUP,
    MESSAGE_BLOCK_LIMIT,
    SECTION_TEXT_LIMIT,
    Block,
    Message,
    View,
    button,
    context,
    escape,
    input_block,
    meeting_modal,
    more_text,
    mrkdwn,
    plain,
    shorten,
    slack_time,
    span,
    text_element,
    time_range,
)
from bot.blocks.ledger import GUESTS_ACTION, delivery_line
from bot.blocks.series import (
    occurrence_answer_blocks,
    series_buttons,
    series_cancel_inputs,
    series_lines,
)
from bot.i18n import (
    DEFAULT_LANGUAGE,
    Language,
    Translator,
    translator,
)
from bot.ledger import DeliverySum
from bot.meetings.model import (
    Answer,
    Change,
    ChangedField,
    Invitee,
    Meeting,
    parse_time_text,
)
from bot.video import join_link

CANCEL_CALLBACK = "meet_cancel"
# A link button: Slack opens the call and still tells the app, which only acknowledges it.
JOIN_ACTION = "join_call"
EDIT_ACTION = "edit_meeting"
CANCEL_ACTION = "cancel_meeting"


ANSWER_ACTIONS = {
    "answer_accepted": Answer.ACCEPTED,
    "answer_tentative": Answer.TENTATIVE,
    "answer_declined": Answer.DECLINED,
}


def cancel_modal(meeting: Meeting, *, language: Language = DEFAULT_LANGUAGE) -> View:
    """Return the confirmation asked before a meeting is cancelled."""
    t = translator(language)
    invited = len(meeting.invitees)
    question = t.gettext("Cancel *{title}* ({when})?").format(
        title=escape(meeting.title), when=time_range(meeting)
    )
    consequence = t.ngettext(
        "The {count} invited person will be told, and it will be removed from guests' calendars.",
        "All {count} invited people will be told, and it will be removed from guests' calendars.",
        invited,
    ).format(count=invited)
    message = text_element(
        "", 1000, multiline=True, placeholder=t.gettext("Sorry, something came up.")
    )
    blocks = [
        mrkdwn(f"{question} {consequence}"),
        *series_cancel_inputs(t, meeting),
        input_block("message", t.gettext("Message to attendees"), message, optional=True),
    ]
    cancel = t.gettext("Cancel meeting")
    return meeting_modal(CANCEL_CALLBACK, meeting, cancel, cancel, t.gettext("Keep it"), blocks)


def details(
    t: Translator, meeting: Meeting, file_links: list[tuple[str, str]] | None = None
) -> str:
    """Return the When / Where / Files lines of a meeting."""
    # A series says how it repeats and when it meets next instead of its first time.
    lines = series_lines(t, meeting) or [
        t.gettext("*When:* {when}").format(when=time_range(meeting))
    ]
    if meeting.location:
        lines.append(t.gettext("*Where:* {place}").format(place=escape(meeting.location)))
    if file_links:
        # Slack reads `&` in a link as `&amp;`, like everywhere else in mrkdwn.
        links = ", ".join(
            f"<{escape(url)}|{escape(shorten(name, 60))}>" for name, url in file_links
        )
        lines.append(t.gettext("*Files:* {links}").format(links=links))
    return "\n".join(lines)


def join_blocks(t: Translator, meeting: Meeting) -> list[Block]:
    """Return a "Join" button opening the meeting's video call, if it has one."""
    link = join_link(meeting)
    if link is None or meeting.cancelled:
        return []
    join = {
        "type": "button",
        "text": plain(t.gettext("Join the video call")),
        "action_id": JOIN_ACTION,
        "url": link,
        "style": "primary",
    }
    return [{"type": "actions", "block_id": "join", "elements": [join]}]


def _description_blocks(meeting: Meeting) -> list[Block]:
    if not meeting.description:
        return []
    quoted = "\n".join(f">{line}" for line in escape(meeting.description).splitlines())
    return [mrkdwn(quoted)]


def tally_line(meeting: Meeting, *, language: Language = DEFAULT_LANGUAGE) -> str:
    """Return the count of answers, e.g. `2 accepted · 1 maybe · 0 declined · 3 no answer yet`."""
    t = translator(language)
    counts = meeting.tally()
    order = (Answer.ACCEPTED, Answer.TENTATIVE, Answer.DECLINED, Answer.NEEDS_ACTION)
    return " · ".join(
        f"{ANSWER_EMOJI[a]} {t.gettext(ANSWER_COUNTS[a]).format(count=counts[a])}" for a in order
    )


def invitee_line(invitee: Invitee, *, language: Language = DEFAULT_LANGUAGE) -> str:
    """Return one invitee with their answer, for the organizer's summary."""
    t = translator(language)
    who = (
        f"<@{invitee.slack_user_id}>"
        if invitee.is_member
        else escape(shorten(invitee.guest_label(), LINE_PART_LIMIT))
    )
    line = f"{ANSWER_EMOJI[invitee.answer]} {who} — {t.gettext(ANSWER_WORDS[invitee.answer])}"
    if invitee.comment:
        line += f": _{escape(shorten(invitee.comment, LINE_PART_LIMIT))}_"
    if invitee.delivery_error:
        # Reasons are stored in English; the ones Meetbot words itself have translations.
        reason = escape(shorten(t.gettext(invitee.delivery_error), 80))
        line += " :warning: " + t.gettext("undeliverable ({reason})").format(reason=reason)
    return line


def _listing(t: Translator, heading: str, lines: list[str]) -> list[Block]:
    """Return sections listing lines under a heading, split to fit Slack's section limit."""
    if not lines:
        return []
    shown = lines[:LISTED_PER_GROUP]
    if len(lines) > len(shown):
        shown.append(more_text(t, len(lines) - len(shown)))
    blocks: list[Block] = []
    text = f"*{heading}*"
    for line in shown:
        if len(text) + 1 + len(line) > SECTION_TEXT_LIMIT:
            blocks.append(mrkdwn(text))
            text = line
        else:
            text = f"{text}\n{line}"
    blocks.append(mrkdwn(text))
    return blocks


def organizer_buttons(t: Translator, meeting: Meeting) -> Block:
    """Return the organizer's Edit and Cancel buttons, the series' own, and Guests when there
    are guests."""
    elements = [
        button(t.gettext("Edit"), EDIT_ACTION, str(meeting.id)),
        *series_buttons(t, meeting),
        button(t.gettext("Cancel meeting"), CANCEL_ACTION, str(meeting.id), "danger"),
    ]
    if meeting.guests:
        elements.insert(1, button(t.gettext("Guests"), GUESTS_ACTION, str(meeting.id)))
    return {"type": "actions", "block_id": f"manage_{meeting.id}", "elements": elements}


def _delivery_blocks(
    meeting: Meeting, deliveries: DeliverySum | None, language: Language
) -> list[Block]:
    if deliveries is None or deliveries.empty or not meeting.guests:
        return []
    return [context(delivery_line(deliveries, language=language))]


def organizer_summary(
    meeting: Meeting,
    file_links: list[tuple[str, str]] | None = None,
    *,
    language: Language = DEFAULT_LANGUAGE,
    deliveries: DeliverySum | None = None,
) -> Message:
    """Return the organizer's summary DM: the meeting and everyone's answer so far.

    With `deliveries`, a line sums where guests' e-mails stand (the Guests view has each).
    """
    t = translator(language)
    if meeting.cancelled:
        text = t.gettext("You cancelled {title}").format(title=meeting.title)
        header = t.gettext("Cancelled: {title}").format(title=shorten(meeting.title, 130))
        return text, [
            {"type": "header", "text": plain(header)},
            mrkdwn(f"~{time_range(meeting)}~\n" + t.gettext("Everyone invited was told.")),
        ]
    text = t.gettext("Your meeting {title}: invitations sent").format(title=meeting.title)
    members = [invitee_line(m, language=language) for m in meeting.members]
    guests = [invitee_line(g, language=language) for g in meeting.guests]
    blocks: list[Block] = [
        {"type": "header", "text": plain(meeting.title)},
        mrkdwn(details(t, meeting, file_links)),
        *_description_blocks(meeting),
        *join_blocks(t, meeting),
        context(tally_line(meeting, language=language)),
        *_delivery_blocks(meeting, deliveries, language),
        *_listing(t, t.gettext("Members ({count})").format(count=len(members)), members),
        *_listing(t, t.gettext("Guests ({count})").format(count=len(guests)), guests),
        *occurrence_answer_blocks(t, meeting),
    ]
    if not meeting.invitees:
        blocks.append(context(t.gettext("Nobody is invited yet.")))
    blocks = blocks[: MESSAGE_BLOCK_LIMIT - 1]
    blocks.append(organizer_buttons(t, meeting))
    return text, blocks


def answer_value(meeting: Meeting) -> str:
    """Return the value answer buttons carry: the meeting and the version they answer."""
    return f"{meeting.id}:{meeting.sequence}"


def parse_answer_value(value: str) -> tuple[int, int | None]:
    """Return the meeting id and version an answer button carries."""
    meeting_id, _, sequence = value.partition(":")
    return int(meeting_id), int(sequence) if sequence else None


def answer_buttons(t: Translator, meeting: Meeting, invitee: Invitee, block_id: str) -> Block:
    """Return a member's Accept / Maybe / Decline buttons."""
    buttons = []
    for action_id, answer in ANSWER_ACTIONS.items():
        style = None
        if invitee.answer is answer:
            style = "danger" if answer is Answer.DECLINED else "primary"
        label = t.gettext(BUTTON_LABELS[answer])
        buttons.append(button(label, action_id, answer_value(meeting), style))
    return {"type": "actions", "block_id": block_id, "elements": buttons}


def own_answer(t: Translator, invitee: Invitee) -> str:
    """Return the line that tells a member what they answered."""
    answer = t.gettext("Your answer: *{answer}*").format(
        answer=t.gettext(ANSWER_WORDS[invitee.answer])
    )
    return f"{ANSWER_EMOJI[invitee.answer]} {answer}"


def member_invitation(
    meeting: Meeting,
    invitee: Invitee,
    file_links: list[tuple[str, str]] | None = None,
    *,
    language: Language = DEFAULT_LANGUAGE,
) -> Message:
    """Return a member's invitation DM, with buttons to answer and their answer so far."""
    t = translator(language)
    organizer = f"<@{meeting.organizer.user_id}>"
    title = escape(meeting.title)
    if meeting.cancelled or invitee.removed:
        if meeting.cancelled:
            why = t.gettext("{organizer} cancelled this meeting")
        else:
            why = t.gettext("{organizer} took you off this meeting")
        text = why.format(organizer=meeting.organizer.name) + f": {meeting.title}"
        said = why.format(organizer=organizer)
        return text, [mrkdwn(f"~*{title}*~ ({time_range(meeting)})\n{said}.")]
    text = t.gettext("{organizer} invites you to {title}").format(
        organizer=meeting.organizer.name, title=meeting.title
    )
    invites = t.gettext("{organizer} invites you to *{title}*").format(
        organizer=organizer, title=title
    )
    blocks: list[Block] = [
        mrkdwn(f"{invites}\n{details(t, meeting, file_links)}"),
        *_description_blocks(meeting),
        *join_blocks(t, meeting),
    ]
    others = len(meeting.invitees) - 1
    if others > 0:
        blocks.append(
            context(
                t.ngettext(
                    "{count} other person is invited.", "{count} other people are invited.", others
                ).format(count=others)
            )
        )
    blocks.append(answer_buttons(t, meeting, invitee, "answer"))
    if invitee.answer is not Answer.NEEDS_ACTION:
        blocks.append(context(own_answer(t, invitee)))
    return text, blocks


def describe_change(change: Change, *, language: Language = DEFAULT_LANGUAGE) -> str:
    """Return one change for Slack, times in each reader's own zone."""
    t = translator(language)
    field = t.gettext(change.field)
    if change.field is ChangedField.TIME:
        was, now = parse_time_text(change.before), parse_time_text(change.after)
        return f"*{field}:* {span(*was)} → {span(*now)}"
    if change.field in (ChangedField.DESCRIPTION, ChangedField.REPEATS):
        return f"*{field}:* " + t.gettext("changed")
    none = "_" + t.gettext("none") + "_"
    before = escape(shorten(change.before, 200)) or none
    after = escape(shorten(change.after, 200)) or none
    return f"*{field}:* {before} → {after}"


def member_notice(
    meeting: Meeting,
    reason: str,
    changes: list[Change],
    answers_reset: bool,
    *,
    language: Language = DEFAULT_LANGUAGE,
) -> Message:
    """Return the DM telling a member their meeting changed, was cancelled or dropped them."""
    t = translator(language)
    organizer = f"<@{meeting.organizer.user_id}>"
    title = escape(meeting.title)
    if reason == "cancelled":
        text = t.gettext("{organizer} cancelled {title}").format(
            organizer=meeting.organizer.name, title=meeting.title
        )
        body = ":no_entry_sign: " + t.gettext("{organizer} cancelled *{title}* ({when}).").format(
            organizer=organizer, title=title, when=time_range(meeting)
        )
        if meeting.cancel_message:
            quoted = "\n".join(f">{line}" for line in escape(meeting.cancel_message).splitlines())
            body += f"\n{quoted}"
        return text, [mrkdwn(body)]
    if reason == "removed":
        text = t.gettext("You are no longer invited to {title}").format(title=meeting.title)
        return text, [
            mrkdwn(
                t.gettext("{organizer} took you off *{title}* ({when}); nothing to do.").format(
                    organizer=organizer, title=title, when=time_range(meeting)
                )
            )
        ]
    text = t.gettext("{organizer} changed {title}").format(
        organizer=meeting.organizer.name, title=meeting.title
    )
    heading = t.gettext("{organizer} changed *{title}*:").format(organizer=organizer, title=title)
    if meeting.recurrence_id is not None:
        # One meeting of a series: say which, the rest of the series stays as it was.
        heading = t.gettext(
            "{organizer} changed *{title}* on {day}, only that meeting of the series:"
        ).format(
            organizer=organizer,
            title=title,
            day=slack_time(meeting.recurrence_id, "{date_long_pretty}"),
        )
    lines = [":pencil2: " + heading]
    for change in changes:
        if change.field is ChangedField.REPEATS and meeting.series is not None:
            # How the series repeats now, in words, and when it meets next.
            lines += [f"• {line}" for line in series_lines(t, meeting)]
        else:
            lines.append(f"• {describe_change(change, language=language)}")
    if answers_reset:
        lines.append(
            t.gettext("The time changed, so your answer was reset. Please answer again above.")
        )
    return text, [mrkdwn("\n".join(lines))]


def member_reminder(meeting: Meeting, *, language: Language = DEFAULT_LANGUAGE) -> Message:
    """Return the DM reminding a member that a meeting starts soon."""
    t = translator(language)
    text = t.gettext("Reminder: {title} starts soon").format(title=meeting.title)
    starts = t.gettext("*{title}* starts {time}.").format(
        title=escape(meeting.title), time=slack_time(meeting.start, "{time}")
    )
    return text, [
        mrkdwn(f":alarm_clock: {starts}\n{details(t, meeting)}"),
        *join_blocks(t, meeting),
    ]


def help_message(*, language: Language = DEFAULT_LANGUAGE) -> Message:
    """Return `/meet help`: what the command does and how to use it."""
    t = translator(language)
    text = t.gettext("How to use /meet")
    body = "\n".join(
        [
            t.gettext(
                "*/meet* opens a form to set up a meeting with workspace members and outside "
                "guests."
            ),
            "• " + t.gettext("`/meet Design review` opens the form with the title filled in."),
            "• " + t.gettext("`/meet list` shows your upcoming meetings (only to you)."),
            "• " + t.gettext("`/meet help` shows this message."),
            t.gettext(
                "Members get a message with Accept / Maybe / Decline; guests get a calendar "
                "invitation by e-mail with a link to answer. Edit or cancel a meeting from the "
                "Home tab or from your summary message."
            ),
        ]
    )
    return text, [mrkdwn(body)]
