"""The open create or edit form: availability as members and times are picked, "Find a time"."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.free_busy import PICK_SLOT_ACTION
from bot.blocks.meeting_form import (
    AVAILABILITY_INPUTS,
    FIND_TIME_ACTION,
    FormValues,
    edited_meeting,
    parse_slot,
    read_form,
    refreshed_modal,
    values_shown,
)
from handlers.context import language_of_user, services_of


def register(app: AsyncApp) -> None:
    """Wire the open form's live parts."""
    app.action({"block_id": re.compile(rf"^({'|'.join(AVAILABILITY_INPUTS)})$")})(show_availability)
    app.action(FIND_TIME_ACTION)(find_a_time)
    app.action(re.compile(rf"^{PICK_SLOT_ACTION}_\d+$"))(pick_slot)


def _meeting_of(view: dict[str, Any]) -> int | None:
    edited = edited_meeting(view)
    return edited[0] if edited else None


async def _redraw(
    client: AsyncWebClient, context: AsyncBoltContext, view: dict[str, Any], values: FormValues
) -> None:
    assert context.user_id is not None
    language = await language_of_user(context, context.user_id)
    try:
        await client.views_update(
            view_id=view["id"],
            hash=view.get("hash"),
            view=refreshed_modal(view, values, language=language),
        )
    except SlackApiError as error:
        # A newer redraw is already on its way when the hash is stale; nothing is lost.
        if error.response.get("error") != "hash_conflict":
            raise


async def show_availability(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Show each picked member's free/busy at the chosen time, keeping what was typed."""
    await ack()
    assert context.team_id is not None and context.user_id is not None
    view = body["view"]
    form = read_form(view)
    values = values_shown(view, form, datetime.now(UTC))
    statuses = await services_of(context).availability.statuses(
        context.team_id,
        context.user_id,
        [m for m in form.member_ids if m != context.user_id],
        values.start,
        values.end,
        ignore_meeting=_meeting_of(view),
    )
    await _redraw(client, context, view, replace(values, availability=tuple(statuses)))


async def find_a_time(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Offer the next three times when the organizer and every picked member are free."""
    await ack()
    assert context.team_id is not None and context.user_id is not None
    view = body["view"]
    now = datetime.now(UTC)
    values = values_shown(view, read_form(view), now)
    slots = await services_of(context).availability.find_slots(
        context.team_id,
        list(dict.fromkeys([context.user_id, *values.member_ids])),
        values.end - values.start,
        now,
        ignore_meeting=_meeting_of(view),
    )
    await _redraw(client, context, view, replace(values, slots=tuple(slots)))


async def pick_slot(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Put the chosen time into the start and end fields."""
    await ack()
    view = body["view"]
    slot = parse_slot(str(action.get("value", "")))
    if slot is None:
        return
    values = values_shown(view, read_form(view), datetime.now(UTC))
    start, end = slot
    await _redraw(
        client,
        context,
        view,
        replace(values, start=start, end=end, time_revision=values.time_revision + 1),
    )
