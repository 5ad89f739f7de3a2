"""What the organizer types after /meet, read into a pre-filled form."""

from __future__ import annotations

import time as clock
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.quick.reader import QuickDraft, read_quick_text

WARSAW = ZoneInfo("Europe/Warsaw")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
# Wednesday 21 October 2026, 11:00 in Warsaw (summer time, +02:00).
NOW = datetime(2026, 10, 21, 11, 0, tzinfo=WARSAW)


def read(text: str, *, now: datetime = NOW, zone: ZoneInfo = WARSAW) -> QuickDraft:
    """Read text as typed by an organizer in Warsaw on Wednesday morning."""
    return read_quick_text(text, now=now, zone=zone)


def at(day: int, hour: int, minute: int = 0, *, month: int = 10, year: int = 2026) -> datetime:
    """Return a Warsaw wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=WARSAW)


# ---------------------------------------------------------------- the examples in the brief


def test_the_whole_sentence_fills_title_time_length_member_and_guest() -> None:
    draft = read("Design review tomorrow 3pm for 45m with <@U123|ana> bob@client.com")

    assert draft == QuickDraft(
        title="Design review",
        start=at(22, 15),
        end=at(22, 15, 45),
        location="",
        member_ids=("U123",),
        guests_text="bob@client.com",
    )


def test_a_polish_sentence_fills_title_start_and_half_hour() -> None:
    draft = read("Przegląd projektu jutro o 9:30 przez 30 minut")

    assert (draft.title, draft.start, draft.end) == ("Przegląd projektu", at(22, 9, 30), at(22, 10))


# ---------------------------------------------------------------- when


@pytest.mark.parametrize(
    ("phrase", "start"),
    [
        ("tomorrow 3pm", at(22, 15)),
        ("tomorrow at 3 pm", at(22, 15)),
        ("tomorrow at 3 p.m.", at(22, 15)),
        ("next Monday at 10", at(26, 10)),
        ("on Friday at 15:00", at(23, 15)),
        ("Friday 9:30am", at(23, 9, 30)),
        ("Dec 3 at 9:30", at(3, 9, 30, month=12)),
        ("December 3rd at 9:30", at(3, 9, 30, month=12)),
        ("the 3rd of December at 9:30", at(3, 9, 30, month=12)),
        ("Friday Dec 4 at 10", at(4, 10, month=12)),
        ("12/3 9am", at(3, 9, month=12)),
        ("2026-11-02 14:00", at(2, 14, month=11)),
        ("the day after tomorrow at noon", at(23, 12)),
        ("today 5pm", at(21, 17)),
        ("thurs 10am", at(22, 10)),
        ("tmrw 10am", at(22, 10)),
    ],
)
def test_english_dates_and_times_set_the_start(phrase: str, start: datetime) -> None:
    draft = read(f"Sync {phrase}")

    assert (draft.title, draft.start) == ("Sync", start)


@pytest.mark.parametrize(
    ("phrase", "start"),
    [
        ("jutro o 9:30", at(22, 9, 30)),
        ("w piątek o 15", at(23, 15)),
        ("w piatek o 15", at(23, 15)),
        ("w poniedziałek o 10:00", at(26, 10)),
        ("we wtorek o 14:30", at(27, 14, 30)),
        ("w przyszły poniedziałek o 9", at(26, 9)),
        ("pojutrze o 12", at(23, 12)),
        ("dziś o 17", at(21, 17)),
        ("jutro o godz. 8", at(22, 8)),
        ("jutro w południe", at(22, 12)),
        ("3 grudnia o 10", at(3, 10, month=12)),
        ("3.12 o 15", at(3, 15, month=12)),
        ("3.12.2026 o 15", at(3, 15, month=12)),
        ("jutro 9.30", at(22, 9, 30)),
    ],
)
def test_polish_dates_and_times_set_the_start(phrase: str, start: datetime) -> None:
    draft = read(f"Spotkanie {phrase}")

    assert (draft.title, draft.start) == ("Spotkanie", start)


def test_a_time_already_past_today_means_tomorrow() -> None:
    assert read("Standup 9am").start == at(22, 9)
    assert read("Standup 11:30").start == at(21, 11, 30)


def test_a_past_time_on_a_day_named_today_stays_today_for_the_form_to_flag() -> None:
    assert read("Standup today 9am").start == at(21, 9)


def test_a_bare_hour_from_one_to_six_means_the_afternoon() -> None:
    assert read("Call at 3").start == at(21, 15)
    assert read("Call at 03:00").start == at(22, 3)
    assert read("Call o 7").start == at(22, 7)


def test_a_day_without_a_time_gets_the_time_the_form_would_offer() -> None:
    assert read("Planning tomorrow").start == at(22, 11, 30)
    assert read("Planning today").start == at(21, 11, 30)


def test_a_date_named_on_that_very_day_means_today_not_next_year() -> None:
    december_third = datetime(2026, 12, 3, 8, 0, tzinfo=WARSAW)

    assert read("Kickoff Dec 3 at 9:30", now=december_third).start == at(3, 9, 30, month=12)
    assert read("Kickoff 3.12 o 9:30", now=december_third).start == at(3, 9, 30, month=12)


def test_without_any_time_or_date_there_is_no_start_or_end() -> None:
    draft = read("Design review")

    assert (draft.title, draft.start, draft.end) == ("Design review", None, None)


# ---------------------------------------------------------------- how long


@pytest.mark.parametrize(
    ("phrase", "end"),
    [
        ("for 45 minutes", at(22, 15, 45)),
        ("for 45m", at(22, 15, 45)),
        ("for 45 min", at(22, 15, 45)),
        ("90 min", at(22, 16, 30)),
        ("for 1h", at(22, 16)),
        ("for 1.5 hours", at(22, 16, 30)),
        ("1h30", at(22, 16, 30)),
        ("for 2 hours 15 minutes", at(22, 17, 15)),
        ("for an hour", at(22, 16)),
        ("for half an hour", at(22, 15, 30)),
        ("until 4pm", at(22, 16)),
        ("until 5", at(22, 17)),
        ("to 16:30", at(22, 16, 30)),
        ("-16:30", at(22, 16, 30)),
        ("przez 30 minut", at(22, 15, 30)),
        ("przez godzinę", at(22, 16)),
        ("przez 2 godziny", at(22, 17)),
        ("przez 1,5 godziny", at(22, 16, 30)),
        ("przez pół godziny", at(22, 15, 30)),
        ("przez półtorej godziny", at(22, 16, 30)),
        ("na 20 minut", at(22, 15, 20)),
        ("do 16:00", at(22, 16)),
    ],
)
def test_a_length_or_an_end_sets_the_end(phrase: str, end: datetime) -> None:
    draft = read(f"Call tomorrow 15:00 {phrase}")

    assert (draft.title, draft.start, draft.end) == ("Call", at(22, 15), end)


@pytest.mark.parametrize(
    ("phrase", "start", "end"),
    [
        ("15:00-16:30", at(22, 15), at(22, 16, 30)),
        ("15:00 - 16:30", at(22, 15), at(22, 16, 30)),
        ("3-4pm", at(22, 15), at(22, 16)),
        ("9-10pm", at(22, 21), at(22, 22)),
        ("11-1pm", at(22, 11), at(22, 13)),
        ("from 10 to 4", at(22, 10), at(22, 16)),
        ("between 2 and 3pm", at(22, 14), at(22, 15)),
        ("od 15 do 16", at(22, 15), at(22, 16)),
        ("23:00-01:00", at(22, 23), at(23, 1)),
    ],
)
def test_a_time_range_sets_start_and_end(phrase: str, start: datetime, end: datetime) -> None:
    draft = read(f"Workshop tomorrow {phrase}")

    assert (draft.title, draft.start, draft.end) == ("Workshop", start, end)


def test_a_start_without_an_end_lasts_thirty_minutes() -> None:
    assert read("Call tomorrow 15:00").end == at(22, 15, 30)


def test_a_length_without_a_start_stays_in_the_title() -> None:
    draft = read("Quick chat for 15m until 4pm")

    assert (draft.title, draft.start, draft.end) == ("Quick chat for 15m until 4pm", None, None)


def test_a_length_over_a_day_is_not_a_length() -> None:
    draft = read("Hackathon tomorrow 9am for 90 hours")

    assert draft.title == "Hackathon for 90 hours"
    assert draft.end == at(22, 9, 30)


def test_when_to_start_is_not_how_long() -> None:
    draft = read("Deploy in 2 hours")

    assert (draft.title, draft.start) == ("Deploy in 2 hours", None)


# ---------------------------------------------------------------- the organizer's zone


def test_tomorrow_is_the_organizers_tomorrow_not_the_servers() -> None:
    # 03:30 UTC on the 22nd is 23:30 on the 21st in New York and 09:00 on the 22nd in Kolkata.
    utc_now = datetime(2026, 10, 22, 3, 30, tzinfo=UTC)

    in_new_york = read("Standup tomorrow 9am", now=utc_now, zone=NEW_YORK)
    in_kolkata = read("Standup tomorrow 9am", now=utc_now, zone=KOLKATA)

    assert in_new_york.start == datetime(2026, 10, 22, 9, 0, tzinfo=NEW_YORK)
    assert in_kolkata.start == datetime(2026, 10, 23, 9, 0, tzinfo=KOLKATA)
    assert in_new_york.start is not None and in_new_york.start.tzinfo is NEW_YORK
    assert in_kolkata.end == datetime(2026, 10, 23, 9, 30, tzinfo=KOLKATA)


def test_the_next_occurrence_is_judged_on_the_organizers_clock() -> None:
    utc_now = datetime(2026, 10, 22, 3, 30, tzinfo=UTC)  # 09:00 in Kolkata

    assert read("Standup 9am", now=utc_now, zone=KOLKATA).start == datetime(
        2026, 10, 22, 9, 0, tzinfo=KOLKATA
    )
    assert read("Standup 8:30", now=utc_now, zone=KOLKATA).start == datetime(
        2026, 10, 23, 8, 30, tzinfo=KOLKATA
    )


def test_tomorrow_after_the_autumn_change_has_the_winter_offset() -> None:
    saturday_noon = datetime(2026, 10, 24, 12, 0, tzinfo=WARSAW)  # summer time, +02:00

    draft = read("Design review tomorrow 10am for 45 minutes", now=saturday_noon)

    assert draft.start is not None and draft.end is not None
    assert draft.start.isoformat() == "2026-10-25T10:00:00+01:00"
    assert draft.end.isoformat() == "2026-10-25T10:45:00+01:00"
    assert draft.end - draft.start == timedelta(minutes=45)


def test_a_time_in_the_spring_gap_moves_past_it() -> None:
    saturday_noon = datetime(2026, 3, 28, 12, 0, tzinfo=WARSAW)

    draft = read("Night deploy tomorrow 02:30", now=saturday_noon)

    assert draft.start is not None and draft.end is not None
    assert draft.start.isoformat() == "2026-03-29T03:30:00+02:00"
    assert draft.end.isoformat() == "2026-03-29T04:00:00+02:00"


def test_new_york_dates_after_its_own_change_have_its_winter_offset() -> None:
    saturday = datetime(2026, 10, 31, 12, 0, tzinfo=NEW_YORK)

    draft = read("Brunch tomorrow 11am for 1h", now=saturday, zone=NEW_YORK)

    assert draft.start is not None and draft.end is not None
    assert draft.start.isoformat() == "2026-11-01T11:00:00-05:00"
    assert draft.end.isoformat() == "2026-11-01T12:00:00-05:00"


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        read_quick_text("Sync", now=datetime(2026, 10, 21, 11, 0), zone=WARSAW)  # noqa: DTZ001


# ---------------------------------------------------------------- who


@pytest.mark.parametrize(
    "text",
    [
        "Sync with <@U123|ana> and <@W42> tomorrow 3pm",
        "Sync <@U123>, <@W42> tomorrow 3pm",
        "Sync with <@U123|ana>,<@W42>, <@U123> tomorrow 3pm",
    ],
)
def test_mentions_become_members_once_each_in_order(text: str) -> None:
    draft = read(text)

    assert (draft.title, draft.member_ids) == ("Sync", ("U123", "W42"))


def test_mailto_links_and_bare_addresses_become_guests_one_per_line() -> None:
    draft = read(
        "Intro with <mailto:bob@client.com|bob@client.com>, ana@partner.example and "
        "<mailto:Jan.Kowalski@firma.pl?subject=x|Jan> tomorrow 3pm"
    )

    assert draft.title == "Intro"
    assert draft.guests_text == "bob@client.com\nana@partner.example\nJan.Kowalski@firma.pl"


def test_an_address_typed_twice_in_another_case_is_one_guest_as_first_typed() -> None:
    draft = read("Intro Bob@Client.com bob@client.com.")

    assert (draft.title, draft.guests_text) == ("Intro", "Bob@Client.com")


def test_an_address_in_angle_brackets_leaves_the_name_in_the_title() -> None:
    draft = read("Intro Bob &lt;bob@client.com&gt;")

    assert (draft.title, draft.guests_text) == ("Intro Bob", "bob@client.com")


def test_something_that_is_not_an_address_stays_in_the_title() -> None:
    draft = read("Ping bob@client and <mailto:nope|nope>")

    assert (draft.title, draft.guests_text) == ("Ping bob@client and nope", "")


def test_only_an_address_gives_an_empty_title() -> None:
    assert read("bob@client.com") == QuickDraft("", None, None, "", (), "bob@client.com")


def test_other_slack_markup_is_shown_as_people_read_it() -> None:
    draft = read("R&amp;D &lt;draft&gt; in <#C1|general> <!here> <https://x.example/a|the doc>")

    assert draft.title == "R&D <draft> in #general @here the doc"


# ---------------------------------------------------------------- where


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("Standup in Room 4 tomorrow 3pm", "Room 4"),
        ("Standup in Room 4B, tomorrow 3pm", "Room 4B"),
        ("Standup tomorrow 3pm (in Room 4)", "Room 4"),
        ("Coffee at Cafe Nero tomorrow 3pm", "Cafe Nero"),
        ("Coffee tomorrow at 3pm at Cafe Nero", "Cafe Nero"),
        ("Lunch at the office tomorrow at noon", "the office"),
        ("Review in the Blue Room tomorrow 3pm", "the Blue Room"),
        ("Review in conference room 2 tomorrow 3pm", "conference room 2"),
        ("Spotkanie w sali 3 jutro o 10", "sali 3"),
        ("Spotkanie w sali konferencyjnej jutro o 10", "sali konferencyjnej"),
        ("Spotkanie w Warszawie jutro o 10", "Warszawie"),
        ("Kawa @ Starbucks jutro o 10", "Starbucks"),
    ],
)
def test_a_place_after_in_at_or_w_fills_the_location(text: str, location: str) -> None:
    draft = read(text)

    assert draft.location == location
    assert draft.start is not None
    assert location not in draft.title


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Meet at 3pm", "Meet"),
        ("Chat in English at 10", "Chat in English"),
        ("Planning in Q3 tomorrow", "Planning in Q3"),
        ("Planning in December", "Planning in December"),
        ("Spotkanie w piątek o 15", "Spotkanie"),
        ("Spotkanie w sprawie budżetu jutro o 10", "Spotkanie w sprawie budżetu"),
        ("Sync at the moment", "Sync at the moment"),
        ("Review in the afternoon", "Review in the afternoon"),
    ],
)
def test_times_dates_and_ordinary_words_are_not_places(text: str, title: str) -> None:
    draft = read(text)

    assert (draft.title, draft.location) == (title, "")


# ---------------------------------------------------------------- the title


def test_what_is_not_understood_stays_in_the_title_with_whitespace_collapsed() -> None:
    draft = read("  Budget\t review:\n  Q4   numbers   tomorrow 3pm  (bring laptops) ")

    assert draft.title == "Budget review: Q4 numbers (bring laptops)"


@pytest.mark.parametrize(
    "text",
    [
        "Release 1.2 planning",
        "Top 10-12 ideas",
        "2025-13-45",
        "Nov 31 retro",
        "Retro 31 listopada",
        "Sprint 42 review 2026",
        "Talk to 3 clients",
        "1:1",
        "Budget 25pm",
        "At 99:99",
    ],
)
def test_numbers_that_are_no_date_or_time_stay_in_the_title(text: str) -> None:
    draft = read(text)

    assert (draft.title, draft.start, draft.end) == (" ".join(text.split()), None, None)


def test_only_the_first_time_is_the_start_and_the_rest_stays() -> None:
    draft = read("Interview tomorrow 10am or 2pm")

    assert (draft.title, draft.start) == ("Interview or 2pm", at(22, 10))


def test_the_date_nearest_the_time_is_taken() -> None:
    draft = read("Prep for Friday demo tomorrow at 10")

    assert (draft.title, draft.start) == ("Prep for Friday demo", at(22, 10))


# ---------------------------------------------------------------- odd text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "🎉🎉 party 🎉",
        "<",
        "<@",
        "<@U1",
        "<<<>>>",
        "unbalanced < tomorrow",
        "|||",
        "\x00\x01\x1b[31m",
        "&amp;&lt;&gt;&",
        "at",
        "w",
        "for",
        "-",
        "99:99",
        "0am 13pm 25:61",
        "2025-13-45",
        "9999-12-31 10:00",
        "0000-01-01",
        "tomorrow " * 50,
        "<mailto:|>",
        "a@b@c.d",
        "Ω≈ç√∫ ¡™£¢∞§",
    ],
)
def test_odd_text_never_crashes_and_keeps_the_title_within_the_text(text: str) -> None:
    draft = read(text)

    assert len(draft.title) <= len(text)
    assert (draft.start is None) == (draft.end is None)
    if draft.start is not None and draft.end is not None:
        assert draft.end > draft.start


def test_ten_kilobytes_of_junk_is_read_quickly() -> None:
    junk = "".join(chr(32 + (i * 7919) % 400) for i in range(10_000))
    noisy = " ".join(["tomorrow 3pm for 1h at Cafe 3.12 bob@x.example <@U1>"] * 200)

    began = clock.perf_counter()
    read(junk)
    read(noisy)

    assert clock.perf_counter() - began < 2


def test_an_ordinary_sentence_is_read_in_well_under_fifty_milliseconds() -> None:
    text = "Design review tomorrow 3pm for 45m with <@U123|ana> bob@client.com in Room 4"
    read(text)  # dateparser loads its language data on first use

    timings = []
    for _ in range(5):
        began = clock.perf_counter()
        read(text)
        timings.append(clock.perf_counter() - began)

    assert sorted(timings)[2] < 0.05
