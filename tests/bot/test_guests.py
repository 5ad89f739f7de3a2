"""Reading the guests field the way a mail client reads its To: line."""

from __future__ import annotations

import pytest

from bot.guests import Guest, GuestListError, parse_guest_list


def test_names_bare_addresses_commas_semicolons_and_lines_all_work() -> None:
    text = (
        "Bob Client <bob@client.example>, ana@partner.example\n"
        '"Doe, Jane" <jane@doe.example>; x@y.example'
    )

    assert parse_guest_list(text) == [
        Guest("bob@client.example", "Bob Client"),
        Guest("ana@partner.example"),
        Guest("jane@doe.example", "Doe, Jane"),
        Guest("x@y.example"),
    ]


def test_the_same_address_in_another_case_is_one_guest_keeping_the_name() -> None:
    guests = parse_guest_list("BOB@client.example\nBob Client <bob@client.example>\n\n , ")

    assert guests == [Guest("bob@client.example", "Bob Client")]


@pytest.mark.parametrize(
    "entry",
    [
        "bob",
        "bob@",
        "@client.example",
        "bob@client",
        "Bob <bob@client.example",
        "two words@client.example",
        "<>",
    ],
)
def test_an_entry_that_is_not_an_address_is_named_in_the_error(entry: str) -> None:
    with pytest.raises(GuestListError) as error:
        parse_guest_list(f"ok@fine.example, {entry}")

    assert entry in str(error.value)


def test_more_than_the_limit_is_refused_with_the_count() -> None:
    text = "\n".join(f"g{n}@client.example" for n in range(11))

    with pytest.raises(GuestListError, match=r"11 guests.*up to 10"):
        parse_guest_list(text, limit=10)
    assert len(parse_guest_list(text, limit=11)) == 11


def test_an_empty_field_means_no_guests() -> None:
    assert parse_guest_list("  \n ") == []
