"""Checking the create form before anything is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.drafts import FormErrors, MeetingDraft, MeetingForm, check_form, default_times

NOW = datetime(2026, 11, 26, 10, 7, tzinfo=UTC)


def form(**changes: object) -> MeetingForm:
    """Return a valid form with some fields changed."""
    values: dict[str, object] = {
        "title": "Design review",
        "start": NOW + timedelta(days=1),
        "end": NOW + timedelta(days=1, hours=1),
    }
    values.update(changes)
    return MeetingForm(**values)  # type: ignore[arg-type]


def test_a_valid_form_becomes_a_draft_without_the_organizer_among_members() -> None:
    draft = check_form(form(member_ids=("U1", "U2", "U1", "U0")), organizer_id="U0", now=NOW)

    assert isinstance(draft, MeetingDraft)
    assert draft.member_ids == ("U1", "U2")


def test_a_start_a_minute_ago_is_a_slow_hand_not_an_error() -> None:
    start = NOW - timedelta(minutes=1)
    draft = check_form(
        form(start=start, end=start + timedelta(hours=1)), organizer_id="U0", now=NOW
    )

    assert isinstance(draft, MeetingDraft)


def test_end_equal_to_start_is_refused_on_the_end_field() -> None:
    errors = check_form(form(end=NOW + timedelta(days=1)), organizer_id="U0", now=NOW)

    assert isinstance(errors, FormErrors)
    assert list(errors.by_block) == ["end"]


def test_default_times_are_the_next_half_hour_in_the_persons_zone() -> None:
    kathmandu = ZoneInfo("Asia/Kathmandu")  # UTC+5:45: half hours there are not half hours in UTC

    start, end = default_times(NOW, kathmandu)

    assert start.astimezone(kathmandu).minute in (0, 30)
    assert timedelta(0) < start - NOW <= timedelta(minutes=30)
    assert end - start == timedelta(minutes=30)


def test_a_meeting_longer_than_a_day_is_refused_on_the_end_field() -> None:
    errors = check_form(form(end=NOW + timedelta(days=2, minutes=1)), organizer_id="U0", now=NOW)

    assert isinstance(errors, FormErrors)
    assert errors.by_block == {"end": "A meeting can last at most 24 hours."}
