"""Thin adapters from Slack payloads and HTTP requests to Meetbot's services."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from bot.blocks import CREATE_CALLBACK
from bot.services import Services
from handlers.actions import record_member_answer
from handlers.commands import open_meet
from handlers.context import SERVICES
from handlers.views import submit_meeting


def register(app: AsyncApp, services: Services) -> None:
    """Wire every Slack listener, and hand each request the services."""

    async def provide_services(
        context: AsyncBoltContext, next: Callable[[], Awaitable[None]]
    ) -> None:
        context[SERVICES] = services
        await next()

    app.middleware(provide_services)
    app.command("/meet")(open_meet)
    app.view(CREATE_CALLBACK)(submit_meeting)
    app.action(re.compile(r"^answer_(accepted|tentative|declined)$"))(record_member_answer)
