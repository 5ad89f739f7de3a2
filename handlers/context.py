"""How handlers reach the services: Bolt's context and the web app carry them."""

from __future__ import annotations

from slack_bolt.context.async_context import AsyncBoltContext

from bot.services import Services

SERVICES = "services"


def services_of(context: AsyncBoltContext) -> Services:
    """Return the services a middleware put into this request's context."""
    services = context[SERVICES]
    assert isinstance(services, Services)
    return services
