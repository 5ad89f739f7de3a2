"""Read Meetbot's invitations back as guests' calendar programs do, with parsers not our own.

ical.js is Mozilla's parser (Thunderbird's, and many web calendars'); it runs in node, one
process for a whole batch of invitations. vobject is an independent Python parser that reads
VTIMEZONE rules with dateutil. Each returns the UTC start and end it finds in each invitation.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import pytest
import vobject

ICAL_JS = Path(__file__).resolve().parents[1] / "ical_js"
ICAL_JS_READER = ICAL_JS / "utc_times.mjs"
ICAL_JS_OCCURRENCES = ICAL_JS / "occurrences.mjs"
ENABLE_ICAL_JS = "npm ci --prefix tests/ical_js"
VTIMEZONE_BLOCK = re.compile(r"BEGIN:VTIMEZONE\r\n.*?END:VTIMEZONE\r\n", re.DOTALL)

Span = tuple[datetime, datetime]


def _ical_js_missing() -> str | None:
    if shutil.which("node") is None:
        return (
            "needs node (20 or later) to read invitations with ical.js: "
            f"install it, then `{ENABLE_ICAL_JS}`"
        )
    if not (ICAL_JS / "node_modules" / "ical.js" / "package.json").is_file():
        return f"needs node's ical.js package, which is not installed here: `{ENABLE_ICAL_JS}`"
    return None


ICAL_JS_MISSING = _ical_js_missing()
needs_ical_js = pytest.mark.skipif(ICAL_JS_MISSING is not None, reason=ICAL_JS_MISSING or "")


def _run_ical_js(script: Path, calendars: Sequence[bytes]) -> list[dict[str, object]]:
    """Return what one of our ical.js scripts printed for the calendars (one node process)."""
    node = shutil.which("node")
    assert node is not None, ICAL_JS_MISSING
    finished = subprocess.run(  # noqa: S603 - node on our own script, texts on stdin
        [node, str(script)],
        input=json.dumps([calendar.decode("utf-8") for calendar in calendars]),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=ICAL_JS,
    )
    assert finished.returncode == 0, finished.stderr
    read: list[dict[str, object]] = json.loads(finished.stdout)
    return read


def read_with_ical_js(calendars: Sequence[bytes]) -> list[Span]:
    """Return the UTC start and end ical.js reads in each calendar (one node process for all)."""
    spans = []
    for number, read in enumerate(_run_ical_js(ICAL_JS_READER, calendars)):
        assert "error" not in read, f"ical.js refused calendar {number}: {read['error']}"
        start, end = read["start"], read["end"]
        assert isinstance(start, int | float) and isinstance(end, int | float)
        spans.append((datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)))
    return spans


def series_with_ical_js(calendars: Sequence[bytes]) -> list[list[datetime]]:
    """Return the occurrence starts (UTC) ical.js expands from each calendar's series."""
    found = []
    for number, read in enumerate(_run_ical_js(ICAL_JS_OCCURRENCES, calendars)):
        assert "error" not in read, f"ical.js refused calendar {number}: {read['error']}"
        starts = read["starts"]
        assert isinstance(starts, list)
        found.append([datetime.fromtimestamp(start, UTC) for start in starts])
    return found


def occurrences_with_ical_js(calendars: Sequence[bytes]) -> list[list[tuple[datetime, str, str]]]:
    """Return each calendar's occurrences as ical.js shows them: start (UTC), title, place.

    Overrides (VEVENTs with RECURRENCE-ID) are applied over the occurrences they name.
    """
    found = []
    for number, read in enumerate(_run_ical_js(ICAL_JS_OCCURRENCES, calendars)):
        assert "error" not in read, f"ical.js refused calendar {number}: {read['error']}"
        shown = read["occurrences"]
        assert isinstance(shown, list)
        found.append(
            [
                (datetime.fromtimestamp(o["start"], UTC), str(o["summary"]), str(o["location"]))
                for o in shown
            ]
        )
    return found


def series_with_vobject(calendar: bytes, limit: int = 60) -> list[datetime]:
    """Return the occurrence starts (UTC) vobject expands from a calendar's series."""
    event = next(
        e
        for e in vobject.readOne(calendar.decode("utf-8")).vevent_list
        if "recurrence-id" not in e.contents
    )
    starts = []
    for start in event.getrruleset(addRDate=True):
        starts.append(start.astimezone(UTC))
        if len(starts) >= limit:
            break
    return starts


def read_with_vobject(calendars: Sequence[bytes]) -> list[Span]:
    """Return the UTC start and end vobject reads in each calendar.

    Parsing a VTIMEZONE into dateutil rules is most of vobject's time, so each distinct
    block is read once and given to vobject under its TZID before the rest of each
    calendar that carries it is read.
    """
    zones: dict[str, tuple[str, tzinfo]] = {}
    spans = []
    for calendar in calendars:
        text = calendar.decode("utf-8")
        for block in VTIMEZONE_BLOCK.findall(text):
            if block not in zones:
                read = vobject.readOne(f"BEGIN:VCALENDAR\r\n{block}END:VCALENDAR\r\n").vtimezone
                zones[block] = (read.tzid.value, read.gettzinfo())
            vobject.icalendar.registerTzid(*zones[block])
        event = vobject.readOne(VTIMEZONE_BLOCK.sub("", text)).vevent
        spans.append((event.dtstart.value.astimezone(UTC), event.dtend.value.astimezone(UTC)))
    return spans
