"""What a guest's mail program and calendar show of each e-mail: read from the bytes received.

Every message here goes through the app's own SMTP transport to a real server on loopback
and is read back from what arrived: the headers as sent (folded, encoded), the body as a
mail program parses it, the calendar as icalendar and vobject read it.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

import aiohttp
import icalendar
import pytest
import vobject

from bot.app import Meetbot
from bot.i18n import Language
from bot.mail.inbound import read_inbound
from bot.mail.messages import (
    Files,
    GuestInvitations,
    Sender,
    cancellation_message,
    declinecounter_message,
    describe_start,
    reminder_message,
)
from bot.mail.transport import SmtpMailer
from bot.meetings.model import (
    Answer,
    AttachedFile,
    Change,
    ChangedField,
    Invitee,
    Meeting,
    Organizer,
    Proposal,
    recipient_hash,
)
from tests.fakes.slack_api import FakeSlack
from tests.support.flows import confirm_mailbox, open_create_form
from tests.support.mailbox import Mailbox, ReceivedMail, calendar_part
from tests.support.meetings import (
    answer_link,
    calendar_of,
    eventually,
    open_form_from,
    wait_for_mails,
)
from tests.support.replies import render, send_to_receiver
from tests.support.signed import SlackSender

SENDER = Sender("invites@meetbot.example")
STAMP = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LINK = "https://meetbot.example/rsvp/t0k3n"
TITLE = "Przegląd projektu „Łąka” — omówienie długiej listy zmian, ąęłśćźż"
FILE_NAME = "Sprawozdanie roczne — Łódź, zażółć gęślą jaźń (wersja ostateczna).pdf"
REPORT = AttachedFile(1, FILE_NAME, "application/pdf", 9, "k1")
AGENDA = AttachedFile(2, "agenda.pdf", "application/pdf", 6, "k2")
FILES = Files(
    attached=[(REPORT, b"%PDF-1.7\n"), (AGENDA, b"%PDF-1")],
    linked=[(REPORT, f"{LINK}/files/k1"), (AGENDA, f"{LINK}/files/k2")],
)
GUEST = Invitee(
    id=1,
    kind="guest",
    slack_user_id=None,
    email="ana@client.example",
    name='Ana "The Client" Nowak',
    answer=Answer.NEEDS_ACTION,
    comment="",
    token_salt="salt1",
)
MEETING = Meeting(
    id=7,
    uid="0b7f6a52-3c1d-4e8f-9a2b-5c6d7e8f9a0b@meetbot",
    team_id="T1",
    organizer=Organizer(
        "U1", 'Zofia "Zosia" Wiśniewska-Kowalska', "zofia@acme.example", "Europe/Warsaw"
    ),
    title=TITLE,
    # 14:00 in Warsaw, a Saturday in winter.
    start=datetime(2026, 12, 5, 13, 0, tzinfo=UTC),
    end=datetime(2026, 12, 5, 14, 0, tzinfo=UTC),
    location="Sala „Łąka”, piętro 2",
    description="Omówimy zmiany.\nProszę przeczytać sprawozdanie.",
    notify_on_decision=True,
    sequence=1,
    version=2,
    status="confirmed",
    created_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
    attendees=(GUEST,),
    files=(REPORT, AGENDA),
    language=Language.PL,
)
# Every kind of e-mail a guest gets.
GUEST_EMAILS = ("invitation", "update", "cancellation", "removal", "reminder", "declinecounter")
SHORT_START = "sob. 5 gru 14:00 CET"
# The subject of each, as a Polish organizer's guest reads it.
SUBJECTS = {
    "invitation": f"Zaproszenie: {TITLE}, {SHORT_START}",
    "update": f"Zmienione zaproszenie: {TITLE}, {SHORT_START}",
    "cancellation": f"Odwołane: {TITLE}, {SHORT_START}",
    "removal": f"Zaproszenie wycofane: {TITLE}, {SHORT_START}",
    "reminder": f"Przypomnienie: {TITLE}, {SHORT_START}",
    "declinecounter": f"Nowy termin odrzucony: {TITLE}",
}
ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


def build(kind: str, meeting: Meeting = MEETING, entry_id: int = 1) -> EmailMessage:
    """Return a guest's e-mail of one kind, built as the outbox builds it."""
    if kind in ("invitation", "update"):
        changes = (
            [Change(ChangedField.PLACE, "Sala 4", meeting.location)] if kind == "update" else []
        )
        invitations = GuestInvitations(meeting, sender=SENDER, stamp=STAMP, changes=changes)
        return invitations.message(GUEST, answer_url=LINK, entry_id=entry_id, files=FILES)
    if kind in ("cancellation", "removal"):
        return cancellation_message(
            meeting,
            GUEST,
            sender=SENDER,
            stamp=STAMP,
            removed=kind == "removal",
            entry_id=entry_id,
        )
    if kind == "reminder":
        return reminder_message(
            meeting, GUEST, sender=SENDER, answer_url=LINK, stamp=STAMP, entry_id=entry_id
        )
    assert kind == "declinecounter"
    proposal = Proposal(
        3, meeting.id, GUEST.id, meeting.start + timedelta(days=1), meeting.end, "", "declined"
    )
    return declinecounter_message(
        meeting, GUEST, proposal, sender=SENDER, stamp=STAMP, entry_id=entry_id
    )


