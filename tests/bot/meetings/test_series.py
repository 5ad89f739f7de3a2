"""Repeating meetings stored and pictured, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import utc_now
from bot.deliveries import MemberReminder
from bot.drafts import MeetingDraft, MeetingForm, check_form
from bot.meetings.errors import EventChanged
from bot.meetings.model import ChangedField, OccurrenceEdit, SeriesSplit
from bot.meetings.occurrences import series_occurrences
from bot.meetings.recurrence import normalize_rule, occurrences, zone_named
from bot.meetings.repeat_choice import Repeat, RepeatChoice
from bot.meetings.series import SeriesChanges
from storage.models import Event
from tests.bot.meetings.services import (
    AGENDA_BYTES,
    AGENDA_PDF,
    END,
    OLGA,
    START,
    MeetingServices,
    build_services,
    draft,
    edit_of,
    member_in,
    owed,
)
from tests.conftest import ANA, BEN, TEAM_ID

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


async def test_each_occurrence_is_reminded_once_and_a_cancelled_one_not_at_all(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(
        TEAM_ID, OLGA, draft(rrule=WEEKLY_FOUR_TIMES, reminder_minutes=60)
    )
    starts = [o.start for o in series_occurrences(meeting)]
    series = SeriesChanges(services.sessions, services.meetings, services.files)
    await series.cancel_occurrence(TEAM_ID, OLGA.user_id, meeting.id, starts[1], "")
    await services.outbox.new()

    reminded = []
    for start in starts:
        assert await services.meetings.queue_due_reminders(start - timedelta(minutes=61)) == 0
        reminded.append(await services.meetings.queue_due_reminders(start - timedelta(minutes=59)))
        assert await services.meetings.queue_due_reminders(start - timedelta(minutes=58)) == 0

    assert reminded == [1, 0, 1, 1]
    ana, ben = member_in(meeting, ANA), member_in(meeting, BEN)
    assert await services.outbox.new() == owed(
        *(
            MemberReminder(meeting.id, member.id, occurrence=starts[n].isoformat())
            for n in (0, 2, 3)
            for member in (ana, ben)
        )
    )


async def test_a_series_counts_its_guests_once_against_the_monthly_cap(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    capped = build_services(sessions, guest_cap=2)
    daily = normalize_rule("FREQ=DAILY;COUNT=30", START, zone_named(OLGA.timezone))

    await capped.meetings.create(TEAM_ID, OLGA, draft(rrule=daily))

    # Carol and Dan, invited to thirty meetings of one series: two invitations.
    assert await capped.meetings.guest_invites_left(TEAM_ID) == 0


async def test_moving_the_whole_series_keeps_a_cancelled_meeting_cancelled(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft(rrule=WEEKLY_FOUR_TIMES))
    second = series_occurrences(meeting)[1].recurrence_id
    series = SeriesChanges(services.sessions, services.meetings, services.files)
    meeting = await series.cancel_occurrence(TEAM_ID, OLGA.user_id, meeting.id, second, "")

    hour = timedelta(hours=1)
    revision = await services.meetings.update(
        TEAM_ID,
        OLGA.user_id,
        meeting.id,
        meeting.version,
        edit_of(meeting, start=START + hour, end=END + hour),
    )

    assert revision.meeting.series is not None
    assert revision.meeting.series.cancelled_starts == (second + hour,)
    assert [o.start for o in series_occurrences(revision.meeting)] == [
        s + hour
        for n, s in enumerate(occurrences(WEEKLY_FOUR_TIMES, START, zone_named(OLGA.timezone)))
        if n != 1
    ]


def test_a_series_under_way_can_be_edited_though_its_first_meeting_has_passed() -> None:
    past = (utc_now() - timedelta(days=8)).replace(second=0, microsecond=0)
    form = MeetingForm(
        title="Standup",
        start=past,
        end=past + timedelta(minutes=15),
        repeat=RepeatChoice(Repeat.WEEKLY, count=10),
    )

    editing = check_form(form, organizer_id="U0OLGA", now=utc_now(), editing=True)
    creating = check_form(form, organizer_id="U0OLGA", now=utc_now())

    assert isinstance(editing, MeetingDraft) and editing.rrule is not None
    assert not isinstance(creating, MeetingDraft) and "start" in creating.by_block


async def test_changing_the_rest_of_a_series_starts_a_new_one_with_its_files_and_guests(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Carol and Dan fill the month's cap: going on as a new series does not invite them anew.
    capped = build_services(sessions, guest_cap=2)
    meeting = await capped.meetings.create(
        TEAM_ID, OLGA, draft(rrule=WEEKLY_FOUR_TIMES, new_files=(AGENDA_PDF,))
    )
    third = series_occurrences(meeting)[2].recurrence_id
    series = SeriesChanges(capped.sessions, capped.meetings, capped.files)
    rest = replace(
        edit_of(meeting, title="Review, new room", location="Room 9"),
        start=third,
        end=third + (END - START),
        rrule=normalize_rule("FREQ=WEEKLY;COUNT=2", third, zone_named(OLGA.timezone)),
    )

    split = await series.edit_following(
        TEAM_ID, OLGA.user_id, meeting.id, meeting.version, third, rest
    )

    assert isinstance(split, SeriesSplit)
    ended, started = split.ended, split.started
    assert [o.start for o in series_occurrences(ended)] == [
        o.start for o in series_occurrences(meeting)[:2]
    ]
    assert ended.sequence == meeting.sequence + 1
    assert [o.start for o in series_occurrences(started)] == [third, third + timedelta(weeks=1)]
    assert (started.title, started.location, started.sequence) == ("Review, new room", "Room 9", 0)
    assert started.uid != ended.uid
    assert [g.email for g in started.guests] == [g.email for g in meeting.guests]
    [copied] = started.files
    assert copied.name == "agenda.pdf" and copied.public_key != meeting.files[0].public_key
    _, content = await capped.files.content(started, copied.public_key)
    assert content == AGENDA_BYTES
    # A stale form is refused, as any edit's is.
    with pytest.raises(EventChanged):
        await series.edit_following(TEAM_ID, OLGA.user_id, meeting.id, meeting.version, third, rest)


async def test_a_series_going_on_an_hour_later_keeps_only_what_still_differs_from_it(
    services: MeetingServices,
) -> None:
    six_times = normalize_rule("FREQ=WEEKLY;COUNT=6", START, zone_named(OLGA.timezone))
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft(rrule=six_times))
    starts = [o.start for o in series_occurrences(meeting)]
    hour, length = timedelta(hours=1), END - START
    series = SeriesChanges(services.sessions, services.meetings, services.files)

    async def change(n: int, title: str, location: str, shift: timedelta) -> None:
        edit = OccurrenceEdit(starts[n] + shift, starts[n] + shift + length, title, location)
        await series.change_occurrence(TEAM_ID, OLGA.user_id, meeting.id, starts[n], edit)

    # The fourth renamed only, the fifth moved an hour on, the sixth held in room 9.
    await change(3, "Retro", meeting.location, timedelta(0))
    await change(4, meeting.title, meeting.location, hour)
    await change(5, meeting.title, "Room 9", timedelta(0))
    meeting = await services.meetings.get(TEAM_ID, meeting.id)
    rest = replace(
        edit_of(meeting, location="Room 9"),
        start=starts[2] + hour,
        end=starts[2] + hour + length,
        rrule=normalize_rule("FREQ=WEEKLY;COUNT=4", starts[2] + hour, zone_named(OLGA.timezone)),
    )

    split = await series.edit_following(
        TEAM_ID, OLGA.user_id, meeting.id, meeting.version, starts[2], rest
    )

    assert isinstance(split, SeriesSplit) and split.started.series is not None
    # Renamed only, the fourth follows the new time; the fifth's move and the sixth's place
    # are now the series' own, so nothing is left of them.
    [kept] = split.started.series.changes
    assert (kept.recurrence_id, kept.start, kept.title) == (
        starts[3] + hour,
        starts[3] + hour,
        "Retro",
    )
    assert [(o.start, o.moved) for o in series_occurrences(split.started)] == [
        (s + hour, False) for s in starts[2:]
    ]
