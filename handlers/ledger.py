"""The delivery ledger's buttons: the Guests view, its pages, Resend and Fix address."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.blocks.ledger import (
    FIX_ACTION,
    FIX_CALLBACK,
    GUESTS_ACTION,
    PAGE_ACTIONS,
    RESEND_ACTION,
    fix_address_modal,
    guests_view,
    parse_target,
    read_address_fix,
    shown_page,
)
from bot.i18n import Translator, translator
from bot.meetings.errors import MeetingError, MeetingNotFound, NotInvited
from bot.meetings.ledger import ShownView
from handlers.context import language_of_user, services_of
from handlers.replies import refuse


def register(app: AsyncApp) -> None:
    """Wire the ledger's buttons and the Fix address form."""
    app.action(GUESTS_ACTION)(open_guests)
    for page_action in PAGE_ACTIONS:
        app.action(page_action)(turn_page)
    app.action(RESEND_ACTION)(resend)
    app.action(FIX_ACTION)(open_fix_address)
    app.view(FIX_CALLBACK)(fix_address)


async def _guests_view(
    context: AsyncBoltContext, meeting_id: int, page: int, note: str = ""
) -> dict[str, Any]:
    """Return the Guests view of a meeting as it stands now, for its organizer."""
    assert context.team_id is not None and context.user_id is not None
    meeting, ledgers = await services_of(context).ledger.of_meeting(
        context.team_id, context.user_id, meeting_id
    )
    language = await language_of_user(context, context.user_id)
    return guests_view(meeting, ledgers, page, language=language, note=note)


async def open_guests(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Open the Guests view: where each guest's e-mails stand."""
    await ack()
    value = str(action.get("value", ""))
    try:
        if not value.isdigit():
            raise MeetingNotFound(value)
        view = await _guests_view(context, int(value), 0)
    except MeetingError as error:
        await refuse(context, client, error, body=body)
        return
    await _shown(context, await client.views_open(trigger_id=body["trigger_id"], view=view))


async def turn_page(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Show another page of a long guest list."""
    await ack()
    target = parse_target(str(action.get("value", "")))
    if target is not None:
        await _redraw(client, context, body, *target)


async def resend(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Send a guest's invitation again, and show the view with it queued."""
    await ack()
    assert context.team_id is not None and context.user_id is not None
    team_id, user_id = context.team_id, context.user_id
    pressed = _pressed(body, action)
    if pressed is None:
        return
    (meeting_id, attendee_id), shown = pressed

    async def resent(t: Translator) -> str:
        sent = await services_of(context).ledger.resend(team_id, user_id, meeting_id, attendee_id)
        return t.gettext("Sent again.") if sent else t.gettext("It is already on its way.")

    await _redraw(client, context, body, *shown, noting=resent)


def _pressed(
    body: dict[str, Any], action: dict[str, Any]
) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Return the (meeting, guest) a guest's button is about and the (meeting, page) shown."""
    target = parse_target(str(action.get("value", "")))
    shown = shown_page(body.get("view") or {})
    if target is None or shown is None:
        return None
    return target, shown


async def _redraw(
    client: AsyncWebClient,
    context: AsyncBoltContext,
    body: dict[str, Any],
    meeting_id: int,
    page: int,
    noting: Callable[[Translator], Awaitable[str]] | None = None,
) -> None:
    """Redraw the Guests view in place, after a change that says what it did; or say why not."""
    assert context.user_id is not None
    try:
        note = ""
        if noting is not None:
            note = await noting(translator(await language_of_user(context, context.user_id)))
        view = await _guests_view(context, meeting_id, page, note)
    except MeetingError as error:
        await refuse(context, client, error, body=body)
        return
    await _shown(context, await client.views_update(view_id=body["view"]["id"], view=view), note)


async def open_fix_address(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Open the Fix address form over the Guests view."""
    await ack()
    assert context.team_id is not None and context.user_id is not None
    pressed = _pressed(body, action)
    if pressed is None:
        return
    target, shown = pressed
    try:
        meeting, _ = await services_of(context).ledger.of_meeting(
            context.team_id, context.user_id, target[0]
        )
        guest = next((g for g in meeting.guests if g.id == target[1]), None)
        if guest is None:
            raise NotInvited(target[1])  # taken off the list since the view was drawn
    except MeetingError as error:
        await refuse(context, client, error, body=body)
        return
    language = await language_of_user(context, context.user_id)
    view = fix_address_modal(
        meeting, guest, guests_view=(str(body["view"]["id"]), shown[1]), language=language
    )
    await client.views_push(trigger_id=body["trigger_id"], view=view)


async def fix_address(
    ack: AsyncAck, view: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Invite the right address in place of the wrong one, or say in the form why not."""
    assert context.team_id is not None and context.user_id is not None
    fix = read_address_fix(view)
    language = await language_of_user(context, context.user_id)
    try:
        fixed = await services_of(context).ledger.fix_address(
            context.team_id, context.user_id, fix.meeting_id, fix.attendee_id, fix.typed
        )
    except MeetingError as error:
        await ack(response_action="errors", errors={"address": error.translated(language)})
        return
    await ack()
    t = translator(language)
    if fixed.cancelled:
        taken_back = t.gettext("{address} was sent a cancellation.")
    else:
        taken_back = t.gettext("Nothing reached {address}, so it gets no cancellation.")
    note = " ".join(
        [
            t.gettext("Invited {address} instead.").format(address=fixed.invited.email),
            taken_back.format(address=fixed.wrong_address),
        ]
    )
    updated = await _guests_view(context, fix.meeting_id, fix.page, note)
    await _shown(context, await client.views_update(view_id=fix.guests_view, view=updated), note)


async def _shown(context: AsyncBoltContext, response: AsyncSlackResponse, note: str = "") -> None:
    """Remember the Guests view as Slack drew it (and its note), to redraw as the ledger moves."""
    assert context.team_id is not None and context.user_id is not None
    view = response["view"]
    shown = shown_page(view)
    if shown is not None:
        meeting_id, page = shown
        drawn = ShownView(meeting_id, str(view["id"]), str(view["hash"]), page, note)
        await services_of(context).ledger.view_shown(context.team_id, context.user_id, drawn)