async def delivered(mailbox: Mailbox, message: EmailMessage) -> ReceivedMail:
    """Send a message through the app's SMTP transport; return it as the server received it."""
    before = len(mailbox.received)
    await SmtpMailer(mailbox.url).send(message, envelope_from=SENDER.address)
    [received] = mailbox.received[before:]
    return received


async def download(url: str) -> tuple[int, bytes]:
    """Fetch a link as a guest's browser or calendar would."""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.read()


def header_block(raw: bytes) -> bytes:
    """Return a message's own headers, as sent."""
    return raw.partition(b"\r\n\r\n")[0]


def assert_encoded_words_fit(raw: bytes) -> list[bytes]:
    """Check every RFC 2047 encoded-word in a message is at most 75 characters; return them."""
    words = ENCODED_WORD.findall(raw)
    assert all(len(word) <= 75 for word in words), [w for w in words if len(w) > 75]
    return words


def calendars_in(mail: ReceivedMail) -> list[bytes]:
    """Return the calendar data of an e-mail: the inline part and the attached .ics file."""
    found = [calendar_part(mail.message).get_content().encode()]
    for part in mail.message.iter_attachments():
        if (part.get_filename() or "").endswith(".ics"):
            found.append(part.get_content())
    return found


def vevent(data: bytes) -> Any:
    """Return the event of a calendar as icalendar reads it."""
    [event] = icalendar.Calendar.from_ical(data).walk("VEVENT")
    return event


class _Page(HTMLParser):
    """What a mail program renders of an HTML body: its title and the styles of its tables."""

    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self.tables: list[dict[str, str | None]] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_title = tag == "title"
        if tag == "table":
            self.tables.append(dict(attrs))

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


@pytest.mark.parametrize("kind", GUEST_EMAILS)
async def test_a_long_polish_subject_keeps_every_encoded_word_within_75_characters(
    kind: str, mailbox: Mailbox
) -> None:
    mail = await delivered(mailbox, build(kind))

    assert_encoded_words_fit(mail.raw)
    subject_line = re.search(rb"^Subject: .*?(?=\r\n\S)", header_block(mail.raw), re.S | re.M)
    assert subject_line and ENCODED_WORD.search(subject_line.group(0))
    assert TITLE in str(mail.message["Subject"])


@pytest.mark.parametrize("kind", GUEST_EMAILS)
async def test_the_subject_is_the_title_and_the_start_with_the_zones_abbreviation(
    kind: str, mailbox: Mailbox
) -> None:
    mail = await delivered(mailbox, build(kind))

    assert str(mail.message["Subject"]) == SUBJECTS[kind]


@pytest.mark.parametrize(
    ("zone", "start", "language", "expected"),
    [
        (
            "Europe/Warsaw",
            datetime(2026, 12, 5, 13, 0, tzinfo=UTC),
            Language.EN,
            "Sat 5 Dec 14:00 CET",
        ),
        (
            "Europe/Warsaw",
            datetime(2026, 7, 4, 12, 0, tzinfo=UTC),
            Language.EN,
            "Sat 4 Jul 14:00 CEST",
        ),
        (
            "Europe/Warsaw",
            datetime(2026, 7, 5, 12, 0, tzinfo=UTC),
            Language.PL,
            "niedz. 5 lip 14:00 CEST",
        ),
        (
            "America/New_York",
            datetime(2026, 12, 7, 14, 30, tzinfo=UTC),
            Language.EN,
            "Mon 7 Dec 09:30 EST",
        ),
        # The time zone database has no letters for São Paulo: the offset stands in.
        (
            "America/Sao_Paulo",
            datetime(2026, 12, 5, 17, 0, tzinfo=UTC),
            Language.PL,
            "sob. 5 gru 14:00 UTC-03:00",
        ),
    ],
)
async def test_the_subject_names_the_start_and_the_zone_short(
    zone: str, start: datetime, language: Language, expected: str, mailbox: Mailbox
) -> None:
    organizer = Organizer("U1", "Olga Organizer", "olga@acme.example", zone)
    meeting = replace(
        MEETING,
        title="Design review",
        organizer=organizer,
        start=start,
        end=start + timedelta(hours=1),
        language=language,
    )
    assert describe_start(meeting) == expected

    mail = await delivered(mailbox, build("invitation", meeting))

    word = "Invitation" if language is Language.EN else "Zaproszenie"
    assert str(mail.message["Subject"]) == f"{word}: Design review, {expected}"


