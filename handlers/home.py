"""The App Home tab: upcoming meetings, and connecting one's own calendar."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.feeds import FeedAddressError
from handlers.context import language_of_user, services_of


async def publish_home(
    event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Show the person their upcoming meetings when they open the Home tab."""
    if event.get("tab") != "home":
        return
    assert context.team_id is not None
    user_id = str(event["user"])
    view = await services_of(context).home.view(context.team_id, user_id)
    await client.views_publish(user_id=user_id, view=view)


async def show_more_on_home(
    ack: AsyncAck, action: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Show more of the person's meetings on their Home tab."""
    await ack()
    assert context.team_id is not None and context.user_id is not None
    value = str(action.get("value", ""))
    page_size = int(value) if value.isdigit() else blocks.HOME_PAGE_SIZE
    view = await services_of(context).home.view(context.team_id, context.user_id, page_size)
    await client.views_publish(user_id=context.user_id, view=view)


async def open_feed_form(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Ask for the secret iCal address of the person's calendar."""
    await ack()
    assert context.user_id is not None
    language = await language_of_user(context, context.user_id)
    await client.views_open(
        trigger_id=body["trigger_id"], view=blocks.feed_modal(language=language)
    )


async def connect_feed(
    ack: AsyncAck,
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Connect the pasted calendar, or say in the form why it cannot be read."""
    assert context.team_id is not None and context.user_id is not None
    block = view.get("state", {}).get("values", {}).get("feed_url", {})
    address = str((next(iter(block.values()), None) or {}).get("value") or "")
    services = services_of(context)
    try:
        await services.feeds.connect(context.team_id, context.user_id, address)
    except FeedAddressError as error:
        language = await language_of_user(context, context.user_id)
        await ack(response_action="errors", errors={"feed_url": error.translated(language)})
        return
    await ack()
    await client.views_publish(
        user_id=context.user_id, view=await services.home.view(context.team_id, context.user_id)
    )


async def disconnect_feed(ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext) -> None:
    """Forget the person's calendar and its busy times."""
    await ack()
    assert context.team_id is not None and context.user_id is not None
    services = services_of(context)
    await services.feeds.disconnect(context.team_id, context.user_id)
    await client.views_publish(
        user_id=context.user_id, view=await services.home.view(context.team_id, context.user_id)
    )
