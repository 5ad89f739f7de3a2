"""Modal submissions: create (with the sending-mailbox question first), edit and cancel."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.meeting_form import (
    CREATE_CALLBACK,
    EDIT_CALLBACK,
    edited_meeting,
    read_choice,
    read_form,
    read_text,
    state_values,
)
from bot.blocks.messages import CANCEL_CALLBACK
from bot.blocks.notices import edit_outcome
from bot.blocks.series import edited_from, read_scope, split_outcome
from bot.blocks.settings import MAILBOX_CALLBACK, mailbox_question
from bot.drafts import FormErrors, MeetingDraft, check_form
from bot.i18n import translator
from bot.meetings.errors import MeetingError, MeetingNotFound
from bot.meetings.model import Organizer, Revision, SeriesSplit
from bot.meetings.recurrence import zone_named
from bot.meetings.submissions import Accepted, NeedsMailbox, Refused
from bot.people import Person
from handlers.context import language_of_user, services_of
from handlers.replies import refuse, tell


def register(app: AsyncApp) -> None:
    """Wire the form submissions."""
    app.view(CREATE_CALLBACK)(submit_meeting)
    app.view(MAILBOX_CALLBACK)(answer_mailbox_question)
    app.view(EDIT_CALLBACK)(submit_edit)
    app.view(CANCEL_CALLBACK)(submit_cancel)


def _checked(
    view: dict[str, Any], person: Person, *, editing: bool = False
) -> MeetingDraft | FormErrors:
    return check_form(
        read_form(view),
        organizer_id=person.user_id,
        now=datetime.now(UTC),
        editing=editing,
        language=person.language,
        zone=zone_named(person.timezone),
    )


def _organizer(person: Person) -> Organizer:
    return Organizer(person.user_id, person.name, person.email, person.timezone)


async def submit_meeting(
    ack: AsyncAck, view: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Check the form; show field errors, ask for the sending mailbox once, or create."""
    assert context.team_id is not None and context.user_id is not None
    services = services_of(context)
    person = await services.people.get(context.team_id, context.user_id)
    draft = _checked(view, person)
    if isinstance(draft, FormErrors):
        await ack(response_action="errors", errors=draft.by_block)
        return
    submission = await services.submissions.submit(
        context.team_id, _organizer(person), person.language, draft
    )
    if isinstance(submission, Refused):
        error = submission.error
        await ack(response_action="errors", errors={error.field: error.translated(person.language)})
    elif isinstance(submission, NeedsMailbox):
        # Over the form, which is held until the question is answered.
        held = await services.held_forms.hold(context.team_id, context.user_id, view)
        question = mailbox_question(
            services.mailboxes,
            person.name,
            person.email,
            held,
            submission.guests,
            language=person.language,
        )
        await ack(response_action="push", view=question)
    else:
        await ack()
        await _create(client, context, submission, str(view.get("id") or "") or None)


async def answer_mailbox_question(
    ack: AsyncAck, view: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Remember the organizer's sending mailbox, then create the meeting from the held form."""
    assert context.team_id is not None and context.user_id is not None
    services = services_of(context)
    person = await services.people.get(context.team_id, context.user_id)
    chosen = read_choice(view, "mailbox") or services.mailboxes.default.key
    if not await services.submissions.choose_mailbox(context.team_id, context.user_id, chosen):
        message = translator(person.language).gettext("Choose one of the mailboxes.")
        await ack(response_action="errors", errors={"mailbox": message})
        return
    held_id = int(json.loads(view.get("private_metadata") or "{}").get("held_form", 0))
    form_view = await services.held_forms.get(context.team_id, context.user_id, held_id)
    draft = _checked(form_view, person) if form_view is not None else None
    if form_view is None or not isinstance(draft, MeetingDraft):
        # The form went stale while the question was open (or was already sent): close only
        # the question; the form beneath is still filled in and shows what to fix on submit.
        await ack()
        return
    await ack(response_action="clear")
    submission = await services.submissions.submit(
        context.team_id, _organizer(person), person.language, draft
    )
    if isinstance(submission, Accepted):
        await _create(client, context, submission, str(form_view.get("id") or "") or None)
    elif isinstance(submission, Refused):
        await _tell_unsaved(client, context, draft.title, submission.error)
    await services.held_forms.release(context.team_id, context.user_id, held_id)


async def _tell_unsaved(
    client: AsyncWebClient, context: AsyncBoltContext, title: str, error: MeetingError
) -> None:
    assert context.user_id is not None
    language = await language_of_user(context, context.user_id)
    text = (
        translator(language)
        .gettext("“{title}” was not saved and no invitations went out: {reason}")
        .format(title=title, reason=error.translated(language))
    )
    await tell(client, context.user_id, text)


async def _create(
    client: AsyncWebClient,
    context: AsyncBoltContext,
    accepted: Accepted,
    source_view: str | None,
) -> None:
    try:
        await services_of(context).submissions.create(accepted, source_view=source_view)
    except MeetingError as error:
        await _tell_unsaved(client, context, accepted.draft.title, error)


async def submit_edit(
    ack: AsyncAck, view: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Check the edited form and apply it; a stale or foreign edit is refused in the form."""
    assert context.team_id is not None and context.user_id is not None
    services = services_of(context)
    person = await services.people.get(context.team_id, context.user_id)
    draft = _checked(view, person, editing=True)
    if isinstance(draft, FormErrors):
        await ack(response_action="errors", errors=draft.by_block)
        return
    meeting_id, version = edited_meeting(view) or (0, 0)
    # Fetching files from Slack can outlast Slack's three seconds: then the form closes
    # first and a refusal comes by DM; otherwise the refusal is shown right in the form.
    closed_early = bool(draft.new_files)
    if closed_early:
        await ack()
    # "This meeting and all after it" of a series: the form names the occurrence.
    following = edited_from(view)
    revision: Revision | SeriesSplit
    try:
        if following is None:
            revision = await services.meetings.update(
                context.team_id, context.user_id, meeting_id, version, draft
            )
        else:
            revision = await services.series.edit_following(
                context.team_id, context.user_id, meeting_id, version, following, draft
            )
    except MeetingError as error:
        if closed_early:
            await refuse(context, client, error)
        else:
            errors = {error.field: error.translated(person.language)}
            await ack(response_action="errors", errors=errors)
        return
    if not closed_early:
        await ack()
    if isinstance(revision, SeriesSplit):
        outcome: str | None = split_outcome(revision, language=person.language)
    else:
        outcome = edit_outcome(revision, language=person.language)
    if outcome is not None:
        await tell(client, context.user_id, outcome)


async def submit_cancel(
    ack: AsyncAck, view: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Cancel the meeting, passing the organizer's message on to everyone."""
    assert context.team_id is not None and context.user_id is not None
    await ack()
    meeting_id, _ = edited_meeting(view) or (0, 0)
    services, message = services_of(context), read_text(view, "message")
    # A series' form also asks which meeting, and whether only it or those after it too.
    scope, occurrence = read_scope(state_values(view))
    try:
        if not meeting_id:
            raise MeetingNotFound(meeting_id)
        who = (context.team_id, context.user_id, meeting_id)
        if occurrence is None:
            await services.meetings.cancel(*who, message)
        elif scope == "following":
            await services.series.cancel_following(*who, occurrence, message)
        else:
            await services.series.cancel_occurrence(*who, occurrence, message)
    except MeetingError as error:
        await refuse(context, client, error)
