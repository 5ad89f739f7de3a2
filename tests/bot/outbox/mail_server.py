"""A real SMTP server on loopback (aiosmtpd) that refuses chosen recipients, for good or for now."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.mailbox import ReceivedMail
from tests.support.network import free_port


class _Recipients:
    """Answer RCPT TO as told per address; keep every message accepted."""

    def __init__(self) -> None:
        self.replies: dict[str, str] = {}
        self.asked_for: list[str] = []
        self.received: list[ReceivedMail] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.asked_for.append(address.lower())
        reply = self.replies.get(address.lower())
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        parsed = email.message_from_bytes(
            envelope.original_content or b"", policy=email.policy.default
        )
        assert isinstance(parsed, EmailMessage)
        self.received.append(
            ReceivedMail(str(envelope.mail_from), tuple(envelope.rcpt_tos), parsed)
        )
        return "250 OK"


class MailServer:
    """An SMTP server a test tells whom to refuse, and with which reply."""

    def __init__(self) -> None:
        self._recipients = _Recipients()
        self.port = free_port()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        """Return the MEETBOT_SMTP_URL that reaches this server."""
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start listening (again after a stop, on the same port)."""
        self._controller = Controller(self._recipients, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        """Stop listening, as a server that is down."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def refuse(self, address: str, reply: str) -> None:
        """Answer RCPT TO for this address with `reply`, e.g. `550 5.1.1 User unknown`."""
        self._recipients.replies[address.lower()] = reply

    def accept(self, address: str) -> None:
        """Take mail for this address again."""
        self._recipients.replies.pop(address.lower(), None)

    def times_asked_for(self, address: str) -> int:
        """Return how many times a sender asked to deliver to this address."""
        return self._recipients.asked_for.count(address.lower())

    @property
    def received(self) -> list[ReceivedMail]:
        """Return every message accepted so far."""
        return list(self._recipients.received)

    def to(self, address: str) -> list[ReceivedMail]:
        """Return the messages accepted for one address."""
        return [
            mail
            for mail in self._recipients.received
            if address.lower() in (r.lower() for r in mail.recipients)
        ]
