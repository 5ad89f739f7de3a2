"""The open create or edit form: availability as members and times are picked, "Find a time"."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.drafts import MeetingForm
from handlers.context import language_of_user, services_of
from handlers.views import form_from_view

logger = logging.getLogger(__name__)
DEFAULT_LENGTH = timedelta(minutes=30)


def _attached_files(view: dict[str, Any]) -> tuple[tuple[int, str], ...]:
    for block in view.get("blocks", []):
        if block.get("block_id") == "kept_files":
            return tuple((int(o["value"]), o["text"]["text"]) for o in block["element"]["options"])
    return ()


def _meeting_id(view: dict[str, Any]) -> int | None:
    metadata = json.loads(view.get("private_metadata") or "{}")
    return int(metadata["meeting_id"]) if "meeting_id" in metadata else None


def _time_revision(view: dict[str, Any]) -> int:
    for block in view.get("blocks", []):
        if block.get("block_id") == "start":
            action_id = str(block["element"]["action_id"])
            return int(action_id.rpartition("_")[2]) if "_" in action_id else 0
    return 0


def _values(view: dict[str, Any], form: MeetingForm, **changes: Any) -> blocks.FormValues:
    now = datetime.now(UTC)
    start = form.start or now
    end = form.end if form.end and form.end > start else start + DEFAULT_LENGTH
    values = blocks.FormValues(
        start=start,
        end=end,
        title=form.title,
        location=form.location,
        description=form.description,
        member_ids=form.member_ids,
        guests_text=form.guests_text,
        notify=form.notify,
        remind_guests=form.remind_guests,
        reminder_minutes=form.reminder_minutes,
        attached_files=_attached_files(view),
        kept_file_ids=form.kept_file_ids if _attached_files(view) else None,
        time_revision=_time_revision(view),
    )
    return blocks.FormValues(**{**values.__dict__, **changes})


async def _redraw(
    client: AsyncWebClient,
    context: AsyncBoltContext,
    view: dict[str, Any],
    values: blocks.FormValues,
) -> None:
    assert context.user_id is not None
    language = await language_of_user(context, context.user_id)
    try:
        await client.views_update(
            view_id=view["id"],
            hash=view.get("hash"),
            view=blocks.refreshed_modal(view, values, language=language),
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
    form = form_from_view(view)
    values = _values(view, form)
    statuses = await services_of(context).availability.statuses(
        context.team_id,
        context.user_id,
        [m for m in form.member_ids if m != context.user_id],
        values.start,
        values.end,
        ignore_meeting=_meeting_id(view),
    )
    await _redraw(client, context, view, _values(view, form, availability=tuple(statuses)))


async def find_a_time(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Offer the next three times when the organizer and every picked member are free."""
    await ack()
    assert context.team_id is not None and context.user_id is not None
    view = body["view"]
    form = form_from_view(view)
    values = _values(view, form)
    people = list(dict.fromkeys([context.user_id, *form.member_ids]))
    slots = await services_of(context).availability.find_slots(
        context.team_id,
        people,
        values.end - values.start,
        datetime.now(UTC),
        ignore_meeting=_meeting_id(view),
    )
    await _redraw(client, context, view, _values(view, form, slots=tuple(slots)))


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
    start_text, _, end_text = str(action.get("value", "")).partition("-")
    if not (start_text.isdigit() and end_text.isdigit()):
        return
    form = form_from_view(view)
    start = datetime.fromtimestamp(int(start_text), UTC)
    end = datetime.fromtimestamp(int(end_text), UTC)
    await _redraw(
        client,
        context,
        view,
        _values(
            view,
            form,
            start=start,
            end=end,
            time_revision=_time_revision(view) + 1,
        ),
    )
