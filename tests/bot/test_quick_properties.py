"""Whatever is typed after /meet, reading it gives a usable draft."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.quick.reader import read_quick_text

# Words the reader reacts to, so that random text often looks like a real command.
PIECES = [
    "tomorrow", "jutro", "pojutrze", "Friday", "piątek", "w", "we", "on", "next", "Dec", "3",
    "grudnia", "3.12", "12/3", "2026-10-25", "2026-03-29", "2025-13-45", "9999-12-31",
    "at", "o", "3pm", "9:30", "02:30", "2:30", "11pm", "00:00", "23:59", "noon", "15",
    "12:00-13:00", "3-4pm", "from", "od", "to", "do", "until", "between", "and", "-16:30",
    "for", "przez",
    "45m", "1h30", "1.5", "hours", "godzinę", "half", "an", "hour", "in", "Room", "4", "sali",
    "Cafe", "the", "office", "<@U1|ana>", "<@W2>", "<mailto:a@b.example|a@b.example>",
    "bob@x.example", "<", ">", "|", "&amp;", "&lt;", "@", "-", ",", "🎉",
]  # fmt: skip
texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), max_size=16).map(" ".join),
)
zones = st.sampled_from(
    ["Europe/Warsaw", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]
).map(ZoneInfo)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis attaches the zone
    max_value=datetime(2090, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


# No deadline: the first example pays for dateparser loading its language data.
@settings(max_examples=300, deadline=None)
@given(text=texts, now=moments, zone=zones)
def test_any_text_gives_a_draft_with_a_short_title_and_an_end_after_the_start(
    text: str, now: datetime, zone: ZoneInfo
) -> None:
    draft = read_quick_text(text, now=now, zone=zone)

    assert len(draft.title) <= len(text)
    assert draft.title == " ".join(draft.title.split())
    assert (draft.start is None) == (draft.end is None)
    if draft.start is not None and draft.end is not None:
        assert draft.start.tzinfo is zone and draft.end.tzinfo is zone
        assert draft.end > draft.start
        assert draft.end.timestamp() > draft.start.timestamp()
    for member_id in draft.member_ids:
        assert f"<@{member_id}" in text
