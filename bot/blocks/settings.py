"""Personal settings: the Settings section and modal, and the sending-mailbox question."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import time
from typing import Any, Literal

from babel.dates import get_day_names

from bot.blocks.kit import (
    SECTION_TEXT_LIMIT,
    Block,
    View,
    button,
    context,
    escape,
    input_block,
    mrkdwn,
    option,
    plain,
    reminder_label,
    shorten,
)
from bot.drafts import (
    REMINDER_CHOICES,
)
from bot.i18n import (
    DEFAULT_LANGUAGE,
    Language,
    Translator,
    babel_locale,
    translator,
)
from bot.mailboxes import Mailbox, Mailboxes
from bot.personal import GUEST_LANGUAGES, PersonalSettings, WorkingHours

SETTINGS_ACTION = "open_settings"
SETTINGS_CALLBACK = "personal_settings"
MAILBOX_CALLBACK = "mailbox_question"
# Slack shows at most 10 radio buttons, and 100 options in a select.
RADIO_LIMIT = 10
SELECT_LIMIT = 100


# Languages are named in their own words, so anyone finds theirs.
LANGUAGE_NAMES = {"en": "English", "pl": "Polski"}


def _day_names(language: Language, width: Literal["abbreviated", "wide"]) -> list[str]:
    # Babel counts weekdays from Monday, as datetime.weekday() does.
    names = get_day_names(width, locale=babel_locale(language))
    return [str(names[day]) for day in range(7)]


def _hours_text(hours: WorkingHours, language: Language) -> str:
    short = _day_names(language, "abbreviated")
    days = sorted(hours.days)
    if days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
        named = f"{short[days[0]]}–{short[days[-1]]}"
    else:
        named = ", ".join(short[day] for day in days)
    return f"{named} {hours.start:%H:%M}–{hours.end:%H:%M}"


def _language_text(t: Translator, language: str | None) -> str:
    return LANGUAGE_NAMES.get(language or "", t.gettext("the same as my Slack"))


def settings_section(
    settings: PersonalSettings,
    mailboxes: Mailboxes,
    organizer_name: str,
    *,
    language: Language = DEFAULT_LANGUAGE,
) -> Block:
    """Return the Home tab's summary of the person's settings, with a button to change them."""
    t = translator(language)
    mailbox = mailboxes.get(settings.mailbox)
    reminder = (
        t.gettext("no reminder")
        if settings.reminder_minutes is None
        else reminder_label(t, settings.reminder_minutes)
    )
    lines = [
        t.gettext("*Your settings*"),
        t.gettext("Reminder for new meetings: {reminder}").format(reminder=reminder),
        t.gettext("Notify me on decisions: {answer}").format(
            answer=t.gettext("yes") if settings.notify_on_decision else t.gettext("no")
        ),
        t.gettext("Working hours: {hours}").format(
            hours=_hours_text(settings.working_hours, language)
        ),
        t.gettext("Guests' e-mails and pages in: {language}").format(
            language=_language_text(t, settings.guest_language)
        ),
        t.gettext("Guests see invitations from: {sender}").format(
            sender=escape(mailbox.shown_as(organizer_name))
        ),
    ]
    return {
        "type": "section",
        "block_id": "settings",
        "text": {"type": "mrkdwn", "text": "\n".join(lines)[:SECTION_TEXT_LIMIT]},
        "accessory": button(t.gettext("Change settings"), SETTINGS_ACTION, "settings"),
    }


def _mailbox_option(mailbox: Mailbox, organizer_name: str) -> dict[str, Any]:
    # Option texts hold 75 characters: the From line guests will see, then the mailbox's name.
    return {
        "text": plain(shorten(mailbox.shown_as(organizer_name), 75)),
        "value": mailbox.key,
        "description": plain(shorten(mailbox.name, 75)),
    }


def _mailbox_choice(mailboxes: Mailboxes, organizer_name: str, chosen: str) -> dict[str, Any]:
    """Return radio buttons (with each From line) for a few mailboxes, a select for more."""
    if len(mailboxes.all) <= RADIO_LIMIT:
        options = [_mailbox_option(box, organizer_name) for box in mailboxes.all]
        kind = "radio_buttons"
    else:
        # Select options carry no description: the From line and the name share the text.
        options = [
            option(shorten(f"{box.shown_as(organizer_name)} · {box.name}", 75), box.key)
            for box in mailboxes.all[:SELECT_LIMIT]
        ]
        kind = "static_select"
    initial = next((o for o in options if o["value"] == chosen), options[0])
    return {"type": kind, "action_id": "value", "options": options, "initial_option": initial}


def _replies_text(t: Translator, organizer_email: str | None) -> str:
    if organizer_email:
        return t.gettext("Guests' replies go to {address}.").format(address=escape(organizer_email))
    return t.gettext("Guests' calendars answer to Meetbot.")


def settings_modal(
    settings: PersonalSettings,
    mailboxes: Mailboxes,
    organizer_name: str,
    organizer_email: str | None,
    *,
    language: Language = DEFAULT_LANGUAGE,
    video_offered: bool = False,
) -> View:
    """Return the form where a member changes their own settings."""
    t = translator(language)
    reminder_options = [
        option(reminder_label(t, m), "none" if m is None else str(m)) for m in REMINDER_CHOICES
    ]
    reminder_value = "none" if settings.reminder_minutes is None else str(settings.reminder_minutes)
    notify_option = option(t.gettext("Notify me when someone accepts or declines"), "notify")
    notify_element: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": "value",
        "options": [notify_option],
    }
    if settings.notify_on_decision:
        notify_element["initial_options"] = [notify_option]
    hours = settings.working_hours
    day_options = [option(name, str(day)) for day, name in enumerate(_day_names(language, "wide"))]
    language_options = [option(t.gettext("The same as my Slack"), "auto")] + [
        option(LANGUAGE_NAMES[code], code) for code in GUEST_LANGUAGES
    ]
    language_value = settings.guest_language or "auto"
    blocks: list[Block] = [
        input_block(
            "reminder",
            t.gettext("Reminder for new meetings"),
            {
                "type": "static_select",
                "action_id": "value",
                "options": reminder_options,
                "initial_option": next(
                    (o for o in reminder_options if o["value"] == reminder_value),
                    reminder_options[0],
                ),
            },
        ),
        input_block(
            "notify", t.gettext("Notifications for new meetings"), notify_element, optional=True
        ),
        *([_video_default(t, settings)] if video_offered else []),
        input_block(
            "work_start",
            t.gettext("Working day starts"),
            {"type": "timepicker", "action_id": "value", "initial_time": f"{hours.start:%H:%M}"},
        ),
        input_block(
            "work_end",
            t.gettext("Working day ends"),
            {"type": "timepicker", "action_id": "value", "initial_time": f"{hours.end:%H:%M}"},
        ),
        input_block(
            "work_days",
            t.gettext("Working days"),
            {
                "type": "checkboxes",
                "action_id": "value",
                "options": day_options,
                **(
                    {"initial_options": [day_options[day] for day in sorted(hours.days)]}
                    if hours.days
                    else {}
                ),
            },
        ),
        input_block(
            "guest_language",
            t.gettext("Language of your guests' e-mails and pages"),
            {
                "type": "static_select",
                "action_id": "value",
                "options": language_options,
                "initial_option": next(o for o in language_options if o["value"] == language_value),
            },
        ),
    ]
    chosen = mailboxes.get(settings.mailbox)
    if mailboxes.single:
        blocks.append(
            context(
                t.gettext("Guests see invitations from {sender}.").format(
                    sender=escape(chosen.shown_as(organizer_name))
                )
                + " "
                + _replies_text(t, organizer_email)
            )
        )
    else:
        blocks.append(context(_replies_text(t, organizer_email)))
        blocks.append(
            input_block(
                "mailbox",
                t.gettext("Mailbox your invitations come from"),
                _mailbox_choice(mailboxes, organizer_name, chosen.key),
            )
        )
    blocks.append(
        context(
            t.gettext(
                "Your calendar is connected or disconnected from the Home tab. "
                "These settings apply to meetings you set up from now on."
            )
        )
    )
    return {
        "type": "modal",
        "callback_id": SETTINGS_CALLBACK,
        "title": plain(t.gettext("Your settings")),
        "submit": plain(t.gettext("Save")),
        "close": plain(t.gettext("Cancel")),
        "blocks": blocks,
    }


def mailbox_question(
    mailboxes: Mailboxes,
    organizer_name: str,
    organizer_email: str | None,
    held_form: int,
    guest_count: int,
    *,
    language: Language = DEFAULT_LANGUAGE,
) -> View:
    """Return the question pushed over the create form before a person's first guest invitation.

    With several mailboxes the organizer picks one; with one, they see how guests will see it.
    """
    t = translator(language)
    replies = _replies_text(t, organizer_email)
    blocks: list[Block]
    if mailboxes.single:
        intro = t.ngettext(
            "Before the invitation goes out: {count} guest will see it come from",
            "Before the invitations go out: {count} guests will see them come from",
            guest_count,
        ).format(count=guest_count)
        blocks = [
            mrkdwn(f"{intro}\n*{escape(mailboxes.default.shown_as(organizer_name))}*\n{replies}"),
            context(
                t.gettext(
                    "You will see this only once. Settings on Meetbot's Home tab show it again."
                )
            ),
        ]
    else:
        question = t.ngettext(
            "Which mailbox should send your invitation? {count} guest will see the mail "
            "come from it, with your name.",
            "Which mailbox should send your invitations? {count} guests will see the mail "
            "come from it, with your name.",
            guest_count,
        ).format(count=guest_count)
        blocks = [
            mrkdwn(f"{question} {replies}"),
            input_block(
                "mailbox",
                t.gettext("Send my invitations from"),
                _mailbox_choice(mailboxes, organizer_name, mailboxes.default.key),
            ),
            context(
                t.gettext("Meetbot remembers your choice; change it in Settings on the Home tab.")
            ),
        ]
    return {
        "type": "modal",
        "callback_id": MAILBOX_CALLBACK,
        "title": plain(t.gettext("Sending mailbox")),
        "submit": plain(t.gettext("Send invitations")),
        "close": plain(t.gettext("Back")),
        "private_metadata": json.dumps({"held_form": held_form}),
        "blocks": blocks,
    }


# Reading the settings form back.


def _video_default(t: Translator, settings: PersonalSettings) -> Block:
    """Return the tick that starts new meetings with a video call."""
    video = option(t.gettext("Add a video call"), "video")
    element: dict[str, Any] = {"type": "checkboxes", "action_id": "value", "options": [video]}
    if settings.video_default:
        element["initial_options"] = [video]
    return input_block("video", t.gettext("Video call for new meetings"), element, optional=True)


def _state(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    block = view.get("state", {}).get("values", {}).get(block_id) or {}
    return dict(next(iter(block.values()), None) or {})


def _clock(text: str | None) -> time | None:
    try:
        return time.fromisoformat(text) if text else None
    except ValueError:
        return None


def read_settings(view: dict[str, Any], before: PersonalSettings) -> PersonalSettings:
    """Read the settings form; what it does not show (such as a lone mailbox) stays as it was."""
    reminder = str((_state(view, "reminder").get("selected_option") or {}).get("value", "none"))
    notify = _state(view, "notify").get("selected_options") or []
    days = _state(view, "work_days").get("selected_options") or []
    language = str((_state(view, "guest_language").get("selected_option") or {}).get("value", ""))
    mailbox = (_state(view, "mailbox").get("selected_option") or {}).get("value")
    hours = before.working_hours
    return replace(
        before,
        reminder_minutes=int(reminder) if reminder.isdigit() else None,
        notify_on_decision=any(o.get("value") == "notify" for o in notify),
        working_hours=WorkingHours(
            start=_clock(_state(view, "work_start").get("selected_time")) or hours.start,
            end=_clock(_state(view, "work_end").get("selected_time")) or hours.end,
            days=frozenset(int(o["value"]) for o in days if str(o.get("value")).isdigit()),
        ),
        guest_language=None if language in ("", "auto") else language,
        mailbox=str(mailbox) if mailbox else before.mailbox,
        video_default=_video_ticked(view, before.video_default),
    )


def _video_ticked(view: dict[str, Any], before: bool) -> bool:
    """Return the video default as ticked; as it was when the form did not offer it."""
    if "video" not in view.get("state", {}).get("values", {}):
        return before
    return any(
        o.get("value") == "video" for o in _state(view, "video").get("selected_options") or []
    )
