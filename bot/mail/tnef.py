"""Outlook's winmail.dat (TNEF) meeting answers, read in a child process with a budget.

Outlook answers an invitation with a TNEF attachment instead of an iCalendar part when it
takes the organizer for another Outlook user. The answer is in the stream's MAPI
properties: the message class says accepted, tentative or declined; the meeting's
GlobalObjectId carries our UID ("vCal-Uid" form, [MS-OXOCAL] 2.2.1.27) and, for one
occurrence of a series, its original date; a counter-proposal carries the proposed times.

tnefparse reads the stream, and its loops trust the counts written in it: a few bytes can
declare four billion properties. So it runs in a child process (`python -m bot.mail.tnef`)
with its CPU time and memory capped, killed when its time is up, like calendar feeds.
"""

from __future__ import annotations

import json
import logging
import struct
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from bot.child_process import child_environment, limit_this_process

# A meeting answer is a few kilobytes; a winmail.dat carrying files is no answer to read.
MAX_TNEF_BYTES = 1024 * 1024
SECONDS = 5
CPU_SECONDS = 3
MEMORY_LIMIT = 512 * 1024 * 1024
EXIT_UNREADABLE = 4

PSETID_MEETING = UUID("6ed8da90-450b-101b-98da-00aa003f1305")
PSETID_APPOINTMENT = UUID("00062002-0000-0000-c000-000000000046")
# Named properties ([MS-OXPROPS]): (property set, long ID).
GLOBAL_OBJECT_ID = (PSETID_MEETING, 0x0003)
CLEAN_GLOBAL_OBJECT_ID = (PSETID_MEETING, 0x0023)
APPOINTMENT_SEQUENCE = (PSETID_APPOINTMENT, 0x8201)
EXCEPTION_REPLACE_TIME = (PSETID_APPOINTMENT, 0x8228)
PROPOSED_START = (PSETID_APPOINTMENT, 0x8250)
PROPOSED_END = (PSETID_APPOINTMENT, 0x8251)
COUNTER_PROPOSAL = (PSETID_APPOINTMENT, 0x8257)
MESSAGE_CLASS_TAG = 0x001A
ATT_MESSAGE_CLASS = 0x8008

GLOBAL_ID_PREFIX = bytes.fromhex("040000008200E00074C5B7101A82E008")
GLOBAL_ID_HEADER = 40
THIRD_PARTY_UID = b"vCal-Uid\x01\x00\x00\x00"
ANSWERS = {
    "IPM.Schedule.Meeting.Resp.Pos": "ACCEPTED",
    "IPM.Schedule.Meeting.Resp.Tent": "TENTATIVE",
    "IPM.Schedule.Meeting.Resp.Neg": "DECLINED",
}
# attMessageClass may carry the old names ([MS-OXTNEF] 2.1.3.3.5).
LEGACY_CLASSES = {
    "IPM.Microsoft Schedule.MtgRespP": "IPM.Schedule.Meeting.Resp.Pos",
    "IPM.Microsoft Schedule.MtgRespA": "IPM.Schedule.Meeting.Resp.Tent",
    "IPM.Microsoft Schedule.MtgRespN": "IPM.Schedule.Meeting.Resp.Neg",
}
FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


class UnreadableTnef(ValueError):
    """The bytes are no TNEF meeting answer Meetbot can read, or took too long to read."""


