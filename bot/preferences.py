"""Each member's own settings: meeting defaults, working hours, guests' language, mailbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import time

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.drafts import REMINDER_CHOICES
from bot.i18n import N_, Language, translator
from bot.personal import GUEST_LANGUAGES, PersonalSettings, WorkingHours
from storage.models import PersonSettings

WEEKDAYS = range(7)  # 0 = Monday, as datetime.weekday() counts


class SettingsRefused(ValueError):
    """A setting a person chose cannot be kept; the message (English, to be translated where
    it is shown) says why, for the form."""

    def __init__(self, block_id: str, message: str) -> None:
        super().__init__(message)
        self.block_id = block_id
        self.message = message

    def translated(self, language: Language) -> str:
        """Return why, in the reader's language."""
        return translator(language).gettext(self.message)


def _minute(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _time(minute: int) -> time:
    return time(minute // 60, minute % 60)


def _from_row(row: PersonSettings) -> PersonalSettings:
    return PersonalSettings(
        reminder_minutes=row.reminder_minutes,
        notify_on_decision=row.notify_on_decision,
        working_hours=WorkingHours(
            start=_time(row.work_start_minute),
            end=_time(row.work_end_minute),
            days=frozenset(int(day) for day in row.work_days if day.isdigit()),
        ),
        guest_language=row.guest_language,
        mailbox=row.mailbox,
        video_default=row.video_default,
    )


def check_settings(settings: PersonalSettings) -> PersonalSettings:
    """Return the settings if they can be kept, else raise SettingsRefused naming the field."""
    if settings.reminder_minutes not in REMINDER_CHOICES:
        raise SettingsRefused("reminder", N_("Choose one of the offered reminders."))
    hours = settings.working_hours
    if hours.start >= hours.end:
        raise SettingsRefused("work_end", N_("The working day has to end after it starts."))
    if not hours.days or not hours.days <= set(WEEKDAYS):
        raise SettingsRefused("work_days", N_("Pick at least one working day."))
    if settings.guest_language not in (None, *GUEST_LANGUAGES):
        raise SettingsRefused("guest_language", N_("Choose English or Polish."))
    return settings


class Preferences:
    """Read and keep members' settings; the one place that changes them."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def get(self, team_id: str, user_id: str) -> PersonalSettings:
        """Return one member's settings (the defaults if they never changed any)."""
        return (await self.of_members(team_id, [user_id]))[user_id]

    async def of_members(
        self, team_id: str, user_ids: Sequence[str]
    ) -> dict[str, PersonalSettings]:
        """Return several members' settings in one read."""
        found = {user_id: PersonalSettings() for user_id in user_ids}
        if not user_ids:
            return found
        async with self._sessions() as session:
            rows = await session.scalars(
                select(PersonSettings).where(
                    PersonSettings.team_id == team_id, PersonSettings.user_id.in_(user_ids)
                )
            )
            for row in rows:
                found[row.user_id] = _from_row(row)
        return found

    async def save(self, team_id: str, user_id: str, settings: PersonalSettings) -> None:
        """Keep a member's settings, or raise SettingsRefused without changing anything."""
        check_settings(settings)
        await self._write(team_id, user_id, settings)

    async def confirm_mailbox(self, team_id: str, user_id: str, address: str) -> None:
        """Remember the sending mailbox a member chose, keeping their other settings."""
        current = await self.get(team_id, user_id)
        await self._write(team_id, user_id, replace(current, mailbox=address.lower()))

    async def _write(self, team_id: str, user_id: str, settings: PersonalSettings) -> None:
        hours = settings.working_hours
        values = {
            "reminder_minutes": settings.reminder_minutes,
            "notify_on_decision": settings.notify_on_decision,
            "work_start_minute": _minute(hours.start),
            "work_end_minute": _minute(hours.end),
            "work_days": "".join(str(day) for day in sorted(hours.days)),
            "guest_language": settings.guest_language,
            "mailbox": settings.mailbox,
            "video_default": settings.video_default,
        }
        for attempt in range(2):
            try:
                async with self._sessions.begin() as session:
                    row = await session.scalar(
                        select(PersonSettings).where(
                            PersonSettings.team_id == team_id, PersonSettings.user_id == user_id
                        )
                    )
                    if row is None:
                        session.add(PersonSettings(team_id=team_id, user_id=user_id, **values))
                    else:
                        for name, value in values.items():
                            setattr(row, name, value)
                return
            except IntegrityError:
                # Two first saves raced; the other created the row, so update it now.
                if attempt:
                    raise
