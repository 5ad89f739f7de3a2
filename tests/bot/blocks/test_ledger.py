"""The Guests view keeps inside Slack's limits at the guest cap, trouble first, paged."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.blocks.ledger import GUESTS_PER_PAGE, delivery_line, guests_view
from bot.i18n import Language
from bot.ledger import GuestLedger, SentMessage, Stage, sum_up
from bot.meetings.model import Answer
from tests.bot.blocks.slack_rules import foreign_markup, refuse_unless_slack_accepts_view
from tests.bot.blocks.test_crowded_meeting import crowded_meeting

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STAGES = [Stage.ACCEPTED, Stage.DELAYED, Stage.BOUNCED, Stage.QUEUED, Stage.RETRYING]


def crowd(count: int = 500) -> list[GuestLedger]:
    """Return the ledgers of a full meeting: long names, long reasons, six e-mails each."""
    meeting = crowded_meeting()
    ledgers = []
    for n, guest in enumerate(meeting.guests[:count]):
        guest = replace(guest, answer=Answer.NEEDS_ACTION if n % 3 else Answer.ACCEPTED)
        messages = tuple(
            SentMessage(
                n * 10 + k,
                "guest_invitation",
                STAGES[(n + k) % len(STAGES)],
                AT,
                queue_id="4F2A1<@U123>",
                reason="550 5.1.1 <!channel> see https://evil.example " * 20,
                update=k > 0,
            )
            for k in range(6)
        )
        ledgers.append(GuestLedger(guest, messages))
    return ledgers


def test_every_page_of_a_500_guest_meeting_is_a_view_slack_accepts() -> None:
    meeting, ledgers = crowded_meeting(), crowd()
    pages = len(ledgers) // GUESTS_PER_PAGE
    for page in (0, 1, pages - 1):
        for language in Language:
            view = guests_view(meeting, ledgers, page, language=language, note="Sent again.")
            refuse_unless_slack_accepts_view(view, "modal")
            assert foreign_markup(view["blocks"]) == []
    last = guests_view(meeting, ledgers, pages - 1)
    assert "Guests 481–500 of 500" in str(last["blocks"])
    assert "Next" not in str(last["blocks"][-1]) and "Previous" in str(last["blocks"][-1])
    assert "2 earlier messages" in str(last["blocks"])


def test_guests_in_trouble_come_first_and_those_who_answered_last() -> None:
    meeting, ledgers = crowded_meeting(), crowd(15)
    view = guests_view(meeting, ledgers)
    blocks = view["blocks"]
    guests = [
        blocks[i - 1]["text"]["text"]
        for i, b in enumerate(blocks)
        if b.get("block_id", "").startswith("guest_")
    ]
    assert ":warning: Update" in guests[0].split("\n")[-1]  # the latest e-mail bounced
    assert "no answer yet" in guests[0]
    assert ":white_check_mark: accepted" in guests[-1].split("\n")[0]


def test_the_sum_reads_as_the_organizer_expects() -> None:
    total = sum_up(crowd(20))
    line = delivery_line(total)
    assert line == (
        f":incoming_envelope: {total.delivered} delivered, {total.queued} queued, "
        f"{total.delayed} delayed, {total.bounced} bounced, {total.answered} answered"
    )
    assert total.delivered + total.queued + total.delayed + total.bounced == 20