@pytest.mark.parametrize("kind", ["invitation", "cancellation", "declinecounter"])
async def test_names_in_double_quotes_reach_the_calendar_without_caret_escapes(
    kind: str, mailbox: Mailbox
) -> None:
    mail = await delivered(mailbox, build(kind))

    for data in calendars_in(mail):
        # RFC 6868 writes " as ^' and ^ as ^^, which Outlook shows as they are.
        assert b"^'" not in data and b"^^" not in data
        event = vevent(data)
        assert event["ATTENDEE"].params["CN"] == "Ana 'The Client' Nowak"
        assert event["ORGANIZER"].params["CN"] == "Zofia 'Zosia' Wiśniewska-Kowalska"
        other = vobject.readOne(data.decode()).vevent
        assert other.attendee.params["CN"] == ["Ana 'The Client' Nowak"]
        assert other.organizer.params["CN"] == ["Zofia 'Zosia' Wiśniewska-Kowalska"]
    # The mail headers keep the name as typed.
    assert mail.message["To"].addresses[0].display_name == 'Ana "The Client" Nowak'


async def test_attached_files_are_named_for_old_mail_programs_and_new(mailbox: Mailbox) -> None:
    mail = await delivered(mailbox, build("invitation"))

    assert_encoded_words_fit(mail.raw)
    # As an old mail program reads it: Content-Type's name=, in RFC 2047 encoded-words.
    old = email.message_from_bytes(mail.raw, policy=email.policy.compat32)
    names = {}
    for part in old.walk():
        name = part.get_param("name")
        if isinstance(name, str):
            names[str(make_header(decode_header(name)))] = part
    assert set(names) == {FILE_NAME, "agenda.pdf", "invite.ics"}
    assert names[FILE_NAME].get_param("name").startswith("=?utf-8?")
    assert names["agenda.pdf"]["Content-Type"] == 'application/pdf; name="agenda.pdf"'
    assert "filename*" in names[FILE_NAME]["Content-Disposition"]
    # As a current one reads it: Content-Disposition's filename*= (RFC 2231).
    attached = {
        part.get_filename(): (part.get_content_type(), part.get_content())
        for part in mail.message.iter_attachments()
    }
    assert attached[FILE_NAME] == ("application/pdf", b"%PDF-1.7\n")
    assert attached["agenda.pdf"] == ("application/pdf", b"%PDF-1")
    assert attached["invite.ics"][0] == "application/ics"


@pytest.mark.parametrize(
    ("language", "answer_line"), [(Language.PL, "Odpowiedz: "), (Language.EN, "Answer: ")]
)
async def test_the_calendar_lists_the_files_and_carries_the_answer_link_in_its_description(
    language: Language, answer_line: str, mailbox: Mailbox
) -> None:
    meeting = replace(MEETING, language=language)

    mail = await delivered(mailbox, build("invitation", meeting))

    for data in calendars_in(mail):
        event = vevent(data)
        assert [(str(a), a.params["FMTTYPE"], a.params["FILENAME"]) for a in event["ATTACH"]] == [
            (f"{LINK}/files/k1", "application/pdf", FILE_NAME),
            (f"{LINK}/files/k2", "application/pdf", "agenda.pdf"),
        ]
        # Outlook and Google show no URL; the description's last line takes the guest there.
        assert str(event["DESCRIPTION"]) == f"{meeting.description}\n\n{answer_line}{LINK}"
        assert str(event["URL"]) == LINK
        other = vobject.readOne(data.decode()).vevent
        assert [a.value for a in other.attach_list] == [f"{LINK}/files/k1", f"{LINK}/files/k2"]
        assert other.description.value.endswith(f"{answer_line}{LINK}")


