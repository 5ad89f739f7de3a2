"""Work after an ack waits for the acks on their way, and a few listeners work at once."""

from __future__ import annotations

import asyncio

from bot.after_ack import AfterAck


async def test_work_after_an_ack_starts_once_every_waiting_request_is_answered() -> None:
    after_ack = AfterAck(at_once=4, longest_wait=5.0)
    started: list[str] = []

    async def work(name: str) -> None:
        async with after_ack.turn():
            started.append(name)

    with after_ack.answering(), after_ack.answering():
        first = asyncio.create_task(work("first"))
        for _ in range(5):
            await asyncio.sleep(0)
        assert started == []
    await first
    assert started == ["first"]


async def test_work_waits_only_briefly_while_requests_keep_coming() -> None:
    after_ack = AfterAck(at_once=1, longest_wait=0.01)
    inside = asyncio.Event()
    leave = asyncio.Event()
    done: list[str] = []

    async def work(name: str) -> None:
        async with after_ack.turn():
            inside.set()
            await leave.wait()
            done.append(name)

    with after_ack.answering():
        # Requests still unanswered: the trigger to open a form must not expire meanwhile.
        first = asyncio.create_task(work("first"))
        await asyncio.wait_for(inside.wait(), 1)
        second = asyncio.create_task(work("second"))
        for _ in range(5):
            await asyncio.sleep(0)
        assert done == []  # one turn at a time: the second waits for the first
        leave.set()
        await asyncio.gather(first, second)
    assert done == ["first", "second"]
