"""What a checked create form leads to: refused, the mailbox question, or a saved meeting."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.deliveries import GuestInvitation
from bot.guests import Guest
from bot.i18n import Language
from bot.meetings.submissions import Accepted, NeedsMailbox, Refused
from tests.bot.meetings.services import (
    CAROL,
    DAN,
    OLGA,
    MeetingServices,
    build_services,
    draft,
    guest_in,
)
from tests.conftest import ORGANIZER, TEAM_ID


async def test_a_form_over_the_monthly_guest_allowance_is_refused_beside_the_guests(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    services = build_services(sessions, guest_cap=3)
    await services.meetings.create(TEAM_ID, OLGA, draft(guests=(CAROL,)))

    submission = await services.submissions.submit(
        TEAM_ID, OLGA, Language.EN, draft(guests=(CAROL, DAN, Guest("erin@client.example")))
    )

    assert isinstance(submission, Refused)
    assert (submission.error.remaining, submission.error.asked) == (2, 3)
    assert submission.error.field == "guests"
    assert await services.meetings.guest_invites_left(TEAM_ID) == 2


async def test_an_organizers_first_guests_ask_which_mailbox_they_hear_from(
    services: MeetingServices,
) -> None:
    submission = await services.submissions.submit(TEAM_ID, OLGA, Language.EN, draft())

    assert submission == NeedsMailbox(guests=2)


async def test_a_meeting_without_guests_is_saved_without_the_mailbox_question(
    services: MeetingServices,
) -> None:
    members_only = draft(guests=())

    submission = await services.submissions.submit(TEAM_ID, OLGA, Language.PL, members_only)

    assert submission == Accepted(
        TEAM_ID, OLGA, members_only, "invites@meetbot.example", Language.PL
    )


async def test_guests_hear_from_the_chosen_mailbox_in_the_language_the_organizer_set(
    services: MeetingServices,
) -> None:
    assert await services.submissions.choose_mailbox(TEAM_ID, ORGANIZER, "Sales@ACME.example")
    in_own_language = await services.submissions.submit(TEAM_ID, OLGA, Language.PL, draft())
    settings = await services.preferences.get(TEAM_ID, ORGANIZER)
    await services.preferences.save(TEAM_ID, ORGANIZER, replace(settings, guest_language="en"))

    submission = await services.submissions.submit(TEAM_ID, OLGA, Language.PL, draft())

    assert in_own_language == Accepted(TEAM_ID, OLGA, draft(), "sales@acme.example", Language.PL)
    assert submission == Accepted(TEAM_ID, OLGA, draft(), "sales@acme.example", Language.EN)
    assert isinstance(submission, Accepted)
    meeting = await services.submissions.create(submission, source_view="V0FORM")
    again = await services.submissions.create(submission, source_view="V0FORM")
    assert (meeting.mailbox, meeting.language, again.id) == (
        "sales@acme.example",
        Language.EN,
        meeting.id,
    )
    queued = await services.outbox.new()
    assert queued[GuestInvitation(meeting.id, guest_in(meeting, CAROL).id, sequence=0)] == 1


async def test_a_mailbox_that_is_not_offered_is_not_kept_and_the_question_returns(
    services: MeetingServices,
) -> None:
    chosen = await services.submissions.choose_mailbox(TEAM_ID, ORGANIZER, "ceo@acme.example")
    unconfirmed = await services.preferences.get(TEAM_ID, ORGANIZER)
    # A mailbox the organizer once confirmed that the admin has since taken away.
    await services.preferences.confirm_mailbox(TEAM_ID, ORGANIZER, "old-sales@acme.example")

    submission = await services.submissions.submit(TEAM_ID, OLGA, Language.EN, draft())

    assert (chosen, unconfirmed.mailbox) == (False, None)
    assert submission == NeedsMailbox(guests=2)
