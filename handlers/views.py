"""Modal submissions."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.drafts import FormErrors, MeetingForm, check_form
from bot.meetings import Organizer
from handlers.context import services_of

logger = logging.getLogger(__name__)


def _value(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    block = values.get(block_id) or {}
    return dict(block.get("value") or {})


def _moment(values: dict[str, Any], block_id: str) -> datetime | None:
    stamp = _value(values, block_id).get("selected_date_time")
    return datetime.fromtimestamp(int(stamp), UTC) if stamp is not None else None


def form_from_view(view: dict[str, Any]) -> MeetingForm:
    """Read the create form's state into a MeetingForm."""
    values = view.get("state", {}).get("values", {})
    return MeetingForm(
        title=_value(values, "title").get("value") or "",
        start=_moment(values, "start"),
        end=_moment(values, "end"),
        location=_value(values, "location").get("value") or "",
        description=_value(values, "description").get("value") or "",
        member_ids=tuple(_value(values, "members").get("selected_users") or ()),
        guests_text=_value(values, "guests").get("value") or "",
        notify=bool(_value(values, "notify").get("selected_options")),
    )


async def submit_meeting(
    ack: AsyncAck,
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Check the form; show field errors, or create the meeting and close the form."""
    organizer_id = context.user_id
    assert organizer_id is not None and context.team_id is not None
    outcome = check_form(form_from_view(view), organizer_id=organizer_id, now=datetime.now(UTC))
    if isinstance(outcome, FormErrors):
        await ack(response_action="errors", errors=outcome.by_block)
        return
    await ack()
    services = services_of(context)
    try:
        person = await services.people.get(organizer_id)
        organizer = Organizer(person.user_id, person.name, person.email, person.timezone)
        await services.meetings.create(context.team_id, organizer, outcome)
    except Exception:
        logger.exception("could not create the meeting %r", outcome.title)
        text, message_blocks = blocks.notice(
            f"Sorry, “{outcome.title}” could not be saved, so no invitations went out. "
            "Please try /meet again in a moment."
        )
        await client.chat_postMessage(channel=organizer_id, text=text, blocks=message_blocks)
