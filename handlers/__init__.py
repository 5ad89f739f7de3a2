"""Thin adapters from Slack payloads and HTTP requests to Meetbot's services."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot import blocks
from bot.services import Services
from handlers.actions import (
    decide_counter,
    open_cancel,
    open_edit,
    record_member_answer,
)
from handlers.commands import meet
from handlers.context import SERVICES
from handlers.form import find_a_time, pick_slot, show_availability
from handlers.home import (
    connect_feed,
    disconnect_feed,
    open_feed_form,
    open_settings,
    publish_home,
    save_settings,
    show_more_on_home,
)
from handlers.views import answer_mailbox_question, submit_cancel, submit_edit, submit_meeting
from handlers.workspaces import forget_revoked_tokens, forget_uninstalled_workspace


def register(app: AsyncApp, services: Services) -> None:
    """Wire every Slack listener, and hand each request the services."""

    async def provide_services(
        context: AsyncBoltContext, next: Callable[[], Awaitable[None]]
    ) -> None:
        context[SERVICES] = services
        await next()

    async def skip_redelivered_events(
        request: AsyncBoltRequest, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        # Slack redelivers an event it thinks we missed; the first delivery was handled.
        # Socket Mode marks the first delivery too, as attempt 0.
        attempt = (request.headers.get("x-slack-retry-num") or ["0"])[0]
        if attempt != "0" and request.body.get("type") == "event_callback":
            return BoltResponse(status=200, body="")
        return await next()

    app.middleware(skip_redelivered_events)
    app.middleware(provide_services)
    app.command("/meet")(meet)
    app.view(blocks.CREATE_CALLBACK)(submit_meeting)
    app.view(blocks.EDIT_CALLBACK)(submit_edit)
    app.view(blocks.CANCEL_CALLBACK)(submit_cancel)
    app.action(re.compile(r"^answer_(accepted|tentative|declined)$"))(record_member_answer)
    app.action(blocks.EDIT_ACTION)(open_edit)
    app.action(blocks.CANCEL_ACTION)(open_cancel)
    app.action(blocks.MORE_ACTION)(show_more_on_home)
    app.action({"block_id": re.compile(r"^(members|start|end)$")})(show_availability)
    app.action(blocks.FIND_TIME_ACTION)(find_a_time)
    app.action(re.compile(rf"^{blocks.PICK_SLOT_ACTION}_\d+$"))(pick_slot)
    app.action(blocks.COUNTER_ACCEPT_ACTION)(decide_counter)
    app.action(blocks.COUNTER_DECLINE_ACTION)(decide_counter)
    app.event("app_home_opened")(publish_home)
    app.action(blocks.CONNECT_FEED_ACTION)(open_feed_form)
    app.action(blocks.DISCONNECT_FEED_ACTION)(disconnect_feed)
    app.view(blocks.FEED_CALLBACK)(connect_feed)
    app.action(blocks.SETTINGS_ACTION)(open_settings)
    app.view(blocks.SETTINGS_CALLBACK)(save_settings)
    app.view(blocks.MAILBOX_CALLBACK)(answer_mailbox_question)
    app.event("app_uninstalled")(forget_uninstalled_workspace)
    app.event("tokens_revoked")(forget_revoked_tokens)
