"""What the organizer typed into the form, checked before anything is stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from bot.guests import Guest, GuestListError, parse_guest_list
from bot.i18n import DEFAULT_LANGUAGE, Language, translator
from bot.meetings.recurrence import MAX_COUNT, RepeatRefused, normalize_rule
from bot.meetings.repeat_choice import Repeat, RepeatChoice, rule_for

MAX_TITLE = 150
MAX_LOCATION = 500
MAX_DESCRIPTION = 3000
MAX_MEMBERS = 100
MAX_FILES = 10
# Longer events are not meetings; the cap also keeps availability's time index tight.
MAX_LENGTH = timedelta(hours=24)
# A new meeting lasts this long until the organizer says otherwise.
DEFAULT_LENGTH = timedelta(minutes=30)
REMINDER_CHOICES = (None, 5, 15, 30, 60)
DEFAULT_REMINDER = 15
# A start a few minutes ago is a slow hand on the picker, not a mistake.
PAST_GRACE = timedelta(minutes=5)


@dataclass(frozen=True)
class FileRef:
    """A file the organizer uploaded in the form, still in Slack."""

    slack_file_id: str
    name: str
    mimetype: str
    size: int
    download_url: str


@dataclass(frozen=True)
class MeetingForm:
    """The create or edit form's fields as submitted, before any checking."""

    title: str = ""
    start: datetime | None = None
    end: datetime | None = None
    location: str = ""
    description: str = ""
    member_ids: tuple[str, ...] = ()
    guests_text: str = ""
    notify: bool = False
    remind_guests: bool = False
    reminder_minutes: int | None = DEFAULT_REMINDER
    new_files: tuple[FileRef, ...] = ()
    # On edit, the already attached files still ticked; None on create.
    kept_file_ids: tuple[int, ...] | None = None
    # "Add a video call" ticked or not; None when the form does not offer it.
    video: bool | None = None
    repeat: RepeatChoice = field(default_factory=RepeatChoice)


@dataclass(frozen=True)
class MeetingDraft:
    """A meeting that passed every check and can be created or applied as an edit."""

    title: str
    start: datetime
    end: datetime
    location: str = ""
    description: str = ""
    member_ids: tuple[str, ...] = ()
    guests: tuple[Guest, ...] = ()
    notify: bool = False
    remind_guests: bool = False
    reminder_minutes: int | None = DEFAULT_REMINDER
    new_files: tuple[FileRef, ...] = ()
    kept_file_ids: tuple[int, ...] | None = None
    # A video room wanted (True), not wanted (False), or not asked about (None: keep as is).
    video: bool | None = None
    # How the meeting repeats: a normalised RRULE (bot/meetings/recurrence.py); None: once.
    rrule: str | None = None


@dataclass
class FormErrors:
    """Problems found in a form, keyed by the input block they belong to."""

    by_block: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.by_block)


def check_form(
    form: MeetingForm,
    *,
    organizer_id: str,
    now: datetime,
    editing: bool = False,
    language: Language = DEFAULT_LANGUAGE,
    zone: tzinfo = UTC,
) -> MeetingDraft | FormErrors:
    """Return the draft the form describes, or the errors to show beside its fields.

    `zone` is the organizer's: a series repeats at the same time on their clock.
    """
    t = translator(language)
    errors: dict[str, str] = {}
    title = " ".join(form.title.split())
    if not title:
        errors["title"] = t.gettext("Give the meeting a title.")
    elif len(title) > MAX_TITLE:
        errors["title"] = t.gettext(
            "Keep the title under {limit} characters (it has {count})."
        ).format(limit=MAX_TITLE, count=len(title))
    # A series under way keeps its first start: its later meetings are still to come.
    series_under_way = editing and form.repeat.repeat is not Repeat.NEVER
    if form.start is None:
        errors["start"] = t.gettext("Pick when the meeting starts.")
    elif form.start < now - PAST_GRACE and not series_under_way:
        errors["start"] = t.gettext("That time has already passed; pick a time in the future.")
    if form.end is None:
        errors["end"] = t.gettext("Pick when the meeting ends.")
    elif form.start is not None and form.end <= form.start:
        errors["end"] = t.gettext("The end must be after the start.")
    elif form.start is not None and form.end - form.start > MAX_LENGTH:
        errors["end"] = t.gettext("A meeting can last at most 24 hours.")
    if len(form.location) > MAX_LOCATION:
        errors["location"] = t.gettext("Keep the place under {limit} characters.").format(
            limit=MAX_LOCATION
        )
    if len(form.description) > MAX_DESCRIPTION:
        errors["description"] = t.gettext("Keep the description under {limit} characters.").format(
            limit=MAX_DESCRIPTION
        )
    member_ids = tuple(dict.fromkeys(m for m in form.member_ids if m != organizer_id))
    if len(member_ids) > MAX_MEMBERS:
        errors["members"] = t.gettext("Invite at most {limit} members to one meeting.").format(
            limit=MAX_MEMBERS
        )
    guests: list[Guest] = []
    try:
        guests = parse_guest_list(form.guests_text)
    except GuestListError as error:
        errors["guests"] = error.translated(language)
    if form.reminder_minutes not in REMINDER_CHOICES:
        errors["reminder"] = t.gettext("Choose one of the offered reminders.")
    kept = len(form.kept_file_ids or ())
    if kept + len(form.new_files) > MAX_FILES:
        errors["files"] = t.gettext("Attach at most {limit} files to one meeting.").format(
            limit=MAX_FILES
        )
    rrule: str | None = None
    if form.start is not None and "start" not in errors:
        rrule = _repeat_rule(form.repeat, form.start, zone, language, errors)
    if errors:
        return FormErrors(errors)
    assert form.start is not None and form.end is not None
    return MeetingDraft(
        title=title,
        start=form.start,
        end=form.end,
        location=form.location.strip(),
        description=form.description.strip(),
        member_ids=member_ids,
        guests=tuple(guests),
        notify=form.notify,
        remind_guests=form.remind_guests,
        reminder_minutes=form.reminder_minutes,
        new_files=form.new_files,
        kept_file_ids=form.kept_file_ids if editing else None,
        video=form.video,
        rrule=rrule,
    )


def _repeat_rule(
    choice: RepeatChoice, start: datetime, zone: tzinfo, language: Language, errors: dict[str, str]
) -> str | None:
    """Return the checked RRULE the "Repeats" inputs make, or None, noting any error."""
    t = translator(language)
    if choice.count is not None and not 1 <= choice.count <= MAX_COUNT:
        errors["repeat_count"] = t.gettext("Repeat between 1 and {limit} times.").format(
            limit=MAX_COUNT
        )
        return None
    rule = rule_for(choice, start.astimezone(zone))
    if rule is None:
        return None
    try:
        return normalize_rule(rule, start, zone)
    except RepeatRefused as refused:
        errors[refused.field] = refused.translated(language)
        return None


def default_times(now: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """Return the form's default start (the next half hour, local) and end (30 minutes on)."""
    local = now.astimezone(zone)
    start = local.replace(second=0, microsecond=0) + timedelta(minutes=30 - local.minute % 30)
    return start, start + DEFAULT_LENGTH


def reminder_due(start: datetime, minutes: int | None, now: datetime) -> datetime | None:
    """Return when a meeting's reminder goes out, or None if there is none still to come."""
    if minutes is None:
        return None
    due = start - timedelta(minutes=minutes)
    return due if due > now else None