async def test_a_cancellation_has_no_answer_link_or_files_in_its_calendar(
    mailbox: Mailbox,
) -> None:
    mail = await delivered(mailbox, build("cancellation"))

    for data in calendars_in(mail):
        event = vevent(data)
        assert str(event["DESCRIPTION"]) == MEETING.description
        assert "ATTACH" not in event and "URL" not in event


@pytest.mark.parametrize(
    ("kind", "automatic"),
    [
        ("invitation", False),
        ("update", False),
        ("cancellation", False),
        ("removal", False),
        ("reminder", True),
        ("declinecounter", True),
    ],
)
async def test_only_what_meetbot_writes_on_its_own_is_marked_auto_submitted(
    kind: str, automatic: bool, mailbox: Mailbox
) -> None:
    mail = await delivered(mailbox, build(kind))

    expected = "auto-generated" if automatic else None
    assert mail.message["Auto-Submitted"] == expected


@pytest.mark.parametrize("kind", GUEST_EMAILS)
async def test_the_html_is_a_titled_column_at_most_600_pixels_wide(
    kind: str, mailbox: Mailbox
) -> None:
    mail = await delivered(mailbox, build(kind))

    page = _Page()
    page.feed(mail.message.get_body(("html",)).get_content())
    assert page.title == SUBJECTS[kind]
    column = [t for t in page.tables if t.get("width") == "600"]
    assert column and "max-width: 600px" in (column[0].get("style") or "")


async def test_each_message_names_the_meetings_thread_and_a_retry_is_the_same_message(
    mailbox: Mailbox,
) -> None:
    first = await delivered(mailbox, build("reminder", entry_id=41))
    again = await delivered(mailbox, build("reminder", entry_id=41))
    second = await delivered(mailbox, build("reminder", entry_id=42))

    assert first.message["Message-ID"] == again.message["Message-ID"]
    assert first.message["Message-ID"] != second.message["Message-ID"]
    root = "<0b7f6a52-3c1d-4e8f-9a2b-5c6d7e8f9a0b@meetbot.example>"
    for mail in (first, second):
        assert mail.message["In-Reply-To"] == mail.message["References"] == root


# The meeting's whole life, through the real app.

ZOFIA = "U0ZOFIA"
BOB = "bob@client.example"
MAILBOX = "invites@meetbot.example"
REPORT_BYTES = b"%PDF-1.7 sprawozdanie roczne"
# What each subject starts with, and the kind its Message-ID names.
KINDS = {
    "Zaproszenie:": "request",
    "Zmienione zaproszenie:": "request",
    "Nowy termin odrzucony:": "declinecounter",
    "Przypomnienie:": "reminder",
    "Odwołane:": "cancel",
}


def organizer_dms(slack: FakeSlack) -> list[dict[str, Any]]:
    """Return the messages in the organizer's DM with the app, the summary first."""
    return slack.messages(slack.dm_channel(ZOFIA))


def subjects(mailbox: Mailbox) -> list[str]:
    """Return the subjects of what Bob received, oldest first."""
    return [str(m.message["Subject"]) for m in mailbox.to(BOB)]


async def propose_and_decline(
    sender: SlackSender,
    slack: FakeSlack,
    inbound_port: int,
    uid: str,
    sequence: int,
    proposed: datetime,
) -> None:
    """Have Bob propose another time from his calendar, and the organizer decline it."""
    before = len(organizer_dms(slack))
    raw = render(
        "outlook_counter",
        organizer=MAILBOX,
        uid=uid,
        guest=BOB,
        sequence=sequence,
        comment="Maybe a day later?",
        start=proposed,
        end=proposed + timedelta(minutes=45),
        authenticated=True,
    )
    await send_to_receiver(inbound_port, raw, MAILBOX, sender=BOB)

    def proposal() -> dict[str, Any]:
        return next(m for m in organizer_dms(slack)[before:] if "counter_decline" in str(m))

    await eventually(proposal)
    await sender.click(ZOFIA, proposal(), slack.dm_channel(ZOFIA), "counter_decline")


def attach_links(mail: ReceivedMail) -> list[str]:
    """Return the ATTACH links of an invitation's calendar."""
    attach = calendar_of(mail).walk("VEVENT")[0].get("ATTACH", [])
    return [str(a) for a in (attach if isinstance(attach, list) else [attach])]


