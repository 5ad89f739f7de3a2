"""Modal submissions: create (with the sending-mailbox question first), edit and cancel."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.drafts import FileRef, FormErrors, MeetingDraft, MeetingForm, check_form
from bot.i18n import Language, language_of, translator
from bot.meetings import GuestQuotaExceeded, MeetingError, Organizer
from handlers.context import language_of_user, services_of

logger = logging.getLogger(__name__)


def _value(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    # One element per input block; its action id may change when the form is redrawn.
    block = values.get(block_id) or {}
    return dict(next(iter(block.values()), None) or {})


def _moment(values: dict[str, Any], block_id: str) -> datetime | None:
    stamp = _value(values, block_id).get("selected_date_time")
    return datetime.fromtimestamp(int(stamp), UTC) if stamp is not None else None


def _chosen(values: dict[str, Any], block_id: str) -> list[str]:
    return [str(o.get("value")) for o in _value(values, block_id).get("selected_options") or []]


def _reminder(values: dict[str, Any]) -> int | None:
    option = _value(values, "reminder").get("selected_option") or {}
    chosen = str(option.get("value", "none"))
    return int(chosen) if chosen.isdigit() else None


def _uploads(values: dict[str, Any]) -> tuple[FileRef, ...]:
    return tuple(
        FileRef(
            slack_file_id=str(f.get("id", "")),
            name=str(f.get("name") or f.get("title") or "file"),
            mimetype=str(f.get("mimetype") or "application/octet-stream"),
            size=int(f.get("size") or 0),
            download_url=str(f.get("url_private_download") or f.get("url_private") or ""),
        )
        for f in _value(values, "files").get("files") or []
    )


def form_from_view(view: dict[str, Any]) -> MeetingForm:
    """Read the create or edit form's state into a MeetingForm."""
    values = view.get("state", {}).get("values", {})
    options = _chosen(values, "notify")
    kept = _chosen(values, "kept_files") if "kept_files" in values else []
    return MeetingForm(
        title=_value(values, "title").get("value") or "",
        start=_moment(values, "start"),
        end=_moment(values, "end"),
        location=_value(values, "location").get("value") or "",
        description=_value(values, "description").get("value") or "",
        member_ids=tuple(_value(values, "members").get("selected_users") or ()),
        guests_text=_value(values, "guests").get("value") or "",
        notify="notify" in options,
        remind_guests="remind_guests" in options,
        reminder_minutes=_reminder(values),
        new_files=_uploads(values),
        kept_file_ids=tuple(int(k) for k in kept if k.isdigit()),
    )


def _metadata(view: dict[str, Any]) -> tuple[int, int]:
    data = json.loads(view.get("private_metadata") or "{}")
    return int(data["meeting_id"]), int(data["version"])


async def _tell_by_dm(client: AsyncWebClient, user_id: str, text: str) -> None:
    reply, message_blocks = blocks.notice(text)
    await client.chat_postMessage(channel=user_id, text=reply, blocks=message_blocks)


