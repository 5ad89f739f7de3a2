"""Buttons in Meetbot's messages and Home tab."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.i18n import Language, translator
from bot.meetings import Meeting, MeetingError, MeetingNotFound, ProposalNotFound
from handlers.context import language_of_user, services_of
from handlers.replies import tell


def _meeting_id(action: dict[str, Any]) -> int | None:
    value = str(action.get("value", ""))
    return int(value) if value.isdigit() else None


async def record_member_answer(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    """Record a member's Accept / Maybe / Decline; the outbox refreshes their DM and Home."""
    await ack()
    assert context.team_id is not None and context.user_id is not None
    answer = blocks.ANSWER_ACTIONS[action["action_id"]]
    try:
        meeting_id, sequence = blocks.parse_answer_value(str(action.get("value", "")))
    except ValueError:
        language = await language_of_user(context, context.user_id)
        await tell(
            body,
            client,
            respond,
            translator(language).gettext("That button is not one of Meetbot's."),
        )
        return
    services = services_of(context)
    try:
        decision = await services.meetings.respond_as_member(
            context.team_id, meeting_id, context.user_id, answer, sequence
        )
    except MeetingError as error:
        language = await language_of_user(context, context.user_id)
        await tell(body, client, respond, translator(language).gettext(error.message))
        return
    if decision.changed:
        services.metrics.decisions.labels("slack").inc()


async def _open_organizer_form(
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
    build: Callable[[Meeting, Language], blocks.View],
) -> None:
    assert context.team_id is not None and context.user_id is not None
    meeting_id = _meeting_id(action)
    language = await language_of_user(context, context.user_id)
    try:
        if meeting_id is None:
            raise MeetingNotFound(action.get("value"))
        meeting = await services_of(context).meetings.get_for_organizer(
            context.team_id, meeting_id, context.user_id
        )
    except MeetingError as error:
        await tell(body, client, respond, translator(language).gettext(error.message))
        return
    await client.views_open(trigger_id=body["trigger_id"], view=build(meeting, language))


def _edit_form(meeting: Meeting, language: Language) -> blocks.View:
    return blocks.edit_modal(
        blocks.form_values_of(meeting), meeting.id, meeting.version, language=language
    )


def _cancel_form(meeting: Meeting, language: Language) -> blocks.View:
    return blocks.cancel_modal(meeting, language=language)


async def open_edit(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    """Open the edit form for the organizer; anyone else is told no."""
    await ack()
    await _open_organizer_form(body, action, client, respond, context, _edit_form)


async def open_cancel(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    """Ask the organizer to confirm the cancellation; anyone else is told no."""
    await ack()
    await _open_organizer_form(body, action, client, respond, context, _cancel_form)


async def decide_counter(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    """Accept or decline a guest's proposed time; only the organizer may."""
    await ack()
    assert context.team_id is not None and context.user_id is not None
    proposal_id = _meeting_id(action)
    meetings = services_of(context).meetings
    language = await language_of_user(context, context.user_id)
    try:
        if proposal_id is None:
            raise ProposalNotFound(action.get("value"))
        if action["action_id"] == blocks.COUNTER_ACCEPT_ACTION:
            await meetings.accept_counter(context.team_id, context.user_id, proposal_id)
        else:
            await meetings.decline_counter(context.team_id, context.user_id, proposal_id)
        proposal = await meetings.proposal(proposal_id)
        meeting = await meetings.get(context.team_id, proposal.meeting_id)
    except MeetingError as error:
        await tell(body, client, respond, translator(language).gettext(error.message))
        return
    text, message_blocks = blocks.counter_settled(
        meeting, meeting.invitee(proposal.attendee_id), proposal, language=language
    )
    await respond(text=text, blocks=message_blocks, replace_original=True)
