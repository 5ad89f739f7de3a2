"""A real SMTP server on loopback (aiosmtpd) that keeps every message it accepts."""

from __future__ import annotations

import asyncio
import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.network import free_port


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the server accepted it."""

    envelope_from: str
    recipients: tuple[str, ...]
    message: EmailMessage
    # The bytes as they came over the wire, for what parsing would smooth over (folding).
    raw: bytes = b""
    # The queue id the server named in its answer ("250 2.0.0 Ok: queued as Q1A").
    queue_id: str = ""


class _Collector:
    def __init__(self) -> None:
        self.received: list[ReceivedMail] = []
        self.refused: set[str] = set()
        # Messages taken in but not yet answered with 250: the sender cannot know they arrived.
        self.answer_at_once = -1  # how many more to answer without holding; -1: all
        self.held = 0
        # Seconds each message takes to be queued, as a busy real server's do.
        self.seconds_per_message = 0.0
        self._release: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None

    def release_held(self) -> None:
        """Answer every held message now (called from the test's thread)."""
        self.answer_at_once = -1
        if self._release is not None:
            loop, release = self._release
            self._release = None
            loop.call_soon_threadsafe(release.set)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.lower() in self.refused:
            return "550 5.1.1 User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        queue_id = f"Q{len(self.received) + 1:X}A"
        self.received.append(
            ReceivedMail(str(envelope.mail_from), tuple(envelope.rcpt_tos), parsed, raw, queue_id)
        )
        if self.answer_at_once == 0:
            # Like a server that queued the message but is slow to say so: it is delivered
            # whether or not the sender lives to read the answer.
            if self._release is None:
                self._release = (asyncio.get_running_loop(), asyncio.Event())
            release = self._release[1]
            self.held += 1
            try:
                await release.wait()
            finally:
                self.held -= 1
        elif self.answer_at_once > 0:
            self.answer_at_once -= 1
        if self.seconds_per_message:
            await asyncio.sleep(self.seconds_per_message)
        # As Postfix answers: the queue id lets a message be traced in the server's logs.
        return f"250 2.0.0 Ok: queued as {queue_id}"


class Mailbox:
    """Start an SMTP server; tests read what it received."""

    def __init__(self, port: int | None = None) -> None:
        self._collector = _Collector()
        self.port = port or free_port()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        """Return the MEETBOT_SMTP_URL that reaches this server."""
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start listening (again, after a stop: the same port, as a restarted server)."""
        self._controller = Controller(self._collector, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        """Stop listening, as a server that went down."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def refuse(self, address: str) -> None:
        """Answer 550 User unknown to mail for this address, as a real server would."""
        self._collector.refused.add(address.lower())

    def take_each_message(self, seconds: float) -> None:
        """Take `seconds` to queue each message from now on, as a busy real server does."""
        self._collector.seconds_per_message = seconds

    def hold_answers_after(self, count: int) -> None:
        """Answer `count` more messages at once, then keep each sender waiting for its 250."""
        self._collector.answer_at_once = count

    def answer_all(self) -> None:
        """Answer held and later messages at once again."""
        self._collector.release_held()

    @property
    def held(self) -> int:
        """Return how many messages are taken in but not yet answered."""
        return self._collector.held

    async def wait_until_held(self, timeout: float = 20.0) -> None:  # noqa: ASYNC109
        """Wait until a sender is kept waiting for the answer to a message it sent."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not self._collector.held:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"no message was held within {timeout} s; "
                    f"{len(self._collector.received)} received"
                )
            await asyncio.sleep(0.01)

    @property
    def received(self) -> list[ReceivedMail]:
        """Return every message received so far."""
        return list(self._collector.received)

    def to(self, address: str) -> list[ReceivedMail]:
        """Return the messages delivered to one address."""
        return [
            m
            for m in self._collector.received
            if address.lower() in (r.lower() for r in m.recipients)
        ]

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:  # noqa: ASYNC109
        """Wait until at least `count` messages arrived, and return them all."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self._collector.received) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"expected {count} e-mails, got {len(self._collector.received)}"
                )
            await asyncio.sleep(0.02)
        return self.received


def calendar_part(message: EmailMessage) -> Any:
    """Return the inline text/calendar part of an invitation."""
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            return part
    raise AssertionError("no text/calendar part")
