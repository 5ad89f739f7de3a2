"""The App Home tab: upcoming meetings, one's own calendar, and one's settings."""

from __future__ import annotations

from dataclasses import replace
from datetime import time
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.feeds import FeedAddressError
from bot.i18n import translator
from bot.preferences import PersonalSettings, SettingsRefused, WorkingHours
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


async def open_settings(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Open the person's settings form, filled in with what they chose before."""
    await ack()
    assert context.team_id is not None and context.user_id is not None
    services = services_of(context)
    settings = await services.preferences.get(context.team_id, context.user_id)
    person = await services.people.get(context.team_id, context.user_id)
    view = blocks.settings_modal(
        settings, services.mailboxes, person.name, person.email, language=person.language
    )
    await client.views_open(trigger_id=body["trigger_id"], view=view)


def _state(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    block = view.get("state", {}).get("values", {}).get(block_id) or {}
    return dict(next(iter(block.values()), None) or {})


def _clock(text: str | None) -> time | None:
    try:
        return time.fromisoformat(text) if text else None
    except ValueError:
        return None


def settings_from_view(view: dict[str, Any], before: PersonalSettings) -> PersonalSettings:
    """Read the settings form; what it does not show (such as a lone mailbox) stays as it was."""
    reminder = str((_state(view, "reminder").get("selected_option") or {}).get("value", "none"))
    notify = _state(view, "notify").get("selected_options") or []
    days = _state(view, "work_days").get("selected_options") or []
    language = str((_state(view, "guest_language").get("selected_option") or {}).get("value", ""))
    mailbox = (_state(view, "mailbox").get("selected_option") or {}).get("value")
    hours = before.working_hours
    return replace(
        before,
        reminder_minutes=int(reminder) if reminder.isdigit() else None,
        notify_on_decision=any(o.get("value") == "notify" for o in notify),
        working_hours=WorkingHours(
            start=_clock(_state(view, "work_start").get("selected_time")) or hours.start,
            end=_clock(_state(view, "work_end").get("selected_time")) or hours.end,
            days=frozenset(int(o["value"]) for o in days if str(o.get("value")).isdigit()),
        ),
        guest_language=None if language in ("", "auto") else language,
        mailbox=str(mailbox) if mailbox else before.mailbox,
    )


async def save_settings(
    ack: AsyncAck, view: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Keep the person's settings, or show in the form what cannot be kept."""
    assert context.team_id is not None and context.user_id is not None
    services = services_of(context)
    before = await services.preferences.get(context.team_id, context.user_id)
    chosen = settings_from_view(view, before)
    t = translator(await language_of_user(context, context.user_id))
    if chosen.mailbox is not None and not services.mailboxes.offers(chosen.mailbox):
        message = t.gettext("Choose one of the mailboxes.")
        await ack(response_action="errors", errors={"mailbox": message})
        return
    try:
        await services.preferences.save(context.team_id, context.user_id, chosen)
    except SettingsRefused as refusal:
        await ack(response_action="errors", errors={refusal.block_id: t.gettext(refusal.message)})
        return
    await ack()
    await client.views_publish(
        user_id=context.user_id, view=await services.home.view(context.team_id, context.user_id)
    )
