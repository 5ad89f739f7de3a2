"""The pages a person sees at the end of installing Meetbot into their workspace."""

from __future__ import annotations

import logging

from jinja2 import Environment, PackageLoader, select_autoescape
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.response import BoltResponse

logger = logging.getLogger(__name__)

_pages = Environment(
    loader=PackageLoader("handlers", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
# Why an install failed, in words for the person who tried; Slack's codes otherwise.
_REASONS = {
    "access_denied": "You cancelled the installation on Slack's page.",
    "invalid_browser": "This browser did not start the installation, or took too long.",
    "invalid_state": "The installation link was used already or has expired.",
    "missing_code": "Slack did not hand over the installation.",
    "invalid_code": "Slack did not accept the installation; it may have been used already.",
    "storage_error": "Meetbot could not save the installation.",
}


def _html(name: str, status: int, **context: object) -> BoltResponse:
    body = _pages.get_template(name).render(**context)
    return BoltResponse(
        status=status, body=body, headers={"Content-Type": "text/html; charset=utf-8"}
    )


async def show_installed(args: AsyncSuccessArgs) -> BoltResponse:
    """Tell the person Meetbot is now in their workspace, with a link back to Slack."""
    installation = args.installation
    team = installation.team_name or installation.team_id or "your workspace"
    return _html(
        "installed.html",
        200,
        team=team,
        slack_url=f"slack://app?team={installation.team_id}&id={installation.app_id}",
    )


async def show_install_failed(args: AsyncFailureArgs) -> BoltResponse:
    """Say why the installation did not finish, and how to try again."""
    if args.error is not None:
        logger.error("installation failed: %s", args.reason, exc_info=args.error)
    else:
        logger.warning("installation failed: %s", args.reason)
    reason = _REASONS.get(args.reason, f"Slack answered {args.reason}.")
    return _html(
        "install_failed.html",
        args.suggested_status_code,
        reason=reason,
        install_path=args.settings.install_path,
    )


INSTALL_PAGES = AsyncCallbackOptions(success=show_installed, failure=show_install_failed)