@dataclass(frozen=True)
class TnefAnswer:
    """One Outlook answer to one of our meetings, as its winmail.dat says it."""

    partstat: str
    uid: str
    sequence: int
    # The occurrence of a series answered; None: the whole series (or a single meeting).
    recurrence_id: datetime | None = None
    counter: bool = False
    proposed_start: datetime | None = None
    proposed_end: datetime | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """Return the answer as the child writes it for its parent."""
        return {
            "partstat": self.partstat,
            "uid": self.uid,
            "sequence": self.sequence,
            "recurrence_id": _iso(self.recurrence_id),
            "counter": self.counter,
            "proposed_start": _iso(self.proposed_start),
            "proposed_end": _iso(self.proposed_end),
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TnefAnswer:
        """Return the answer the child wrote; raises on anything not in its shape."""
        return cls(
            partstat=str(data["partstat"]),
            uid=str(data["uid"]),
            sequence=int(data["sequence"]),
            recurrence_id=_moment(data["recurrence_id"]),
            counter=bool(data["counter"]),
            proposed_start=_moment(data["proposed_start"]),
            proposed_end=_moment(data["proposed_end"]),
            note=str(data["note"]),
        )


def read_tnef_answer(data: bytes) -> TnefAnswer | None:
    """Return the meeting answer in a TNEF stream, or None when it holds none.

    Trusts tnefparse with the whole stream: call it only in the child (read_tnef_answer_apart).
    """
    from tnefparse import TNEF

    tnef = TNEF(data, do_checksum=False)
    named: dict[tuple[UUID, int], Any] = {}
    message_class = ""
    for prop in tnef.mapiprops:
        if prop.guid_prop is not None and isinstance(prop.guid, UUID):
            named.setdefault((prop.guid, prop.guid_prop), prop)
        elif prop.name == MESSAGE_CLASS_TAG:
            message_class = str(prop.data)
    for attribute in tnef.msgprops:
        if attribute.name == ATT_MESSAGE_CLASS and not message_class:
            message_class = str(attribute.data)
    message_class = LEGACY_CLASSES.get(message_class.strip(), message_class.strip())
    partstat = ANSWERS.get(message_class)
    global_id = _binary(named.get(GLOBAL_OBJECT_ID)) or _binary(named.get(CLEAN_GLOBAL_OBJECT_ID))
    if partstat is None or global_id is None:
        return None
    uid, instance_date = _uid(global_id)
    recurrence_id = None
    if instance_date is not None:
        # One occurrence: its original start, which the answer must name to be recorded.
        recurrence_id = _time(named.get(EXCEPTION_REPLACE_TIME))
        if recurrence_id is None:
            raise UnreadableTnef("an answer to one meeting of a series without its time")
    counter = _flag(named.get(COUNTER_PROPOSAL))
    return TnefAnswer(
        partstat=partstat,
        uid=uid,
        sequence=_number(named.get(APPOINTMENT_SEQUENCE)),
        recurrence_id=recurrence_id,
        counter=counter,
        proposed_start=_time(named.get(PROPOSED_START)) if counter else None,
        proposed_end=_time(named.get(PROPOSED_END)) if counter else None,
        note=_text(tnef.body),
    )


def read_tnef_answer_apart(data: bytes, *, seconds: float = SECONDS) -> TnefAnswer | None:
    """Return read_tnef_answer worked out in a child process, which is killed after `seconds`.

    Blocking: call it off the event loop (inbound mail is read in worker threads).
    """
    if len(data) > MAX_TNEF_BYTES:
        raise UnreadableTnef(f"a winmail.dat of {len(data)} bytes is no meeting answer")
    try:
        child = subprocess.run(  # noqa: S603 (our own module, run by this Python)
            [sys.executable, "-m", "bot.mail.tnef", str(CPU_SECONDS)],
            input=data,
            capture_output=True,
            timeout=seconds,
            env=child_environment(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UnreadableTnef(f"the winmail.dat was not read within {seconds:g} s") from None
    if child.returncode < 0:
        # Killed by a signal: over its CPU time (SIGXCPU) or out of memory.
        raise UnreadableTnef("the winmail.dat reader went over its time or memory budget")
    if child.returncode != 0:
        said = child.stderr.decode(errors="replace").strip()[-300:]
        raise UnreadableTnef(f"the winmail.dat could not be read ({child.returncode}): {said}")
    found = json.loads(child.stdout)
    return None if found is None else TnefAnswer.from_json(found)


def _binary(prop: Any) -> bytes | None:
    # tnefparse's .data strips trailing zero bytes, which a GlobalObjectId may end with.
    raw = getattr(prop, "raw_data", None)
    if isinstance(raw, list) and raw and isinstance(raw[0], bytes):
        return raw[0]
    return None


def _uid(global_id: bytes) -> tuple[str, tuple[int, int, int] | None]:
    """Return the iCalendar UID in a GlobalObjectId and the occurrence date it names, if any."""
    if len(global_id) < GLOBAL_ID_HEADER or not global_id.startswith(GLOBAL_ID_PREFIX):
        raise UnreadableTnef("the meeting's GlobalObjectId is not one")
    year = struct.unpack_from(">H", global_id, 16)[0]
    month, day = global_id[18], global_id[19]
    size = struct.unpack_from("<I", global_id, 36)[0]
    object_data = global_id[GLOBAL_ID_HEADER : GLOBAL_ID_HEADER + size]
    if object_data.startswith(THIRD_PARTY_UID):
        uid = object_data[len(THIRD_PARTY_UID) :].rstrip(b"\x00").decode("utf-8", "replace")
    else:
        # Outlook's own meetings: the UID is the GlobalObjectId in hex, the date zeroed.
        series_id = global_id[:16] + bytes(4) + global_id[20:]
        uid = series_id.hex().upper()
    return uid, ((year, month, day) if year or month or day else None)


def _time(prop: Any) -> datetime | None:
    raw = getattr(prop, "raw_data", None)
    if not isinstance(raw, bytes) or len(raw) != 8:
        return None
    ticks = struct.unpack("<Q", raw)[0]
    try:
        return FILETIME_EPOCH + timedelta(microseconds=ticks // 10)
    except OverflowError:
        raise UnreadableTnef("a time out of any range") from None


def _number(prop: Any) -> int:
    raw = getattr(prop, "raw_data", None)
    return struct.unpack("<i", raw)[0] if isinstance(raw, bytes) and len(raw) == 4 else 0


def _flag(prop: Any) -> bool:
    raw = getattr(prop, "raw_data", None)
    return isinstance(raw, bytes) and len(raw) >= 2 and struct.unpack_from("<H", raw)[0] != 0


def _text(body: Any) -> str:
    if isinstance(body, bytes):
        body = body.decode("cp1252", "replace")
    return body.rstrip("\x00") if isinstance(body, str) else ""


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _moment(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None


def main(arguments: list[str]) -> int:
    """Read a TNEF stream on stdin, write its meeting answer (or null) as JSON on stdout."""
    limit_this_process(int(arguments[0]), MEMORY_LIMIT)
    # tnefparse logs a line per property it skips, and a stream can declare billions.
    logging.disable(logging.CRITICAL)
    try:
        answer = read_tnef_answer(sys.stdin.buffer.read())
    except Exception as error:  # anything in a stranger's stream means we cannot read it
        print(f"{type(error).__name__}: {error}"[:300], file=sys.stderr)
        return EXIT_UNREADABLE
    json.dump(None if answer is None else answer.to_json(), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
