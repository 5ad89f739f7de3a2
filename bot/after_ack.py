"""Work Slack listeners do after their ack, kept from holding up other people's acks.

Bolt answers Slack's HTTP request only when its dispatcher, polling every 10 ms, sees the
listener's `ack()`. A hundred `/meet` at once each ack, then look people up and open a
form on the same event loop: the dispatchers' polls wait behind that work, and the acks
with them. So a listener's work after its ack waits until no Slack request is waiting for
its answer (at most `longest_wait`, so a form still opens while its trigger lives), and
only a few listeners work at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

# A few at once keep database and Slack calls overlapping without crowding the loop.
AT_ONCE = 16
# Slack's trigger to open a form lives 3 s; the form must still be opened within it.
LONGEST_WAIT_SECONDS = 0.5


class AfterAck:
    """Counts Slack requests not yet answered; hands out turns for work after an ack."""

    def __init__(self, at_once: int = AT_ONCE, longest_wait: float = LONGEST_WAIT_SECONDS) -> None:
        self._longest_wait = longest_wait
        self._unanswered = 0
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._turns = asyncio.Semaphore(at_once)

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Mark one Slack request as waiting for its HTTP answer while the block runs."""
        self._unanswered += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self._unanswered -= 1
            if self._unanswered == 0:
                self._quiet.set()

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait until the acks on their way have left (or a short while), then take a turn."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._quiet.wait(), self._longest_wait)
        async with self._turns:
            yield
