"""Whatever arrives, reading it gives an answer or a clear refusal, never a crash."""

from __future__ import annotations

import base64
import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.mail.inbound import InboundMail, UnreadableMail, read_calendar_answers, read_inbound

HEADERS = st.sampled_from(
    [
        b"From: Bob <bob@client.example>\r\n",
        b"Content-Type: multipart/mixed; boundary=x\r\n",
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=y\r\n",
        b"Content-Type: text/calendar; method=REPLY\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Content-Transfer-Encoding: quoted-printable\r\n",
        b"Auto-Submitted: auto-replied\r\n",
        b"Subject: =?utf-8?b?" + base64.b64encode("Zażółć".encode()) + b"?=\r\n",
    ]
)
CALENDAR_LINES = st.sampled_from(
    [
        b"BEGIN:VCALENDAR",
        b"METHOD:REPLY",
        b"METHOD:COUNTER",
        b"BEGIN:VEVENT",
        b"UID:abc@meetbot",
        b"SEQUENCE:x",
        b"ATTENDEE;PARTSTAT=ACCEPTED:MAILTO:Bob@Client.Example",
        b"ATTENDEE:not-an-address",
        b"DTSTART:20261301T250000Z",
        b"DTSTART;VALUE=DATE:20261201",
        b"COMMENT:hi\\, there",
        b" folded continuation",
        b"END:VEVENT",
        b"END:VCALENDAR",
    ]
)


def _check(result: InboundMail) -> None:
    assert isinstance(result.sender, str)
    for answer in result.answers:
        assert answer.method in ("REPLY", "COUNTER")
        assert "@" in answer.attendee


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_are_read_or_refused(raw: bytes) -> None:
    with contextlib.suppress(UnreadableMail):
        _check(read_inbound(raw))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(HEADERS, max_size=6), st.lists(CALENDAR_LINES, max_size=20), st.binary(max_size=256)
)
def test_broken_mime_and_calendars_never_crash(
    headers: list[bytes], lines: list[bytes], noise: bytes
) -> None:
    body = b"\r\n".join(lines)
    raw = b"".join(headers) + b"\r\n--x\r\nContent-Type: text/calendar\r\n\r\n" + body + noise
    with contextlib.suppress(UnreadableMail):
        _check(read_inbound(raw))
    for answer in read_calendar_answers(body):
        assert answer.uid


@given(st.text(max_size=2000))
def test_any_text_as_a_calendar_gives_answers_or_nothing(text: str) -> None:
    for answer in read_calendar_answers(text.encode("utf-8", "surrogatepass")):
        assert answer.method in ("REPLY", "COUNTER")