def bounce_quoting(mail: ReceivedMail) -> bytes:
    """Return a DSN for one of Bob's messages, quoting its headers as Postfix does."""
    placeholder = "<quoted@placeholder.example>"
    dsn = render("dsn_bounce", organizer=MAILBOX, recipient=BOB, message_id=placeholder)
    return dsn.replace(f"Message-ID: {placeholder}".encode(), header_block(mail.raw))


async def test_every_message_of_a_meetings_life_has_its_own_id_in_the_meetings_thread(
    sender: SlackSender,
    slack: FakeSlack,
    mailbox: Mailbox,
    meetbot: Meetbot,
    inbound_port: int,
) -> None:
    slack.add_user(
        ZOFIA,
        real_name='Zofia "Zosia" Wiśniewska-Kowalska',
        email="zofia@acme.example",
        locale="pl-PL",
    )
    report = slack.add_file(FILE_NAME, REPORT_BYTES)
    # The guest's five-minute reminder falls due a few seconds in.
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5, seconds=6)
    form = await open_create_form(sender, slack, ZOFIA)
    response = await sender.submit_view(
        ZOFIA,
        form,
        title=TITLE,
        start=int(start.timestamp()),
        end=int((start + timedelta(minutes=45)).timestamp()),
        location="Sala 4",
        guests=f"Bob Client <{BOB}>",
        reminder="5",
        remind_guests=["remind_guests"],
        files=[report],
    )
    await confirm_mailbox(sender, ZOFIA, response.json())
    [invitation] = await wait_for_mails(mailbox, BOB, 1)
    uid = str(calendar_of(invitation).walk("VEVENT")[0]["UID"])
    # The file's link in the calendar is Bob's own and gives him the file.
    [link] = attach_links(invitation)
    assert link.startswith(answer_link(invitation) + "/files/")
    assert await download(link) == (200, REPORT_BYTES)

    await eventually(lambda: organizer_dms(slack))
    form = await open_form_from(sender, slack, ZOFIA, organizer_dms(slack)[0], "edit_meeting")
    await sender.submit_view(ZOFIA, form, location="Sala „Łąka”, piętro 2")
    await eventually(lambda: any(s.startswith("Zmienione zaproszenie:") for s in subjects(mailbox)))
    update = next(m for m in mailbox.to(BOB) if "Zmienione" in str(m.message["Subject"]))
    sequence = int(calendar_of(update).walk("VEVENT")[0]["SEQUENCE"])
    for days in (1, 2):
        await propose_and_decline(
            sender, slack, inbound_port, uid, sequence, start + timedelta(days=days)
        )
    await eventually(
        lambda: sum(s.startswith("Nowy termin odrzucony:") for s in subjects(mailbox)) == 2
    )
    await eventually(
        lambda: any(s.startswith("Przypomnienie:") for s in subjects(mailbox)), timeout=20
    )
    form = await open_form_from(sender, slack, ZOFIA, organizer_dms(slack)[0], "cancel_meeting")
    await sender.submit_view(ZOFIA, form, message="Klient przełożył termin.")
    mails = await wait_for_mails(mailbox, BOB, 6)

    assert sorted(next(p for p in KINDS if s.startswith(p)) for s in subjects(mailbox)) == sorted(
        [
            "Zaproszenie:",
            "Zmienione zaproszenie:",
            "Nowy termin odrzucony:",
            "Nowy termin odrzucony:",
            "Przypomnienie:",
            "Odwołane:",
        ]
    )
    event = uid.partition("@")[0]
    root = f"<{event}@meetbot.example>"
    ids = [str(m.message["Message-ID"]) for m in mails]
    assert len(set(ids)) == 6 and root not in ids
    for mail in mails:
        subject = str(mail.message["Subject"])
        kind = KINDS[next(p for p in KINDS if subject.startswith(p))]
        # One thread: every message names the meeting's root as its parent.
        assert mail.message["In-Reply-To"] == mail.message["References"] == root
        automatic = kind in ("reminder", "declinecounter")
        assert mail.message["Auto-Submitted"] == ("auto-generated" if automatic else None)
        assert_encoded_words_fit(mail.raw)
        assert subject.endswith(TITLE) or f"{TITLE}, " in subject
        # A bounce quoting the message's headers still names the event and the guest.
        report_ = read_inbound(bounce_quoting(mail)).bounce
        assert report_ is not None
        [(event_part, _, kind_part, digest)] = report_.message_ids
        assert (event_part, kind_part, digest) == (event, kind, recipient_hash(BOB))
