"""A thousand invitations from one byte template: each guest's bytes are what the library writes."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import SMTP
from email.utils import formataddr

import pytest
from icalendar.parser import Contentline, Contentlines

from bot.ical import folded
from bot.mail.byte_template import InvitationBytes, RawMail, flatten, header_line
from bot.mail.messages import Files, GuestInvitations, Sender
from bot.mail.mime_parts import POLICY
from bot.mail.transport import SmtpMailer
from bot.meetings.model import Answer, Invitee
from tests.mail.servers import RecordingServer
from tests.mail.test_guest_messages import AGENDA, GUESTS, MEETING
from tests.support.calendar_readers import needs_ical_js, read_with_ical_js, read_with_vobject
from tests.support.mailbox import calendar_part

STAMP = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
BASE = "https://meetbot.example/rsvp/"


def token_of(number: int) -> str:
    """Return a token shaped like Meetbot's (43 characters of URL-safe base64)."""
    return (f"Tk{number}_-" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789")[:43]


def personal(token: str) -> tuple[str, Files]:
    """Return a guest's answer link and files, the agenda attached and linked by token."""
    url = BASE + token
    return url, Files(
        attached=[(AGENDA, b"%PDF-1.4 agenda")],
        linked=[(AGENDA, f"{url}/files/{AGENDA.public_key}")],
    )


def whole(invitations: GuestInvitations, guest: Invitee, token: str, entry_id: int) -> bytes:
    """Return the message the email package writes for one guest, as aiosmtplib sends it."""
    url, files = personal(token)
    return flatten(invitations.message(guest, answer_url=url, entry_id=entry_id, files=files))


def guest(number: int, name: str, email: str | None = None) -> Invitee:
    return Invitee(
        id=number,
        kind="guest",
        slack_user_id=None,
        email=email or f"guest{number}@client.example",
        name=name,
        answer=Answer.TENTATIVE,
        comment="",
        token_salt=f"salt{number}",
    )


def test_a_spliced_invitation_is_byte_for_byte_what_the_library_writes_for_that_guest() -> None:
    invitations = GuestInvitations(MEETING, sender=Sender("invites@meetbot.example"), stamp=STAMP)
    template = InvitationBytes(invitations, personal)

    for number, invitee in enumerate(GUESTS, start=1):
        mail = template.mail(invitee, token_of(number), entry_id=100 + number)
        assert isinstance(mail, RawMail)
        assert mail.data == whole(invitations, invitee, token_of(number), 100 + number)
        assert mail.recipients == (invitee.email,)
        assert mail.message_id == invitations.message_id(invitee, 100 + number)
    assert template.spliced == len(GUESTS)  # none of them was built whole


@pytest.mark.parametrize(
    "name",
    [
        'Zoë "Q", Ünïcode; a name long enough to be folded over several lines of a header',
        "Eve\r\nBcc: victim@else.example",
        "Mallory\nContent-Type: text/html",
        "=?utf-8?q?not_an_encoded_word?= <forged@else.example>",
        "O'Brien, Dr. (Ops) \\ back",
        "Łukasz Żółć-Gęślak " * 6,
    ],
)
def test_a_guests_name_is_spliced_safely_and_exactly(name: str) -> None:
    invitations = GuestInvitations(MEETING, sender=Sender("invites@meetbot.example"), stamp=STAMP)
    template = InvitationBytes(invitations, personal)
    invitee = guest(9, name)

    mail = template.mail(invitee, token_of(9), entry_id=7)

    assert isinstance(mail, RawMail)
    assert template.spliced == 1
    assert mail.data == whole(invitations, invitee, token_of(9), 7)
    read = message_from_bytes(mail.data, policy=SMTP)
    # One To, naming this guest only; no header of the name's making.
    assert read.get_all("To") == [read["To"]]
    assert read["To"].addresses[0].addr_spec == "guest9@client.example"
    # (Python's reader shows a space where the library cut a long name into encoded words,
    # and decodes an encoded word typed into a name; whitespace aside, the name is theirs.)
    shown = read["To"].addresses[0].display_name
    assert "".join(shown.split()) in (
        "".join(name.split()),
        "notanencodedword<forged@else.example>",
    )
    assert "Bcc" not in read and read.get_content_type() == "multipart/mixed"
    assert all(len(line) <= 78 for line in mail.data.split(b"\r\n"))


def spliced_calendars() -> list[bytes]:
    """Return the calendars (checked equal as part and as invite.ics) of spliced invitations."""
    invitations = GuestInvitations(MEETING, sender=Sender("invites@meetbot.example"), stamp=STAMP)
    template = InvitationBytes(invitations, personal)
    calendars = []
    for number, invitee in enumerate((*GUESTS, guest(4, 'Łukasz "Ł" Żółć ' * 5)), start=1):
        mail = template.mail(invitee, token_of(number), entry_id=number)
        assert isinstance(mail, RawMail)
        message = message_from_bytes(mail.data, policy=SMTP)
        calendars.append(calendar_part(message).get_content().encode())
        [ics] = [p for p in message.iter_attachments() if p.get_filename() == "invite.ics"]
        assert ics.get_content() == calendars[-1]
        assert f"{BASE}{token_of(number)}".encode() in calendars[-1].replace(b"\r\n ", b"")
    assert template.spliced == len(calendars)
    return calendars


def test_vobject_reads_every_spliced_calendar() -> None:
    calendars = spliced_calendars()
    assert read_with_vobject(calendars) == [(MEETING.start, MEETING.end)] * len(calendars)


@needs_ical_js
def test_ical_js_reads_every_spliced_calendar() -> None:
    calendars = spliced_calendars()
    assert read_with_ical_js(calendars) == [(MEETING.start, MEETING.end)] * len(calendars)


def test_a_guest_the_template_cannot_carry_gets_the_message_built_whole() -> None:
    invitations = GuestInvitations(MEETING, sender=Sender("invites@meetbot.example"), stamp=STAMP)
    template = InvitationBytes(invitations, personal)
    short_token = "abc"  # not the length the template was cut for: cut again, still exact
    odd_token = "a/b+c=" + "x" * 37  # not the shape of Meetbot's tokens: built whole

    assert template.mail(GUESTS[0], token_of(1), 1).data == whole(  # type: ignore[union-attr]
        invitations, GUESTS[0], token_of(1), 1
    )
    mail = template.mail(GUESTS[0], short_token, 2)
    assert isinstance(mail, RawMail) and mail.data == whole(invitations, GUESTS[0], short_token, 2)
    spliced = template.spliced
    mail = template.mail(GUESTS[1], odd_token, 3)
    assert isinstance(mail, RawMail) and mail.data == whole(invitations, GUESTS[1], odd_token, 3)
    assert template.spliced == spliced


def test_calendar_lines_are_folded_as_icalendar_folds_them() -> None:
    alphabet = "abcXYZ019 ;:,=\"'\\^-_/é"
    chooser = random.Random(14)
    for length in [*range(70, 160), *(chooser.randrange(1, 400) for _ in range(200))]:
        line = Contentline("".join(chooser.choice(alphabet) for _ in range(length)))
        ascii_only = Contentline(line.encode("ascii", "ignore").decode())
        for text in (line, ascii_only):
            assert folded(text) == Contentlines([text]).to_ical()


@pytest.mark.parametrize(
    ("name", "address"),
    [
        ("Guest 5", "guest5.r1@client5.example"),
        ("O'Brien", "o'brien+meet@client.example"),
        ("A", "a@b.example"),
        ("", "only.the_address-here@client.example"),
        ("Anne Marie 3rd", "anne@" + "x" * 40 + ".example"),  # 76 characters: one line
        ("Anne Marie 3rd", "anne@" + "x" * 41 + ".example"),  # 77: folded by the library
    ],
)
def test_a_plain_header_is_written_as_the_library_writes_it(name: str, address: str) -> None:
    value = formataddr((name, address))
    _, parsed = POLICY.header_store_parse("To", value)

    assert header_line("To", value) == SMTP.fold_binary("To", parsed)


@pytest.mark.parametrize("eight_bit", [True, False])
async def test_spliced_bytes_reach_a_server_as_written_or_in_7bit_where_it_wants_that(
    eight_bit: bool,
) -> None:
    invitations = GuestInvitations(MEETING, sender=Sender("invites@meetbot.example"), stamp=STAMP)
    invitee = guest(6, "Zoë Ünïcode")  # a non-ASCII calendar: the part is 8bit
    mail = InvitationBytes(invitations, personal).mail(invitee, token_of(6), entry_id=6)
    assert isinstance(mail, RawMail) and not mail.data.isascii()
    # aiosmtpd offers 8BITMIME unless it decodes the data itself.
    server = RecordingServer(None, decode_data=not eight_bit)
    server.start()
    try:
        await SmtpMailer(server.url()).send(mail, envelope_from="bounce@meetbot.example")
    finally:
        server.stop()

    [delivery] = server.deliveries
    assert delivery.recipients == ("guest6@client.example",)
    assert delivery.envelope_from == "bounce@meetbot.example"
    sent = message_from_bytes(mail.data, policy=SMTP)
    assert delivery.message["Message-ID"] == sent["Message-ID"]
    received = calendar_part(delivery.message)
    if not eight_bit:
        assert received["Content-Transfer-Encoding"] != "8bit"
    assert received.get_content() == calendar_part(sent).get_content()


def test_a_long_message_id_is_laid_out_as_the_library_lays_out_one_of_its_length() -> None:
    for length in range(10, 260, 3):
        for entry in ("1", "2"):  # the first of a length asks the library, the next reuses it
            value = f"<{('a1b2c3d4-e5f6.' * 20)[:length]}.0.request.{entry}@meetbot.example>"
            _, parsed = POLICY.header_store_parse("Message-ID", value)
            assert header_line("Message-ID", value) == SMTP.fold_binary("Message-ID", parsed)
