"""How handlers reach the services: Bolt's context and the web app carry them."""

from __future__ import annotations

from slack_bolt.context.async_context import AsyncBoltContext

from bot.i18n import Language
from bot.services import Services

SERVICES = "services"


def services_of(context: AsyncBoltContext) -> Services:
    """Return the services a middleware put into this request's context."""
    services = context[SERVICES]
    assert isinstance(services, Services)
    return services


async def language_of_user(context: AsyncBoltContext, user_id: str) -> Language:
    """Return the language of the person's Slack locale, which everything shown to them uses."""
    assert context.team_id is not None
    return (await services_of(context).people.get(context.team_id, user_id)).language
