"""The built-in SMTP receiver, for deployments that point an MX record or a forward at Meetbot."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from aiosmtpd.smtp import SMTP, Envelope, Session

from bot.mail.inbound import MAX_INBOUND_BYTES
from bot.mail.inbox import Inbox

logger = logging.getLogger(__name__)


class _Handler:
    def __init__(self, inbox: Inbox, domains: Iterable[str]) -> None:
        self._inbox = inbox
        self._domains = frozenset(domain.lower() for domain in domains)

    async def handle_RCPT(  # aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        # Meetbot only takes mail for its own mailboxes' domains; it relays nothing.
        if address.rpartition("@")[2].lower() not in self._domains:
            return "550 5.7.1 Relaying denied"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        try:
            outcome = await self._inbox.receive(raw)
        except Exception:
            logger.exception("could not process inbound mail; asking the sender to retry")
            return "451 4.3.0 Temporary failure, please try again later"
        logger.info("inbound mail from %s: %s", envelope.mail_from, outcome)
        return "250 OK"


class SmtpReceiver:
    """Listen for SMTP on host:port in the running event loop and feed the inbox."""

    def __init__(self, inbox: Inbox, host: str, port: int, domains: Iterable[str]) -> None:
        self._handler = _Handler(inbox, domains)
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Start accepting connections."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(
                self._handler,
                data_size_limit=MAX_INBOUND_BYTES,
                enable_SMTPUTF8=True,
                ident="Meetbot",
            ),
            host=self._host,
            port=self._port,
        )
        logger.info("receiving mail on %s:%s", self._host, self._port)

    async def stop(self) -> None:
        """Stop accepting connections and close the open ones."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
