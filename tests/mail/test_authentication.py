"""What vouches for a message, read the way it is written: signatures, results, return paths."""

from __future__ import annotations

from email.message import EmailMessage

import dkim
import pytest

from bot.mail.inbound import read_inbound
from bot.mail.return_paths import ReturnPaths, return_path_tags
from bot.mail.trust import aligned, authenticate, trusted_results, verified_signers
from tests.support.dkim import KEYS, SELECTOR
from tests.support.replies import render

GMAIL_RESULTS = (
    "mx.meetbot.example;\r\n"
    "       dkim=pass header.i=@client.example header.s=20230601 header.b=Ab12Cd34;\r\n"
    "       spf=pass (mx.meetbot.example: domain of bob@client.example designates 192.0.2.1"
    " as permitted sender) smtp.mailfrom=bob@client.example;\r\n"
    '       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from="client.example"'
)


def reply(sender: str = "bob@client.example") -> bytes:
    """Return a small reply as a guest's mail program sends it."""
    message = EmailMessage()
    message["From"] = f"Bob <{sender}>"
    message["To"] = "invites@meetbot.example"
    message["Subject"] = "Accepted: Design review"
    message["Date"] = "Thu, 26 Nov 2026 12:00:00 +0000"
    message["Message-ID"] = "<r1@client.example>"
    message.set_content("See you there")
    return message.as_bytes().replace(b"\n", b"\r\n")


def test_a_servers_results_are_read_as_servers_write_them() -> None:
    [dkim_result, spf, dmarc] = trusted_results([GMAIL_RESULTS], "mx.meetbot.example")

    assert dkim_result == (
        "dkim",
        "pass",
        {"header.i": "@client.example", "header.s": "20230601", "header.b": "ab12cd34"},
    )
    assert spf[:2] == ("spf", "pass")
    assert dmarc == ("dmarc", "pass", {"header.from": "client.example"})
    both = authenticate(
        b"", [GMAIL_RESULTS], resolver=None, trusted_authserv_id="mx.meetbot.example"
    )
    assert both.vouches_for("bob@client.example")
    assert not both.vouches_for("bob@other.example")


def test_results_of_another_server_or_with_no_trusted_id_vouch_for_nothing() -> None:
    assert trusted_results([GMAIL_RESULTS], "mx.other.example") == []
    nothing = authenticate(b"", [GMAIL_RESULTS], resolver=None, trusted_authserv_id=None)
    assert not nothing.vouches_for("bob@client.example")


@pytest.mark.parametrize(
    ("signer", "domain", "expected"),
    [
        ("client.example", "client.example", True),
        ("client.example", "mail.client.example", True),
        ("mail.client.example", "client.example", True),
        ("evilclient.example", "client.example", False),
        ("example", "client.example", False),
        ("other.example", "client.example", False),
    ],
)
def test_a_signer_is_aligned_with_its_domain_and_the_domains_above_and_below(
    signer: str, domain: str, expected: bool
) -> None:
    assert aligned(signer, domain) is expected


def test_a_good_signature_names_its_domain_and_a_tampered_one_nothing() -> None:
    signed = KEYS.sign(reply(), "client.example")

    assert verified_signers(signed, KEYS.resolve) == ["client.example"]
    assert verified_signers(signed.replace(b"See you", b"Sue you"), KEYS.resolve) == []
    assert verified_signers(signed, lambda name: None) == []


def test_a_signature_with_a_body_length_limit_is_not_believed() -> None:
    KEYS.sign(reply(), "client.example")  # makes the key
    signature = dkim.sign(
        reply(),
        SELECTOR,
        b"client.example",
        KEYS._key("client.example"),
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=[b"from", b"subject"],
        length=True,
    )
    limited = signature + reply() + b"\r\nBEGIN:VCALENDAR appended later\r\n"

    assert verified_signers(limited, KEYS.resolve) == []


def test_a_message_with_two_from_headers_is_not_taken_as_from_either() -> None:
    raw = b"From: bob@client.example\r\n" + reply("mallory@evil.example")

    assert not read_inbound(raw).single_from


def test_a_reply_names_the_invitation_it_answers() -> None:
    raw = (
        b"In-Reply-To: <0f8e2a9c-1111-2222-3333-444455556666.2.request.0123456789abcdef"
        b"@meetbot.example>\r\n" + reply()
    )

    mail = read_inbound(raw)

    assert mail.references == (("0f8e2a9c-1111-2222-3333-444455556666", "0123456789abcdef"),)


def test_a_delay_notice_is_a_delay_and_a_failure_report_a_failure() -> None:
    delay = read_inbound(
        render("gmail_delay", organizer="invites@meetbot.example", recipient="ivy@nowhere.example")
    )
    failure = read_inbound(
        render("dsn_bounce", organizer="invites@meetbot.example", recipient="ivy@nowhere.example")
    )
    classic = read_inbound(
        render(
            "classic_bounce", organizer="invites@meetbot.example", recipient="ivy@nowhere.example"
        ).replace(b"550 5.1.1 User unknown", b"451 4.4.1 Connection timed out, will retry")
    )

    assert delay.bounce is not None and delay.bounce.delayed
    assert failure.bounce is not None and not failure.bounce.delayed
    assert classic.bounce is not None and classic.bounce.delayed


def test_a_return_path_names_its_attendee_only_with_our_tag() -> None:
    paths = ReturnPaths("k" * 40)
    path = paths.for_attendee("invites@meetbot.example", 1234)
    local, _, domain = path.partition("@")

    assert domain == "meetbot.example" and local.startswith("invites+b1234-")
    assert paths.attendees_in(return_path_tags(path.upper().encode())) == (1234,)
    forged = path.replace("-", "-0", 1)[:-17] + "@meetbot.example"
    assert paths.attendees_in(return_path_tags(forged.encode())) == ()
    other_key = ReturnPaths("x" * 40).for_attendee("invites@meetbot.example", 1234)
    assert paths.attendees_in(return_path_tags(other_key.encode())) == ()
