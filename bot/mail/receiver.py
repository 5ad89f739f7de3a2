"""The built-in SMTP receiver, for deployments that point an MX record or a forward at Meetbot.

It takes mail only for its own mailboxes' domains, a bounded number of sessions and
recipients at a time, and reads each message off the event loop (bot.mail.inbox). What it
cannot act on is accepted and kept in a quarantine folder for a person, never bounced back
or retried forever.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from bot.mail.inbound import MAX_INBOUND_BYTES
from bot.mail.inbox import Inbox, Outcome, Receipt

logger = logging.getLogger(__name__)

# Open SMTP sessions at once; more are told 421 and closed.
MAX_SESSIONS = 50
# Recipients in one message, and RCPT commands in one session (then 421 and closed).
MAX_RECIPIENTS = 50
MAX_RCPT_PER_SESSION = 100
# Other commands one session may send, each (MAIL, DATA, RSET, NOOP, ...).
MAX_COMMANDS_EACH = 20
# A session silent this long is closed.
IDLE_SECONDS = 60.0
# Times the same message may fail for a reason of ours (451, try again) before it is
# accepted and quarantined instead, so no message is retried forever; and how many such
# messages are remembered.
MAX_ATTEMPTS = 3
REMEMBERED_FAILURES = 1000


class Quarantine:
    """A folder of messages Meetbot did not act on: `<name>.eml` and `<name>.reason`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def keep(self, raw: bytes, receipt: Receipt, mail_from: str, rcpt_tos: list[str]) -> Path:
        """Write the message and why it was kept; return the .eml's path."""
        return await asyncio.to_thread(self._write, raw, receipt, mail_from, rcpt_tos)

    def _write(self, raw: bytes, receipt: Receipt, mail_from: str, rcpt_tos: list[str]) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        now = datetime.now(UTC)
        stem = f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
        reason = (
            f"outcome: {receipt.outcome}\n"
            f"reason: {' '.join(receipt.reason.split()) or '-'}\n"
            f"received: {now.isoformat()}\n"
            f"envelope from: {' '.join(mail_from.split())}\n"
            f"envelope to: {' '.join(' '.join(rcpt_tos).split())}\n"
        )
        eml = self.folder / f"{stem}.eml"
        with eml.open("xb") as file:
            file.write(raw)
        (self.folder / f"{stem}.reason").write_text(reason, encoding="utf-8")
        return eml


class _Handler:
    def __init__(self, inbox: Inbox, domains: Iterable[str], quarantine: Quarantine) -> None:
        self._inbox = inbox
        self._domains = frozenset(domain.lower() for domain in domains)
        self._quarantine = quarantine
        # Failures per message digest, oldest first (dicts keep insertion order).
        self._failures: dict[bytes, int] = {}

    def _failed_again(self, raw: bytes) -> bool:
        """Count a failure of ours on this message; tell whether it is time to give up."""
        digest = hashlib.sha256(raw).digest()
        failures = self._failures.pop(digest, 0) + 1
        if failures >= MAX_ATTEMPTS:
            return True
        self._failures[digest] = failures
        while len(self._failures) > REMEMBERED_FAILURES:
            del self._failures[next(iter(self._failures))]
        return False

    async def handle_RCPT(  # aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
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
            receipt = await self._inbox.receive(raw, envelope.rcpt_tos)
        except Exception as error:
            if not self._failed_again(raw):
                logger.exception("could not process inbound mail; asking the sender to retry")
                return "451 4.3.0 Temporary failure, please try again later"
            logger.exception("inbound mail failed %s times; keeping it for a person", MAX_ATTEMPTS)
            receipt = Receipt(Outcome.REFUSED, f"failed {MAX_ATTEMPTS} times: {error!r}"[:500])
        if not receipt.handled:
            try:
                kept = await self._quarantine.keep(
                    raw, receipt, str(envelope.mail_from or ""), list(envelope.rcpt_tos)
                )
            except OSError:
                logger.exception("could not keep a message in quarantine; asking to retry")
                return "451 4.3.0 Temporary failure, please try again later"
            logger.warning("kept inbound mail for a person in %s: %s", kept, receipt.reason)
        logger.info("inbound mail from %s: %s", envelope.mail_from, receipt.outcome)
        return "250 OK"


class _CountedSMTP(SMTP):
    """An SMTP session that tells the receiver when it ends."""

    def __init__(self, *args: Any, on_close: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_close = on_close

    def connection_lost(self, error: Exception | None) -> None:
        try:
            super().connection_lost(error)
        finally:
            self._on_close()


class _TooBusy(asyncio.Protocol):
    """Say 421 and hang up: the receiver has all the sessions it takes."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(b"421 4.7.0 Too many connections, try again later\r\n")
        transport.close()


class SmtpReceiver:
    """Listen for SMTP on host:port in the running event loop and feed the inbox."""

    def __init__(
        self,
        inbox: Inbox,
        host: str,
        port: int,
        domains: Iterable[str],
        *,
        quarantine: Quarantine | None = None,
        max_sessions: int = MAX_SESSIONS,
    ) -> None:
        self.quarantine = quarantine or Quarantine(Path("meetbot-quarantine"))
        self._handler = _Handler(inbox, domains, self.quarantine)
        self._host = host
        self._port = port
        self._max_sessions = max_sessions
        self._sessions = 0
        self._server: asyncio.Server | None = None

    @property
    def open_sessions(self) -> int:
        """Return how many SMTP sessions are open now."""
        return self._sessions

    def _session_closed(self) -> None:
        self._sessions -= 1

    def _new_session(self) -> asyncio.Protocol:
        if self._sessions >= self._max_sessions:
            logger.warning("refused an SMTP connection: %s sessions open", self._sessions)
            return _TooBusy()
        self._sessions += 1
        return _CountedSMTP(
            self._handler,
            data_size_limit=MAX_INBOUND_BYTES,
            enable_SMTPUTF8=True,
            ident="Meetbot",
            timeout=IDLE_SECONDS,
            command_call_limit={"RCPT": MAX_RCPT_PER_SESSION, "*": MAX_COMMANDS_EACH},
            on_close=self._session_closed,
        )

    async def start(self) -> None:
        """Start accepting connections."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._new_session, host=self._host, port=self._port)
        logger.info("receiving mail on %s:%s", self._host, self._port)

    async def stop(self) -> None:
        """Stop accepting connections and close the open ones."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
