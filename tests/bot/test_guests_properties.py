"""The guests field gives guests or a clear error for any text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.guests import GuestListError, parse_guest_list

PIECES = st.sampled_from(
    [
        "bob@client.example",
        "Bob <bob@client.example>",
        '"Doe, J" <j@d.example>',
        ",",
        ";",
        "\n",
        "<",
        ">",
        '"',
        " ",
        "@",
        "x",
    ]
)


@given(st.one_of(st.text(max_size=500), st.lists(PIECES, max_size=40).map("".join)))
def test_any_text_gives_distinct_guests_or_names_the_problem(text: str) -> None:
    try:
        guests = parse_guest_list(text)
    except GuestListError as error:
        assert str(error)
        return
    keys = [g.key for g in guests]
    assert len(keys) == len(set(keys))
    assert all("@" in g.email and "\n" not in g.name for g in guests)
