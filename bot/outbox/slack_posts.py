"""Posting to Slack for the outbox: DMs at Slack's pace, redraws, and adoption after a crash."""

from __future__ import annotations

import asyncio
import collections
import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.kit import Message, View
from bot.meetings.model import Invitee
from bot.outbox.queue import PermanentFailure
from bot.slack_clients import SlackClients

logger = logging.getLogger(__name__)

# What Slack says of a view that is no longer there to redraw, or was redrawn by someone else.
VIEW_GONE = frozenset({"not_found", "view_not_found", "hash_conflict", "expired_trigger_id"})

# Slack message metadata naming the outbox entry a post came from; DM history is searched
# for it (im:history) only when a process died while posting.
POST_EVENT_TYPE = "meetbot_delivery"
POSTS_LOOKED_AT = 50
# Slack allows about one message a second in one conversation, with short bursts.
CHANNEL_BURST = 5
CHANNEL_WINDOW_SECONDS = 5.0


@dataclass(frozen=True)
class PostTag:
    """Marks a Slack message with what it shows, so a retry after a crash finds it.

    The key is the redraw key of a message kept up to date (a member's invitation, the
    organizer's summary), so any later redraw finds the post; else the entry's own id.
    """

    key: str
    maybe_posted: bool = False

    @property
    def metadata(self) -> dict[str, Any]:
        """Return the message metadata Slack keeps with the post (not shown to anyone)."""
        return {"event_type": POST_EVENT_TYPE, "event_payload": {"delivery": self.key}}


async def posted_before(client: AsyncWebClient, channel: str, tag: PostTag) -> str | None:
    """Return the ts of the message an entry posted in a DM before, if Slack shows one."""
    try:
        history = await client.conversations_history(
            channel=channel, limit=POSTS_LOOKED_AT, include_all_metadata=True
        )
    except SlackApiError as error:
        # Without im:history (an install from before it was asked for) there is no telling;
        # posting again risks a second copy, not posting risks none at all.
        logger.warning(
            "could not look for an earlier post in %s: %s", channel, error.response.get("error")
        )
        return None
    for message in history.get("messages") or []:
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        if metadata.get("event_type") == POST_EVENT_TYPE and payload.get("delivery") == tag.key:
            return str(message["ts"])
    return None


class SlackPosts:
    """Post and redraw the outbox's Slack messages, never twice, never faster than Slack allows."""

    def __init__(self, clients: SlackClients) -> None:
        self._clients = clients
        self._recent_posts: dict[str, collections.deque[float]] = {}

    async def _dm_channel(self, team_id: str, user_id: str) -> str:
        client = await self._clients.for_team(team_id)
        response = await client.conversations_open(users=user_id)
        return str(response["channel"]["id"])

    async def _pace(self, channel: str) -> None:
        """Keep to Slack's pace per conversation: a short burst, then one a second."""
        loop = asyncio.get_running_loop()
        recent = self._recent_posts.setdefault(channel, collections.deque(maxlen=CHANNEL_BURST))
        if len(recent) == CHANNEL_BURST:
            wait = recent[0] + CHANNEL_WINDOW_SECONDS - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
        recent.append(loop.time())

    async def dm(self, team_id: str, user_id: str, message: Message, tag: PostTag) -> None:
        """Post a new DM, unless a process that died had posted it already."""
        text, message_blocks = message
        channel = await self._dm_channel(team_id, user_id)
        client = await self._clients.for_team(team_id)
        if tag.maybe_posted and await posted_before(client, channel, tag) is not None:
            return  # the process that died had posted it already
        await self._pace(channel)
        await client.chat_postMessage(
            channel=channel, text=text, blocks=message_blocks, metadata=tag.metadata
        )

    async def post_or_update(
        self,
        team_id: str,
        user_id: str,
        where: tuple[str, str] | None,
        message: Message,
        tag: PostTag,
    ) -> tuple[str, str] | None:
        """Redraw a DM we sent before (at `where`), or send it; return where a new one went."""
        text, message_blocks = message
        client = await self._clients.for_team(team_id)
        if where is not None:
            channel, ts = where
            await self._pace(channel)
            await client.chat_update(channel=channel, ts=ts, text=text, blocks=message_blocks)
            return None
        channel = await self._dm_channel(team_id, user_id)
        earlier = await posted_before(client, channel, tag) if tag.maybe_posted else None
        await self._pace(channel)
        if earlier is not None:
            # Posted by the process that died before it could note where: adopt that post.
            await client.chat_update(channel=channel, ts=earlier, text=text, blocks=message_blocks)
            return channel, earlier
        posted = await client.chat_postMessage(
            channel=channel, text=text, blocks=message_blocks, metadata=tag.metadata
        )
        return str(posted["channel"]), str(posted["ts"])

    async def publish_home(self, team_id: str, user_id: str, view: View) -> None:
        """Publish a person's Home tab."""
        client = await self._clients.for_team(team_id)
        await client.views_publish(user_id=user_id, view=view)

    async def update_view(
        self, team_id: str, view_id: str, view_hash: str, view: View
    ) -> str | None:
        """Redraw an open modal unless it changed since (its hash); return its new hash.

        A view closed, expired or drawn over since is Slack's "not_found" or
        "hash_conflict": nothing to redraw, and nobody to tell.
        """
        client = await self._clients.for_team(team_id)
        try:
            response = await client.views_update(view_id=view_id, hash=view_hash, view=view)
        except SlackApiError as error:
            if error.response.get("error") not in VIEW_GONE:
                raise
            return None
        return str(response["view"]["hash"])


def slack_user_of(invitee: Invitee) -> str:
    """Return the member a Slack message goes to; a guest can never get one."""
    if invitee.slack_user_id is None:
        raise PermanentFailure("a Slack message to someone who is not a member")
    return invitee.slack_user_id
