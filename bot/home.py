"""The App Home tab's content for one person: their meetings, calendar and settings."""

from __future__ import annotations

from bot.blocks.home import HOME_PAGE_SIZE, home_view
from bot.blocks.kit import View
from bot.blocks.settings import settings_section
from bot.clock import utc_now
from bot.feeds import CalendarFeeds
from bot.mailboxes import Mailboxes
from bot.meetings.service import Meetings
from bot.people import People
from bot.preferences import Preferences


class HomeTab:
    """Gather what a person's Home tab shows and draw it."""

    def __init__(
        self,
        meetings: Meetings,
        feeds: CalendarFeeds,
        preferences: Preferences,
        mailboxes: Mailboxes,
        people: People,
    ) -> None:
        self._meetings = meetings
        self._feeds = feeds
        self._preferences = preferences
        self._mailboxes = mailboxes
        self._people = people

    async def view(self, team_id: str, user_id: str, page_size: int = HOME_PAGE_SIZE) -> View:
        """Return the person's Home tab as it should look now, in their language."""
        agenda = await self._meetings.agenda(team_id, user_id, utc_now())
        feed = await self._feeds.status(team_id, user_id)
        settings = await self._preferences.get(team_id, user_id)
        person = await self._people.get(team_id, user_id)
        section = settings_section(settings, self._mailboxes, person.name, language=person.language)
        return home_view(agenda, page_size, feed, section, language=person.language)
