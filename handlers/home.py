"""The App Home tab: upcoming meetings, one's own calendar, and one's settings."""

from __future__ import annotations

from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.home import (
    CONNECT_FEED_ACTION,
    DISCONNECT_FEED_ACTION,
    FEED_CALLBACK,
    HOME_PAGE_SIZE,
    MORE_ACTION,
    feed_modal,
)
from bot.blocks.meeting_form import read_text
from bot.blocks.settings import SETTINGS_ACTION, SETTINGS_CALLBACK, read_settings, settings_modal
from bot.feeds import FeedAddressError
from bot.i18n import translator
from bot.preferences import SettingsRefused
from handlers.context import language_of_user, services_of


def register(app: AsyncApp) -> None:
    """Wire the Home tab and what opens from it."""
    app.event("app_home_opened")(publish_home)
    app.action(MORE_ACTION)(show_more_on_home)
    app.action(CONNECT_FEED_ACTION)(open_feed_form)
    app.action(DISCONNECT_FEED_ACTION)(disconnect_feed)
    app.view(FEED_CALLBACK)(connect_feed)
    app.action(SETTINGS_ACTION)(open_settings)
    app.view(SETTINGS_CALLBACK)(save_settings)


async def _republish(client: AsyncWebClient, context: AsyncBoltContext, page_size: int) -> None:
    assert context.team_id is not None and context.user_id is not None
    view = await services_of(context).home.view(context.team_id, context.user_id, page_size)
    await client.views_publish(user_id=context.user_id, view=view)


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
    value = str(action.get("value", ""))
    await _republish(client, context, int(value) if value.isdigit() else HOME_PAGE_SIZE)


async def open_feed_form(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Ask for the secret iCal address of the person's calendar."""
    await ack()
    assert context.user_id is not None
    language = await language_of_user(context, context.user_id)
    await client.views_open(trigger_id=body["trigger_id"], view=feed_modal(language=language))


async def connect_feed(
    ack: AsyncAck, view: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Connect the pasted calendar, or say in the form why it cannot be read."""
    assert context.team_id is not None and context.user_id is not None
    try:
        await services_of(context).feeds.connect(
            context.team_id, context.user_id, read_text(view, "feed_url")
        )
    except FeedAddressError as error:
        language = await language_of_user(context, context.user_id)
        await ack(response_action="errors", errors={"feed_url": error.translated(language)})
        return
    await ack()
    await _republish(client, context, HOME_PAGE_SIZE)


async def disconnect_feed(ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext) -> None:
    """Forget the person's calendar and its busy times."""
    await ack()
    assert context.team_id is not None and context.user_id is not None
    await services_of(context).feeds.disconnect(context.team_id, context.user_id)
    await _republish(client, context, HOME_PAGE_SIZE)


async def open_settings(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Open the person's settings form, filled in with what they chose before."""
    await ack()
    assert context.team_id is not None and context.user_id is not None
    services = services_of(context)
    settings = await services.preferences.get(context.team_id, context.user_id)
    person = await services.people.get(context.team_id, context.user_id)
    view = settings_modal(
        settings,
        services.mailboxes,
        person.name,
        person.email,
        language=person.language,
        video_offered=services.settings.video_url is not None,
    )
    await client.views_open(trigger_id=body["trigger_id"], view=view)


async def save_settings(
    ack: AsyncAck, view: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Keep the person's settings, or show in the form what cannot be kept."""
    assert context.team_id is not None and context.user_id is not None
    services = services_of(context)
    before = await services.preferences.get(context.team_id, context.user_id)
    chosen = read_settings(view, before)
    language = await language_of_user(context, context.user_id)
    if chosen.mailbox is not None and not services.mailboxes.offers(chosen.mailbox):
        message = translator(language).gettext("Choose one of the mailboxes.")
        await ack(response_action="errors", errors={"mailbox": message})
        return
    try:
        await services.preferences.save(context.team_id, context.user_id, chosen)
    except SettingsRefused as refusal:
        errors = {refusal.block_id: refusal.translated(language)}
        await ack(response_action="errors", errors=errors)
        return
    await ack()
    await _republish(client, context, HOME_PAGE_SIZE)
