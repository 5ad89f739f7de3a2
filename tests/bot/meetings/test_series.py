"""Repeating meetings stored and pictured, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.meetings.model import ChangedField
from bot.meetings.recurrence import normalize_rule, occurrences, zone_named
from storage.models import Event
from tests.bot.meetings.services import END, OLGA, START, MeetingServices, draft, edit_of
from tests.conftest import ANA, TEAM_ID

WEEKLY_FOUR_TIMES = normalize_rule("FREQ=WEEKLY;COUNT=4", START, zone_named(OLGA.timezone))


async def test_a_series_is_stored_with_its_rule_and_its_last_end(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft(rrule=WEEKLY_FOUR_TIMES))

    async with services.sessions() as session:
        event = await session.scalar(select(Event).where(Event.id == meeting.id))
    assert event is not None and event.rrule == WEEKLY_FOUR_TIMES
    # The fourth week's meeting, at the same time on the organizer's clock.
    fourth = occurrences(WEEKLY_FOUR_TIMES, START, zone_named(OLGA.timezone))[-1]
    assert event.series_end_at == fourth + (END - START)
    assert meeting.series is not None and meeting.series.rule == WEEKLY_FOUR_TIMES
    again = await services.meetings.get(TEAM_ID, meeting.id)
    assert again.series == meeting.series


async def test_a_series_stays_on_the_agenda_after_its_first_meeting(
    services: MeetingServices,
) -> None:
    single = await services.meetings.create(TEAM_ID, OLGA, draft(title="Once"))
    series = await services.meetings.create(
        TEAM_ID, OLGA, draft(title="Weekly", rrule=WEEKLY_FOUR_TIMES)
    )

    agenda = await services.meetings.agenda(TEAM_ID, ANA, START + timedelta(days=8))

    assert [m.id for m, _ in agenda.invited] == [series.id]
    assert single.id not in [m.id for m in agenda.organizing]


async def test_an_edit_that_changes_how_it_repeats_is_sent_to_everyone_as_a_new_sequence(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft(rrule=WEEKLY_FOUR_TIMES))

    revision = await services.meetings.update(
        TEAM_ID, OLGA.user_id, meeting.id, meeting.version, edit_of(meeting, rrule=None)
    )

    assert [c.field for c in revision.changes] == [ChangedField.REPEATS]
    assert revision.meeting.series is None
    assert revision.meeting.sequence == meeting.sequence + 1
