"""Ways to hand a finished e-mail on: an SMTP server, or a folder of .eml files."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import ssl
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib

if TYPE_CHECKING:
    from aiosmtplib.protocol import SMTPProtocol

# Longest wait for a closed connection to finish its TLS goodbye (close_notify).
_CLOSE_GRACE = 5.0


class Mailer(Protocol):
    """Anything that can deliver a finished e-mail message."""

    async def send(self, message: EmailMessage, *, envelope_from: str) -> None:
        """Deliver the message to its To: recipients."""

    def describe(self) -> str:
        """Say where mail goes, for start-up logs and `meetbot check`."""


class SmtpMailer:
    """Send through an SMTP server: STARTTLS when offered (smtp://), TLS from the start (smtps://)."""

    def __init__(
        self, url: str, *, timeout: float = 30.0, tls_context: ssl.SSLContext | None = None
    ) -> None:
        parts = urlsplit(url)
        self._implicit_tls = parts.scheme == "smtps"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (465 if self._implicit_tls else 25)
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._timeout = timeout
        self._tls_context = tls_context

    def describe(self) -> str:
        """Say which server mail goes to (never the password)."""
        scheme = "smtps" if self._implicit_tls else "smtp"
        return f"{scheme}://{self._host}:{self._port}"

    def _starttls_policy(self) -> bool | None:
        """Say when to upgrade: never on smtps (TLS already), always before sending a password."""
        if self._implicit_tls:
            return False
        # None: upgrade with STARTTLS when the server offers it, plain otherwise.
        return True if self._username is not None else None

    def _client(self) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            use_tls=self._implicit_tls,
            start_tls=self._starttls_policy(),
            timeout=self._timeout,
            tls_context=self._tls_context,
        )

    @contextlib.asynccontextmanager
    async def _session(self) -> AsyncIterator[aiosmtplib.SMTP]:
        client = self._client()
        await client.connect()
        # The client forgets its protocol on close(), but a TLS connection is only really
        # closed a round trip later; keep it to wait for that, even when login fails.
        protocol = client.protocol
        try:
            # Log in here, not in connect(), so a refused login still closes cleanly.
            if self._username is not None:
                await client.login(self._username, self._password or "")
            yield client
            with contextlib.suppress(aiosmtplib.SMTPException):
                await client.quit()
        finally:
            client.close()
            await _closed(protocol)

    async def send(self, message: EmailMessage, *, envelope_from: str) -> None:
        """Deliver the message through the server."""
        async with self._session() as client:
            await client.send_message(message, sender=envelope_from)

    async def check(self) -> None:
        """Connect, greet and log in, to prove the settings work."""
        async with self._session() as client:
            await client.noop()


async def _closed(protocol: SMTPProtocol | None) -> None:
    """Wait until the connection is gone, so no socket outlives a send or a short-lived loop."""
    deadline = asyncio.get_running_loop().time() + _CLOSE_GRACE
    spins = 0
    while protocol is not None and protocol.transport is not None:
        if asyncio.get_running_loop().time() > deadline:
            return
        # Usually gone after a loop iteration or two: yield first, sleep only if it lingers.
        await asyncio.sleep(0 if spins < 20 else 0.005)
        spins += 1


class FolderMailer:
    """Write each message as an .eml file, for laptops where no mail server is set up yet."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def describe(self) -> str:
        """Say which folder mail is written to."""
        return f"the folder {self._folder.resolve()}"

    async def send(self, message: EmailMessage, *, envelope_from: str) -> None:
        """Write the message into the folder under a unique name."""
        await asyncio.to_thread(self._write, message)

    def _write(self, message: EmailMessage) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        message_id = str(message.get("Message-ID", "")).strip("<>")
        stem = "".join(c if c.isalnum() or c in "-._" else "_" for c in message_id) or "message"
        content = message.as_bytes()
        # Exclusive create, so a missing or repeated Message-ID never overwrites a file.
        for attempt in itertools.count(1):
            name = f"{stem}.eml" if attempt == 1 else f"{stem}-{attempt}.eml"
            try:
                with (self._folder / name).open("xb") as file:
                    file.write(content)
            except FileExistsError:
                continue
            return
