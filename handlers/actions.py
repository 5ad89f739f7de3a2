"""Buttons in Meetbot's messages: answers, edit and cancel, guests' proposed times and
e-mailed answers the organizer is asked to confirm."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.kit import View
from bot.blocks.meeting_form import edit_modal, form_values_of
from bot.blocks.messages import (
    ANSWER_ACTIONS,
    CANCEL_ACTION,
    EDIT_ACTION,
    JOIN_ACTION,
    cancel_modal,
    parse_answer_value,
)
from bot.blocks.notices import (
    COUNTER_ACCEPT_ACTION,
    COUNTER_DECLINE_ACTION,
    HELD_ADD_ACTION,
    HELD_IGNORE_ACTION,
    HELD_RECORD_ACTION,
    counter_settled,
    held_answer_settled,
)
from bot.blocks.series import edit_scope_modal
from bot.i18n import Language, translator
from bot.meetings.errors import (
    HeldAnswerNotFound,
    MeetingError,
    ProposalNotFound,
)
from bot.meetings.model import Meeting
from handlers.context import language_of_user, services_of
from handlers.organizer_forms import organizer_form
from handlers.replies import refuse, tell


def register(app: AsyncApp) -> None:
    """Wire the buttons in meeting messages."""
    app.action(re.compile("^(" + "|".join(ANSWER_ACTIONS) + ")$"))(record_member_answer)
    app.action(EDIT_ACTION)(organizer_form(_edit_form))
    app.action(CANCEL_ACTION)(organizer_form(_cancel_form))
    app.action(COUNTER_ACCEPT_ACTION)(decide_counter)
    app.action(COUNTER_DECLINE_ACTION)(decide_counter)
    for held_action in (HELD_RECORD_ACTION, HELD_ADD_ACTION, HELD_IGNORE_ACTION):
        app.action(held_action)(decide_held_answer)
    app.action(JOIN_ACTION)(acknowledge_join)


async def acknowledge_join(ack: AsyncAck) -> None:
    """Acknowledge a press of "Join": Slack itself opens the call's link."""
    await ack()


def _id_in(action: dict[str, Any]) -> int | None:
    """Return the number a button carries (a meeting's or a proposal's id), if it is one."""
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
    services = services_of(context)
    try:
        meeting_id, sequence = parse_answer_value(str(action.get("value", "")))
    except ValueError:
        language = await language_of_user(context, context.user_id)
        text = translator(language).gettext("That button is not one of Meetbot's.")
        await tell(client, context.user_id, text, body=body, respond=respond)
        return
    try:
        decision = await services.meetings.respond_as_member(
            context.team_id,
            meeting_id,
            context.user_id,
            ANSWER_ACTIONS[action["action_id"]],
            sequence,
        )
    except MeetingError as error:
        await refuse(context, client, error, body=body, respond=respond)
        return
    if decision.changed:
        services.metrics.decisions.labels("slack").inc()


def _edit_form(meeting: Meeting, language: Language, video_offered: bool) -> View:
    # A series first asks which meetings the edit is for.
    asked = edit_scope_modal(meeting, language=language)
    if asked is not None:
        return asked
    values = form_values_of(meeting, video_offered=video_offered)
    return edit_modal(values, meeting.id, meeting.version, language=language)


def _cancel_form(meeting: Meeting, language: Language, video_offered: bool) -> View:
    return cancel_modal(meeting, language=language)


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
    proposal_id = _id_in(action)
    services = services_of(context)
    try:
        if proposal_id is None:
            raise ProposalNotFound(action.get("value"))
        if action["action_id"] == COUNTER_ACCEPT_ACTION:
            await services.replies.accept_counter(context.team_id, context.user_id, proposal_id)
        else:
            await services.replies.decline_counter(context.team_id, context.user_id, proposal_id)
        proposal = await services.replies.proposal(proposal_id)
        meeting = await services.meetings.get(context.team_id, proposal.meeting_id)
    except MeetingError as error:
        await refuse(context, client, error, body=body, respond=respond)
        return
    language = await language_of_user(context, context.user_id)
    text, message_blocks = counter_settled(
        meeting, meeting.invitee(proposal.attendee_id), proposal, language=language
    )
    await respond(text=text, blocks=message_blocks, replace_original=True)


async def decide_held_answer(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    """Record, add the sender of, or ignore an e-mailed answer; only the organizer may."""
    await ack()
    assert context.team_id is not None and context.user_id is not None
    held_id = _id_in(action)
    replies = services_of(context).replies
    decide = {
        HELD_RECORD_ACTION: replies.confirm_held_answer,
        HELD_ADD_ACTION: replies.add_held_sender,
        HELD_IGNORE_ACTION: replies.ignore_held_answer,
    }[action["action_id"]]
    try:
        if held_id is None:
            raise HeldAnswerNotFound(action.get("value"))
        held = await decide(context.team_id, context.user_id, held_id)
        meeting = await services_of(context).meetings.get(context.team_id, held.meeting_id)
    except MeetingError as error:
        await refuse(context, client, error, body=body, respond=respond)
        return
    language = await language_of_user(context, context.user_id)
    text, message_blocks = held_answer_settled(meeting, held, language=language)
    await respond(text=text, blocks=message_blocks, replace_original=True)
