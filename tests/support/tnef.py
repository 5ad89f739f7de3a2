"""Outlook's winmail.dat (TNEF) meeting answers, written as [MS-OXTNEF] lays them out.

Outlook answers in TNEF when it takes the organizer for another Outlook user. No library
writes TNEF, so this writes the few attributes an answer carries; tnefparse, which Meetbot
reads them with, is the independent reader that proves the layout.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from email.message import EmailMessage
from uuid import UUID

SIGNATURE = 0x223E9F78
LEVEL_MESSAGE = 1
LEVEL_ATTACHMENT = 2
# Attribute ids and types ([MS-OXTNEF] 2.1.3.3).
TNEF_VERSION, OEM_CODEPAGE, MESSAGE_CLASS, MSG_PROPS = 0x9006, 0x9007, 0x8008, 0x9003
ATTACH_RENDDATA, ATTACH_TITLE, ATTACH_DATA = 0x9002, 0x8010, 0x800F
TYPE_BYTE, TYPE_WORD, TYPE_DWORD, TYPE_STRING = 0x0006, 0x0007, 0x0008, 0x0001
# MAPI property types.
PT_LONG, PT_BOOLEAN, PT_SYSTIME, PT_BINARY, PT_STRING8 = 0x0003, 0x000B, 0x0040, 0x0102, 0x001E
PSETID_MEETING = UUID("6ed8da90-450b-101b-98da-00aa003f1305")
PSETID_APPOINTMENT = UUID("00062002-0000-0000-c000-000000000046")
GLOBAL_ID_PREFIX = bytes.fromhex("040000008200E00074C5B7101A82E008")
FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
CLASSES = {
    "ACCEPTED": "IPM.Schedule.Meeting.Resp.Pos",
    "TENTATIVE": "IPM.Schedule.Meeting.Resp.Tent",
    "DECLINED": "IPM.Schedule.Meeting.Resp.Neg",
}
LEGACY = {
    "ACCEPTED": "IPM.Microsoft Schedule.MtgRespP",
    "TENTATIVE": "IPM.Microsoft Schedule.MtgRespA",
    "DECLINED": "IPM.Microsoft Schedule.MtgRespN",
}


def attribute(level: int, name: int, kind: int, data: bytes) -> bytes:
    """Return one TNEF attribute: level, id, type, length, data, checksum."""
    return (
        struct.pack("<BHHI", level, name, kind, len(data))
        + data
        + struct.pack("<H", sum(data) & 0xFFFF)
    )


def _padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


def named(guid: UUID, lid: int, kind: int, value: bytes) -> bytes:
    """Return one named MAPI property (its tag, property set, long id) and its value."""
    return struct.pack("<HH", kind, 0x8000) + guid.bytes_le + struct.pack("<II", 0, lid) + value


def tagged(tag: int, kind: int, value: bytes) -> bytes:
    """Return one MAPI property with a fixed tag, and its value."""
    return struct.pack("<HH", kind, tag) + value


def binary(data: bytes) -> bytes:
    """Return a PT_BINARY value: one value, its length, the bytes padded to four."""
    return struct.pack("<II", 1, len(data)) + _padded(data)


def filetime(moment: datetime) -> bytes:
    """Return a PT_SYSTIME value: 100 ns ticks since 1601, UTC."""
    delta = moment.astimezone(UTC) - FILETIME_EPOCH
    ticks = (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10
    return struct.pack("<Q", ticks)


def global_object_id(uid: str, occurrence: datetime | None = None) -> bytes:
    """Return the GlobalObjectId Outlook keeps for a meeting it got as iCalendar UID `uid`."""
    data = b"vCal-Uid\x01\x00\x00\x00" + uid.encode() + b"\x00"
    date = (
        struct.pack(">HBB", occurrence.year, occurrence.month, occurrence.day)
        if occurrence is not None
        else bytes(4)
    )
    created = filetime(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    return GLOBAL_ID_PREFIX + date + created + bytes(8) + struct.pack("<I", len(data)) + data


def meeting_answer(
    uid: str,
    partstat: str = "ACCEPTED",
    *,
    sequence: int = 0,
    legacy_class: bool = False,
    occurrence: datetime | None = None,
    proposed: tuple[datetime, datetime] | None = None,
    note: str = "",
) -> bytes:
    """Return the winmail.dat Outlook sends when a guest answers an invitation."""
    props = [
        tagged(0x001A, PT_STRING8, binary(CLASSES[partstat].encode() + b"\x00")),
        named(PSETID_MEETING, 0x0003, PT_BINARY, binary(global_object_id(uid, occurrence))),
        named(PSETID_APPOINTMENT, 0x8201, PT_LONG, struct.pack("<i", sequence)),
    ]
    if occurrence is not None:
        props.append(named(PSETID_APPOINTMENT, 0x8228, PT_SYSTIME, filetime(occurrence)))
    if proposed is not None:
        props += [
            named(PSETID_APPOINTMENT, 0x8257, PT_BOOLEAN, struct.pack("<HH", 1, 0)),
            named(PSETID_APPOINTMENT, 0x8250, PT_SYSTIME, filetime(proposed[0])),
            named(PSETID_APPOINTMENT, 0x8251, PT_SYSTIME, filetime(proposed[1])),
        ]
    if note:
        props.append(tagged(0x1000, PT_STRING8, binary(note.encode("cp1252") + b"\x00")))
    message_class = (LEGACY if legacy_class else CLASSES)[partstat]
    return (
        struct.pack("<IH", SIGNATURE, 0x0A01)
        + attribute(LEVEL_MESSAGE, TNEF_VERSION, TYPE_DWORD, struct.pack("<I", 0x00010000))
        + attribute(LEVEL_MESSAGE, OEM_CODEPAGE, TYPE_BYTE, struct.pack("<II", 1252, 0))
        + attribute(LEVEL_MESSAGE, MESSAGE_CLASS, TYPE_WORD, message_class.encode() + b"\x00")
        + attribute(
            LEVEL_MESSAGE, MSG_PROPS, TYPE_BYTE, struct.pack("<I", len(props)) + b"".join(props)
        )
    )


def file_only(name: str = "notes.txt", data: bytes = b"minutes") -> bytes:
    """Return a winmail.dat carrying a plain note with one file: no meeting answer."""
    return (
        struct.pack("<IH", SIGNATURE, 0x0A01)
        + attribute(LEVEL_MESSAGE, TNEF_VERSION, TYPE_DWORD, struct.pack("<I", 0x00010000))
        + attribute(LEVEL_MESSAGE, OEM_CODEPAGE, TYPE_BYTE, struct.pack("<II", 1252, 0))
        + attribute(LEVEL_MESSAGE, MESSAGE_CLASS, TYPE_WORD, b"IPM.Microsoft Mail.Note\x00")
        + attribute(LEVEL_ATTACHMENT, ATTACH_RENDDATA, TYPE_BYTE, bytes(14))
        + attribute(LEVEL_ATTACHMENT, ATTACH_TITLE, TYPE_STRING, name.encode() + b"\x00")
        + attribute(LEVEL_ATTACHMENT, ATTACH_DATA, TYPE_BYTE, data)
    )


def property_bomb() -> bytes:
    """Return a winmail.dat whose property list declares four billion properties."""
    props = struct.pack("<I", 0xFFFFFFFF) + tagged(0x0E08, PT_LONG, struct.pack("<i", 1))
    return (
        struct.pack("<IH", SIGNATURE, 0x0A01)
        + attribute(LEVEL_MESSAGE, OEM_CODEPAGE, TYPE_BYTE, struct.pack("<II", 1252, 0))
        + attribute(LEVEL_MESSAGE, MSG_PROPS, TYPE_BYTE, props)
    )


def outlook_reply(
    tnef: bytes, *, sender: str, to: str, subject: str, text: str = ""
) -> EmailMessage:
    """Return the e-mail Outlook sends around a winmail.dat: a text part and the attachment."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["X-MS-TNEF-Correlator"] = "<00000000C0FFEE@client.example>"
    message.set_content(text)
    message.add_attachment(tnef, maintype="application", subtype="ms-tnef", filename="winmail.dat")
    return message
