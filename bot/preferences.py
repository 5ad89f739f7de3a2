"""Each member's own settings: meeting defaults, working hours, guests' language, mailbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.drafts import DEFAULT_REMINDER, REMINDER_CHOICES
from bot.i18n import N_
from storage.models import PersonSettings

GUEST_LANGUAGES = ("en", "pl")
WEEKDAYS = range(7)  # 0 = Monday, as datetime.weekday() counts


class SettingsRefused(ValueError):
    """A setting a person chose cannot be kept; the message (English, to be translated where
    it is shown) says why, for the form."""

    def __init__(self, block_id: str, message: str) -> None:
        super().__init__(message)
        self.block_id = block_id
        self.message = message


@dataclass(frozen=True)
class WorkingHours:
    """When a member works, in their own time zone."""

    start: time = time(9, 0)
    end: time = time(18, 0)
    days: frozenset[int] = frozenset(range(5))  # Monday to Friday

    def covers(self, start: datetime, end: datetime, zone: ZoneInfo) -> bool:
        """Tell whether a span lies inside one working day in a zone."""
        local_start, local_end = start.astimezone(zone), end.astimezone(zone)
        if local_start.weekday() not in self.days or local_start.date() != local_end.date():
            return False
        return local_start.time() >= self.start and local_end.time() <= self.end


@dataclass(frozen=True)
class PersonalSettings:
    """What one member chose, or the defaults while they chose nothing."""

    reminder_minutes: int | None = DEFAULT_REMINDER
    notify_on_decision: bool = False
    working_hours: WorkingHours = field(default_factory=WorkingHours)
    # Language of the person's guests' e-mails and pages; None: the person's Slack language.
    guest_language: str | None = None
    # The sending mailbox the person confirmed; None until they saw the question once.
    mailbox: str | None = None


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
