"""A guest's note comes with their answer, wherever their calendar program put it."""

from __future__ import annotations

from email.message import EmailMessage

from bot.mail.inbound import read_inbound

CALENDAR = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r
METHOD:REPLY\r
BEGIN:VEVENT\r
UID:abc@meetbot\r
SEQUENCE:0\r
DTSTAMP:20261126T120000Z\r
ATTENDEE;PARTSTAT=DECLINED:mailto:bob@client.example\r
END:VEVENT\r
END:VCALENDAR\r
"""


def reply(text: str, calendar: str = CALENDAR) -> bytes:
    """Return an Outlook-style reply: the guest's words in the text, the answer in the calendar."""
    message = EmailMessage()
    message["From"] = "Bob Client <bob@client.example>"
    message["To"] = "invites@meetbot.example"
    message["Subject"] = "Declined: Design review"
    message.set_content(text)
    message.add_alternative(calendar.encode(), maintype="text", subtype="calendar")
    return message.as_bytes()


def test_a_note_written_only_in_the_reply_text_reaches_the_organizer() -> None:
    mail = read_inbound(
        reply(
            "Sorry, I'm travelling that week.\n"
            "Could we do January?\n"
            "\n"
            "-----Original Message-----\n"
            "From: Olga Organizer via Meet\n"
            "Design review, Tue 14:00\n"
        )
    )
    [answer] = mail.answers
    assert answer.partstat == "DECLINED"
    assert answer.comment == "Sorry, I'm travelling that week. Could we do January?"


def test_the_text_a_calendar_program_writes_itself_is_not_a_note() -> None:
    mail = read_inbound(reply("Bob Client has declined this invitation.\n\n> Design review\n"))
    assert mail.answers[0].comment == ""


def test_a_comment_in_the_calendar_wins_over_the_text() -> None:
    with_comment = CALENDAR.replace("SEQUENCE:0\r\n", "SEQUENCE:0\r\nCOMMENT:On leave\r\n")
    mail = read_inbound(reply("Some words in the body", with_comment))
    assert mail.answers[0].comment == "On leave"


def test_googles_note_on_the_attendee_line_is_read() -> None:
    google = CALENDAR.replace(
        "ATTENDEE;PARTSTAT=DECLINED:",
        'ATTENDEE;PARTSTAT=DECLINED;X-RESPONSE-COMMENT="Conflicts with a flight, sorry":',
    )
    mail = read_inbound(reply("Bob Client has declined this invitation.", google))
    assert mail.answers[0].comment == "Conflicts with a flight, sorry"
