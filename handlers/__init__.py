"""Thin adapters from Slack payloads and HTTP requests to Meetbot's services."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.services import Services
from handlers import actions, commands, form, home, ledger, series, views, workspaces
from handlers.context import SERVICES
from handlers.replies import report_unexpected


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
    for area in (commands, views, actions, form, home, ledger, series, workspaces):
        area.register(app)
    app.error(report_unexpected)
