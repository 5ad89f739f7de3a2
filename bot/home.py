"""The App Home tab's content for one person: their meetings and their connected calendar."""

from __future__ import annotations

from bot import blocks
from bot.feeds import CalendarFeeds
from bot.meetings import Meetings
from storage.models import utc_now


class HomeTab:
    """Gather what a person's Home tab shows and draw it."""

    def __init__(self, meetings: Meetings, feeds: CalendarFeeds) -> None:
        self._meetings = meetings
        self._feeds = feeds

    async def view(
        self, team_id: str, user_id: str, page_size: int = blocks.HOME_PAGE_SIZE
    ) -> blocks.View:
        """Return the person's Home tab as it should look now."""
        agenda = await self._meetings.agenda(team_id, user_id, utc_now())
        feed = await self._feeds.status(team_id, user_id)
        return blocks.home_view(agenda, page_size, feed)
