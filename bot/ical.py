"""iCalendar invitations (iTIP over e-mail): pure functions from meetings to calendar data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, vCalAddress, vText, vUri
from icalendar.parser import Contentline, Contentlines

from bot.i18n import translator
from bot.ical_series import add_repeats, moved_overrides, on_series_clock, repeats_on_clock
from bot.meetings.model import Answer, AttachedFile, Invitee, Meeting
from bot.video import join_link
from bot.vtimezone import vtimezone

PRODID = "-//Meetbot//Meetbot//EN"
PARTSTAT = {
    Answer.NEEDS_ACTION: "NEEDS-ACTION",
    Answer.ACCEPTED: "ACCEPTED",
    Answer.TENTATIVE: "TENTATIVE",
    Answer.DECLINED: "DECLINED",
}


def meeting_zone(meeting: Meeting) -> ZoneInfo:
    """Return the organizer's time zone, in which the meeting is written down."""
    try:
        return ZoneInfo(meeting.organizer.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _on_clock(moment: datetime, zone: ZoneInfo) -> datetime:
    """Return the moment on the organizer's clock, or in UTC where that clock shows it twice.

    RFC 5545 reads a wall time the autumn change repeats as its first passing and ical.js
    as its second, so only UTC tells every calendar the same moment.
    """
    local = moment.astimezone(zone)
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        return moment.astimezone(UTC)
    return local


def parameter_text(text: str) -> str:
    """Return text for a parameter value (CN, FILENAME) that every calendar shows as written.

    icalendar writes `"` as `^'` and `^` as `^^` (RFC 6868), which Outlook shows literally:
    a double quote becomes a single one, a caret is left out, and the text is one line.
    """
    return " ".join(text.replace('"', "'").replace("^", "").split())


def _address(email: str, name: str, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if parameter_text(name):
        address.params["CN"] = vText(parameter_text(name))
    for key, value in params.items():
        address.params[key] = vText(value)
    return address


def _calendar(
    method: str,
    meeting: Meeting,
    invitee: Invitee | None,
    *,
    organizer_address: str,
    stamp: datetime,
    url: str | None,
    cancelled: bool,
    files: Sequence[tuple[AttachedFile, str]] = (),
) -> Calendar:
    zone = meeting_zone(meeting)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    event = Event()
    event.add("uid", meeting.uid)
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", stamp)
    event.add("created", meeting.created_at)
    clock = on_series_clock if repeats_on_clock(meeting) else _on_clock
    event.add("dtstart", clock(meeting.start, zone))
    event.add("dtend", clock(meeting.end, zone))
    series_last = add_repeats(event, meeting, zone)
    event.add("summary", meeting.title)
    # A room and no place: the room is where it happens (calendars without CONFERENCE show it).
    if meeting.location or meeting.video_url:
        event.add("location", meeting.location or meeting.video_url)
    if (call := join_link(meeting)) is not None:
        event.add("conference", _conference(call, meeting))
    if invitee is not None:  # else GuestCalendars adds each guest's own links
        for name, value in _guest_links(meeting, url, files):
            event.add(name, value)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    # Replies go to the sending mailbox, which reaches Meetbot; CN shows the organizer.
    event.add("organizer", _address(organizer_address, meeting.organizer.name))
    if invitee is not None:
        event.add("attendee", _attendee(invitee, cancelled))
    if any("TZID" in event[name].params for name in ("DTSTART", "DTEND")):
        first, last = (moment.astimezone(zone).date() for moment in (meeting.start, meeting.end))
        calendar.add_component(vtimezone(zone, first, max(last, series_last or last)))
    calendar.add_component(event)
    for override in moved_overrides(event, meeting, zone) if not cancelled else ():
        calendar.add_component(override)
    return calendar


def _attendee(invitee: Invitee, cancelled: bool) -> vCalAddress:
    assert invitee.email is not None
    return _address(
        invitee.email,
        invitee.name,
        CUTYPE="INDIVIDUAL",
        ROLE="REQ-PARTICIPANT",
        PARTSTAT=PARTSTAT[invitee.answer],
        RSVP="FALSE" if cancelled else "TRUE",
    )


def _conference(link: str, meeting: Meeting) -> vUri:
    """Return a CONFERENCE line (RFC 7986): the call's link, for calendars' Join buttons."""
    uri = vUri(link)
    uri.params["VALUE"] = "URI"
    uri.params["FEATURE"] = "VIDEO"
    uri.params["LABEL"] = translator(meeting.language).gettext("Join the video call")
    return uri


def _description(meeting: Meeting, url: str | None) -> str:
    """Return the event's description, its answer link last: Outlook and Google show no URL."""
    paragraphs = [meeting.description] if meeting.description else []
    if meeting.video_url:
        join = translator(meeting.language).gettext("Join the video call: {link}")
        paragraphs.append(join.format(link=meeting.video_url))
    if url:
        answer = translator(meeting.language).gettext("Answer: {link}")
        paragraphs.append(answer.format(link=url))
    return "\n\n".join(paragraphs)


def _attachment(file: AttachedFile, link: str) -> vUri:
    """Return an ATTACH naming a file by its link, with its type, name and size (RFC 8607)."""
    uri = vUri(link)
    uri.params["FMTTYPE"] = file.mimetype or "application/octet-stream"
    if parameter_text(file.name):
        uri.params["FILENAME"] = parameter_text(file.name)
    uri.params["SIZE"] = str(file.size)
    return uri


def _guest_links(
    meeting: Meeting, url: str | None, files: Sequence[tuple[AttachedFile, str]]
) -> list[tuple[str, vText | vUri]]:
    """Return one guest's DESCRIPTION, URL and ATTACH lines: what reaches their own links."""
    lines: list[tuple[str, vText | vUri]] = []
    description = _description(meeting, url)
    if description:
        lines.append(("DESCRIPTION", vText(description)))
    if url:
        lines.append(("URL", vUri(url)))
    lines.extend(("ATTACH", _attachment(file, link)) for file, link in files)
    return lines


def _serialized(lines: Contentlines) -> bytes:
    """Return content lines as icalendar writes them: folded, each ending in CRLF."""
    data: bytes = lines.to_ical()  # type: ignore[no-untyped-call]  # unannotated in icalendar
    return data


# icalendar folds a line after every 74 characters of ASCII (RFC 5545 §3.1: 75 octets at
# most, the continuation's leading space included), and earlier only to keep a `\` or `^`
# escape whole.
FOLD_AT = 74


def folded(line: Contentline) -> bytes:
    """Return one content line folded as icalendar folds it, ending in CRLF.

    A line of ASCII without escapes is cut every 74 characters here, as icalendar's own
    character-by-character folding cuts it; any other line is folded by icalendar.
    """
    if line.isascii() and "\\" not in line and "^" not in line:
        cuts = range(0, len(line), FOLD_AT)
        return "\r\n ".join(line[at : at + FOLD_AT] for at in cuts).encode() + b"\r\n"
    return _serialized(Contentlines([line]))


class GuestCalendars:
    """One meeting's calendar serialized once (VTIMEZONE and all), completed per guest.

    Each guest's copy adds only their own lines, ATTENDEE (guests never see each other's
    addresses), their answer link as URL and at the end of DESCRIPTION, and their links to
    the meeting's files as ATTACH, as content lines icalendar writes, at the end of the
    VEVENT (the order of properties carries no meaning in iCalendar).
    """

    def __init__(
        self,
        method: str,
        meeting: Meeting,
        *,
        organizer_address: str,
        stamp: datetime,
        cancelled: bool = False,
    ) -> None:
        self._cancelled = cancelled
        self._meeting = meeting
        calendar = _calendar(
            method,
            meeting,
            None,
            organizer_address=organizer_address,
            stamp=stamp,
            url=None,
            cancelled=cancelled,
        )
        self._event = calendar.walk("VEVENT")[0]
        lines = calendar.content_lines()
        # A series sends its moved meetings as VEVENTs of their own: each gets the guest's lines.
        ends = [n for n, line in enumerate(lines) if line == "END:VEVENT"]
        cuts = zip([0, *ends], [*ends, len(lines)], strict=True)
        self._pieces = [_serialized(Contentlines(lines[a:b])) for a, b in cuts]

    def to_ical(
        self,
        invitee: Invitee,
        url: str | None = None,
        files: Sequence[tuple[AttachedFile, str]] = (),
    ) -> bytes:
        """Return the calendar as this guest gets it, with their answer link and file links."""
        return self.with_own_lines(self.link_lines(url, files) + self.attendee_line(invitee))

    def with_own_lines(self, own: bytes) -> bytes:
        """Return the calendar with a guest's own lines (links, ATTENDEE) in every event."""
        return own.join(self._pieces)

    def link_lines(
        self, url: str | None = None, files: Sequence[tuple[AttachedFile, str]] = ()
    ) -> bytes:
        """Return a guest's DESCRIPTION, URL and ATTACH lines, folded, each ending in CRLF."""
        return b"".join(
            _serialized(Contentlines([self._event.content_line(name, value)]))
            for name, value in _guest_links(self._meeting, url, files)
        )

    def attendee_line(self, invitee: Invitee) -> bytes:
        """Return a guest's own ATTENDEE line, folded, ending in CRLF."""
        return folded(self._event.content_line("ATTENDEE", _attendee(invitee, self._cancelled)))


def request_calendar(
    meeting: Meeting,
    invitee: Invitee,
    *,
    organizer_address: str,
    stamp: datetime,
    url: str | None = None,
    files: Sequence[tuple[AttachedFile, str]] = (),
) -> Calendar:
    """Return the METHOD:REQUEST calendar inviting one guest (or updating their invitation)."""
    return _calendar(
        "REQUEST",
        meeting,
        invitee,
        organizer_address=organizer_address,
        stamp=stamp,
        url=url,
        cancelled=False,
        files=files,
    )


def cancel_calendar(
    meeting: Meeting, invitee: Invitee, *, organizer_address: str, stamp: datetime
) -> Calendar:
    """Return the METHOD:CANCEL calendar taking the meeting out of one guest's calendar."""
    return _calendar(
        "CANCEL",
        meeting,
        invitee,
        organizer_address=organizer_address,
        stamp=stamp,
        url=None,
        cancelled=True,
    )


def declinecounter_calendar(
    meeting: Meeting,
    invitee: Invitee,
    *,
    organizer_address: str,
    stamp: datetime,
    comment: str,
) -> Calendar:
    """Return the METHOD:DECLINECOUNTER telling a guest their proposed time was not taken."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "DECLINECOUNTER")
    event = Event()
    event.add("uid", meeting.uid)
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", stamp)
    event.add("organizer", _address(organizer_address, meeting.organizer.name))
    assert invitee.email is not None
    event.add("attendee", _address(invitee.email, invitee.name))
    event.add("comment", comment)
    calendar.add_component(event)
    return calendar
