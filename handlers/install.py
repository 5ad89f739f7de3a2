"""The pages a person sees at the end of installing Meetbot into their workspace."""

from __future__ import annotations

import logging

from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.i18n import N_, Language, language_for_accept_language, templates, translator

logger = logging.getLogger(__name__)

# Why an install failed, in words for the person who tried; Slack's codes otherwise.
_REASONS = {
    "access_denied": N_("You cancelled the installation on Slack's page."),
    "invalid_browser": N_("This browser did not start the installation, or took too long."),
    "invalid_state": N_("The installation link was used already or has expired."),
    "missing_code": N_("Slack did not hand over the installation."),
    "invalid_code": N_("Slack did not accept the installation; it may have been used already."),
    "storage_error": N_("Meetbot could not save the installation."),
}


def _language(request: AsyncBoltRequest) -> Language:
    # The person installing is in their browser, not yet in Meetbot: its languages decide.
    asked = request.headers.get("accept-language") or []
    return language_for_accept_language(asked[0] if asked else None)


def _html(name: str, status: int, language: Language, **context: object) -> BoltResponse:
    body = templates("handlers", language).get_template(name).render(lang=language.value, **context)
    return BoltResponse(
        status=status, body=body, headers={"Content-Type": "text/html; charset=utf-8"}
    )


async def show_installed(args: AsyncSuccessArgs) -> BoltResponse:
    """Tell the person Meetbot is now in their workspace, with a link back to Slack."""
    installation = args.installation
    language = _language(args.request)
    team = (
        installation.team_name
        or installation.team_id
        or translator(language).gettext("your workspace")
    )
    return _html(
        "installed.html",
        200,
        language,
        team=team,
        slack_url=f"slack://app?team={installation.team_id}&id={installation.app_id}",
    )


async def show_install_failed(args: AsyncFailureArgs) -> BoltResponse:
    """Say why the installation did not finish, and how to try again."""
    if args.error is not None:
        logger.error("installation failed: %s", args.reason, exc_info=args.error)
    else:
        logger.warning("installation failed: %s", args.reason)
    language = _language(args.request)
    t = translator(language)
    if args.reason in _REASONS:
        reason = t.gettext(_REASONS[args.reason])
    else:
        reason = t.gettext("Slack answered {code}.").format(code=args.reason)
    return _html(
        "install_failed.html",
        args.suggested_status_code,
        language,
        reason=reason,
        install_path=args.settings.install_path,
    )


INSTALL_PAGES = AsyncCallbackOptions(success=show_installed, failure=show_install_failed)