async def submit_meeting(
    ack: AsyncAck,
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Check the form; show field errors, ask for the sending mailbox once, or create."""
    organizer_id, team_id = context.user_id, context.team_id
    assert organizer_id is not None and team_id is not None
    services = services_of(context)
    person = await services.people.get(team_id, organizer_id)
    outcome = check_form(
        form_from_view(view),
        organizer_id=organizer_id,
        now=datetime.now(UTC),
        language=person.language,
    )
    if isinstance(outcome, FormErrors):
        await ack(response_action="errors", errors=outcome.by_block)
        return
    left = await services.meetings.guest_invites_left(team_id)
    if left is not None and len(outcome.guests) > left:
        refusal = GuestQuotaExceeded(left, len(outcome.guests))
        await ack(response_action="errors", errors={"guests": refusal.translated(person.language)})
        return
    settings = await services.preferences.get(team_id, organizer_id)
    if outcome.guests and not services.mailboxes.offers(settings.mailbox):
        # The organizer's first guests: say (or ask) which mailbox they will see, over the form.
        held = await services.held_forms.hold(team_id, organizer_id, view)
        question = blocks.mailbox_question(
            services.mailboxes,
            person.name,
            person.email,
            held,
            len(outcome.guests),
            language=person.language,
        )
        await ack(response_action="push", view=question)
        return
    await ack()
    await _create(
        client,
        context,
        outcome,
        str(view.get("id") or "") or None,
        # Kept with the meeting, so its guests hear from one address even if the list changes.
        services.mailboxes.get(settings.mailbox).key,
        guests_language(settings.guest_language, person.language),
    )


def guests_language(chosen: str | None, own: Language) -> Language:
    """Return the language guests read: the organizer's setting, else their Slack language."""
    return language_of(chosen) if chosen else own


async def answer_mailbox_question(
    ack: AsyncAck,
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Remember the organizer's sending mailbox, then create the meeting from the held form."""
    organizer_id, team_id = context.user_id, context.team_id
    assert organizer_id is not None and team_id is not None
    services = services_of(context)
    held_id = int(json.loads(view.get("private_metadata") or "{}").get("held_form", 0))
    chosen = (
        _value(view.get("state", {}).get("values", {}), "mailbox").get("selected_option") or {}
    ).get("value") or services.mailboxes.default.key
    person = await services.people.get(team_id, organizer_id)
    if not services.mailboxes.offers(str(chosen)):
        message = translator(person.language).gettext("Choose one of the mailboxes.")
        await ack(response_action="errors", errors={"mailbox": message})
        return
    settings = await services.preferences.get(team_id, organizer_id)
    await services.preferences.confirm_mailbox(team_id, organizer_id, str(chosen))
    form_view = await services.held_forms.get(team_id, organizer_id, held_id)
    outcome = (
        check_form(
            form_from_view(form_view),
            organizer_id=organizer_id,
            now=datetime.now(UTC),
            language=person.language,
        )
        if form_view is not None
        else None
    )
    if not isinstance(outcome, MeetingDraft):
        # The form went stale while the question was open (or was already sent): close only
        # the question; the form beneath is still filled in and shows what to fix on submit.
        await ack()
        return
    await ack(response_action="clear")
    assert form_view is not None
    await _create(
        client,
        context,
        outcome,
        str(form_view.get("id") or "") or None,
        str(chosen),
        guests_language(settings.guest_language, person.language),
    )
    await services.held_forms.release(team_id, organizer_id, held_id)


async def _create(
    client: AsyncWebClient,
    context: AsyncBoltContext,
    draft: MeetingDraft,
    source_view: str | None,
    mailbox: str | None,
    guest_language: Language,
) -> None:
    organizer_id, team_id = context.user_id, context.team_id
    assert organizer_id is not None and team_id is not None
    services = services_of(context)
    person = await services.people.get(team_id, organizer_id)
    try:
        organizer = Organizer(person.user_id, person.name, person.email, person.timezone)
        await services.meetings.create(
            team_id,
            organizer,
            draft,
            guest_language=guest_language,
            source_view=source_view,
            mailbox=mailbox,
        )
    except GuestQuotaExceeded as refusal:
        await _tell_by_dm(
            client,
            organizer_id,
            translator(person.language)
            .gettext("“{title}” was not saved and no invitations went out: {reason}")
            .format(title=draft.title, reason=refusal.translated(person.language)),
        )
    except Exception:
        logger.exception("could not create the meeting %r", draft.title)
        await _tell_by_dm(
            client,
            organizer_id,
            translator(person.language)
            .gettext(
                "Sorry, “{title}” could not be saved, so no invitations went out. "
                "Please try /meet again in a moment."
            )
            .format(title=draft.title),
        )


async def submit_edit(
    ack: AsyncAck,
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Check the edited form and apply it; a stale or foreign edit is refused in the form."""
    user_id, team_id = context.user_id, context.team_id
    assert user_id is not None and team_id is not None
    meeting_id, version = _metadata(view)
    language = await language_of_user(context, user_id)
    t = translator(language)
    outcome = check_form(
        form_from_view(view),
        organizer_id=user_id,
        now=datetime.now(UTC),
        editing=True,
        language=language,
    )
    if isinstance(outcome, FormErrors):
        await ack(response_action="errors", errors=outcome.by_block)
        return
    meetings = services_of(context).meetings
    # Downloading files can outlast Slack's three seconds: then the form closes first and a
    # refusal comes by DM; otherwise the refusal is shown right in the form.
    closed_early = bool(outcome.new_files)
    if closed_early:
        await ack()
    try:
        revision = await meetings.update(team_id, user_id, meeting_id, version, outcome)
    except MeetingError as error:
        if closed_early:
            if isinstance(error, GuestQuotaExceeded):
                await _tell_by_dm(client, user_id, error.translated(language))
            else:
                await _tell_by_dm(client, user_id, t.gettext(error.message))
        else:
            message = (
                error.translated(language)
                if isinstance(error, GuestQuotaExceeded)
                else t.gettext(error.message)
            )
            block = "guests" if isinstance(error, GuestQuotaExceeded) else "title"
            await ack(response_action="errors", errors={block: message})
        return
    if not closed_early:
        await ack()
    if not revision.changed:
        await _tell_by_dm(
            client,
            user_id,
            t.gettext("Nothing changed in “{title}”.").format(title=revision.meeting.title),
        )


async def submit_cancel(
    ack: AsyncAck,
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Cancel the meeting, passing the organizer's message on to everyone."""
    user_id, team_id = context.user_id, context.team_id
    assert user_id is not None and team_id is not None
    meeting_id, _ = _metadata(view)
    values = view.get("state", {}).get("values", {})
    message = _value(values, "message").get("value") or ""
    await ack()
    try:
        await services_of(context).meetings.cancel(team_id, user_id, meeting_id, message)
    except MeetingError as error:
        language = await language_of_user(context, user_id)
        await _tell_by_dm(client, user_id, translator(language).gettext(error.message))
