"""Block Kit builders stay inside Slack's limits whatever people type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.blocks.home import HOME_MAX_PER_GROUP, home_view
from bot.blocks.kit import VIEW_BLOCK_LIMIT, escape
from bot.blocks.messages import member_invitation, organizer_summary
from bot.blocks.notices import decision_notice
from bot.blocks.settings import settings_section
from bot.i18n import Language
from bot.mailboxes import Mailbox, Mailboxes
from bot.meetings.model import Agenda, Answer, Invitee, Meeting, Organizer
from bot.personal import FeedStatus, PersonalSettings
from tests.fakes.slack_api import _check_message_content as refuse_unless_slack_accepts

START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


def crowded_meeting() -> Meeting:
    """Return a meeting with 100 members and 1000 guests with long names and comments."""
    members = [
        Invitee(n, "member", f"U{n:05d}", None, "", Answer.ACCEPTED, "", None) for n in range(100)
    ]
    guests = [
        Invitee(
            1000 + n,
            "guest",
            None,
            f"guest{n}@{'very-long-domain-' * 10}example",
            "Name <with> & marks " * 12,
            list(Answer)[n % 4],
            "A comment that goes on and on " * 30,
            "salt",
        )
        for n in range(1000)
    ]
    return Meeting(
        id=1,
        uid="u@meetbot",
        team_id="T1",
        organizer=Organizer("U0", "Olga Organizer", "olga@acme.example", "Europe/Warsaw"),
        title="T" * 150,
        start=START,
        end=START + timedelta(hours=1),
        location="L" * 500,
        description="Line\n" * 600,
        notify_on_decision=True,
        sequence=0,
        version=0,
        status="confirmed",
        created_at=START,
        attendees=tuple(members + guests),
    )


def test_the_organizer_summary_of_a_crowded_meeting_is_a_message_slack_accepts() -> None:
    meeting = crowded_meeting()

    text, message = organizer_summary(meeting)

    refuse_unless_slack_accepts({"text": text, "blocks": message})
    shown = str(message)
    assert "Guests (1000)" in shown and "…and 940 more" in shown
    assert "Members (100)" in shown and "…and 40 more" in shown
    assert "<with>" not in shown


def test_a_member_invitation_and_a_decision_notice_are_messages_slack_accepts() -> None:
    meeting = crowded_meeting()
    member, guest = meeting.invitees[0], meeting.invitees[150]

    for text, message in (
        member_invitation(meeting, member),
        decision_notice(meeting, guest, Answer.DECLINED, guest.comment * 3),
        decision_notice(meeting, member, Answer.TENTATIVE, ""),
    ):
        refuse_unless_slack_accepts({"text": text, "blocks": message})


def test_a_members_own_answer_is_shown_under_the_buttons() -> None:
    meeting = crowded_meeting()

    _, message = member_invitation(meeting, meeting.invitees[0])

    assert "Your answer: *accepted*" in str(message)
    chosen = [e for b in message if b["type"] == "actions" for e in b["elements"] if "style" in e]
    assert [e["action_id"] for e in chosen] == ["answer_accepted"]


def test_user_text_cannot_mention_everyone_or_fake_a_link() -> None:
    assert escape("<!channel> <https://evil.example|bank> & co") == (
        "&lt;!channel&gt; &lt;https://evil.example|bank&gt; &amp; co"
    )


def test_the_fullest_home_tab_keeps_every_part_within_slacks_100_blocks() -> None:
    meeting = crowded_meeting()
    invitee = meeting.attendees[0]
    agenda = Agenda(organizing=[meeting] * 40, invited=[(meeting, invitee)] * 40)
    mailboxes = Mailboxes([Mailbox("Invitations", "invites@acme.example")])
    settings = settings_section(
        PersonalSettings(), mailboxes, "Olga Organizer", language=Language.PL
    )
    feed = FeedStatus("calendar.example", START, None)

    view = home_view(agenda, HOME_MAX_PER_GROUP, feed, settings, language=Language.PL)

    # Nothing was cut off to fit: the last group's "more" line is the last block.
    assert len(view["blocks"]) < VIEW_BLOCK_LIMIT
    assert view["blocks"][-1]["type"] == "context" and "18" in str(view["blocks"][-1])
    assert sum(b.get("block_id") == "settings" for b in view["blocks"]) == 1
    assert "Twoje ustawienia" in str(view["blocks"])
