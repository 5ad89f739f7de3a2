"""Buttons in Meetbot's messages."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.blocks import ANSWER_ACTIONS
from bot.meetings import MeetingNotFound, NotInvited
from handlers.context import services_of


async def record_member_answer(
    ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """Record a member's Accept / Maybe / Decline; the outbox refreshes their DM."""
    await ack()
    assert context.team_id is not None and context.user_id is not None
    answer = ANSWER_ACTIONS[action["action_id"]]
    try:
        meeting_id = int(action.get("value", ""))
        await services_of(context).meetings.respond_as_member(
            context.team_id, meeting_id, context.user_id, answer
        )
    except (ValueError, MeetingNotFound, NotInvited):
        await respond(
            text="This invitation is not addressed to you, so your answer was not recorded.",
            response_type="ephemeral",
            replace_original=False,
        )
