"""Where one outbox entry's delivery goes, as the renders in worker.py receive it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.meetings.model import Meeting
from bot.outbox.queue import ClaimedEntry, PermanentFailure
from bot.outbox.slack_posts import PostTag


def tag_of(entry: ClaimedEntry) -> PostTag:
    """Return the tag Slack posts of an entry carry, to find them again after a crash."""
    return PostTag(entry.redraw_key or str(entry.id), entry.maybe_posted)


@dataclass(frozen=True)
class Target:
    """Where a delivery goes: its workspace, its meeting as it is now, its Slack post tag.

    `entry_id` is the outbox entry's: an e-mail's Message-ID is made from it, so a retry
    of the entry is the same message and every other entry's message a new one.
    """

    team_id: str
    meeting_now: Meeting | None
    tag: PostTag
    entry_id: int

    def meeting(self) -> Meeting:
        """Return the meeting; a delivery that needs one and has none can never be sent."""
        if self.meeting_now is None:
            raise PermanentFailure("this delivery needs a meeting")
        return self.meeting_now
