"""Ways to hand a finished e-mail on: an SMTP server, or a folder of .eml files."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib

from bot.mail.byte_template import RawMail

if TYPE_CHECKING:
    from aiosmtplib.protocol import SMTPProtocol

# A finished message: built by the email package, or already the bytes to send.
Outgoing = EmailMessage | RawMail

# Longest wait for a closed connection to finish its TLS goodbye (close_notify).
_CLOSE_GRACE = 5.0


class MailSession(Protocol):
    """Somewhere to hand many messages in a row, e.g. over connections that stay open."""

    async def send(self, message: Outgoing, *, envelope_from: str) -> str | None:
        """Deliver the message; return the server's answer to it, if there is a server.

        A failure concerns this message only.
        """


class Mailer(Protocol):
    """Anything that can deliver a finished e-mail message."""

    async def send(self, message: Outgoing, *, envelope_from: str) -> str | None:
        """Deliver the message to its To: recipients; return the server's answer, if any."""

    def session(self) -> contextlib.AbstractAsyncContextManager[MailSession]:
        """Return a session for sending many messages; everything it opened closes on exit."""

    def describe(self) -> str:
        """Say where mail goes, for start-up logs and `meetbot check`."""


# Connections one session keeps to the server at once: enough that building the next
# message overlaps the server's work on the last, few enough for any provider's limits.
SESSION_CONNECTIONS = 4
# A connection left unused this long is closed rather than reused (servers drop idle ones).
SESSION_IDLE_SECONDS = 10.0
# Failures after which the connection cannot carry another message.
_BROKEN_CONNECTION = (
    aiosmtplib.SMTPServerDisconnected,
    aiosmtplib.SMTPTimeoutError,
    ConnectionError,
)


class SmtpMailer:
    """Send through an SMTP server: STARTTLS when offered (smtp://), TLS from the start (smtps://)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        tls_context: ssl.SSLContext | None = None,
        connections: int = SESSION_CONNECTIONS,
    ) -> None:
        parts = urlsplit(url)
        self._implicit_tls = parts.scheme == "smtps"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (465 if self._implicit_tls else 25)
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._timeout = timeout
        self._tls_context = tls_context
        self._connections = connections

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

    async def _connect(self) -> _Connection:
        """Open a connection, greet, upgrade and log in; close it again if any step fails."""
        client = self._client()
        await client.connect()
        # The client forgets its protocol on close(), but a TLS connection is only really
        # closed a round trip later; keep it to wait for that, even when login fails.
        connection = _Connection(client, client.protocol)
        try:
            # Log in here, not in connect(), so a refused login still closes cleanly.
            if self._username is not None:
                await client.login(self._username, self._password or "")
        except BaseException:
            await connection.close(polite=False)
            raise
        return connection

    @contextlib.asynccontextmanager
    async def session(self, connections: int | None = None) -> AsyncIterator[SmtpSession]:
        """Return a session over reused connections, all of them closed on exit."""
        session = SmtpSession(self._connect, connections or self._connections)
        try:
            yield session
        finally:
            await session.close()

    async def send(self, message: Outgoing, *, envelope_from: str) -> str | None:
        """Deliver the message through the server over a connection of its own."""
        async with self.session(connections=1) as session:
            return await session.send(message, envelope_from=envelope_from)

    async def check(self) -> None:
        """Connect, greet and log in, to prove the settings work."""
        connection = await self._connect()
        try:
            await connection.client.noop()
        finally:
            await connection.close()


class _Connection:
    """One open SMTP connection and when it last carried a message."""

    def __init__(self, client: aiosmtplib.SMTP, protocol: SMTPProtocol | None) -> None:
        self.client = client
        self._protocol = protocol
        self.used_at = asyncio.get_running_loop().time()

    async def close(self, *, polite: bool = True) -> None:
        """Say goodbye when the conversation allows it, then wait until the socket is gone."""
        try:
            if polite and self.client.is_connected:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                    await self.client.quit()
        finally:
            self.client.close()
            await _closed(self._protocol)


class SmtpSession:
    """Messages over a few connections kept open between them, reopened when they break."""

    def __init__(self, connect: Callable[[], Awaitable[_Connection]], connections: int) -> None:
        self._connect = connect
        self._slots = asyncio.Semaphore(connections)
        self._idle: list[_Connection] = []
        self._closing: set[asyncio.Task[None]] = set()

    async def send(self, message: Outgoing, *, envelope_from: str) -> str | None:
        """Deliver one message and return the server's answer to its data ("2.0.0 Ok: queued
        as 4F2A1"); if the server refuses it, only this message fails."""
        async with self._slots:
            connection = await self._idle_connection()
            reused = connection is not None
            if connection is None:
                connection = await self._connect()
            try:
                reply = await _send(connection.client, message, envelope_from)
            except _BROKEN_CONNECTION:
                await connection.close(polite=False)
                if not reused:
                    raise
                # A kept connection the server had dropped meanwhile: once more on a new one.
                # Should the first try have got through after all, the same Message-ID makes
                # the second a copy that mail programs drop.
                connection = await self._connect()
                return await self._send_or_close(connection, message, envelope_from)
            except aiosmtplib.SMTPException:
                # Refused (aiosmtplib has reset the envelope): the conversation can go on.
                self._keep(connection)
                raise
            except BaseException:
                await connection.close(polite=False)
                raise
            else:
                self._keep(connection)
                return reply

    async def _send_or_close(
        self, connection: _Connection, message: Outgoing, envelope_from: str
    ) -> str:
        try:
            reply = await _send(connection.client, message, envelope_from)
        except aiosmtplib.SMTPException as error:
            if isinstance(error, _BROKEN_CONNECTION):
                await connection.close(polite=False)
            else:
                self._keep(connection)
            raise
        except BaseException:
            await connection.close(polite=False)
            raise
        self._keep(connection)
        return reply

    def _keep(self, connection: _Connection) -> None:
        if connection.client.is_connected:
            connection.used_at = asyncio.get_running_loop().time()
            self._idle.append(connection)
        else:
            self._close_later(connection)

    async def _idle_connection(self) -> _Connection | None:
        """Return the most recently used open connection, closing any left idle too long."""
        now = asyncio.get_running_loop().time()
        while self._idle:
            connection = self._idle.pop()
            if connection.client.is_connected and now - connection.used_at < SESSION_IDLE_SECONDS:
                return connection
            self._close_later(connection)
        return None

    def _close_later(self, connection: _Connection) -> None:
        task = asyncio.create_task(connection.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        """Close every connection (QUIT first) and wait until all their sockets are gone."""
        idle, self._idle = self._idle, []
        await asyncio.gather(
            *(connection.close() for connection in idle), *self._closing, return_exceptions=True
        )


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


async def _send(client: aiosmtplib.SMTP, message: Outgoing, envelope_from: str) -> str:
    """Send a message and return the server's answer to its data; bytes as they are where
    the server takes 8bit bodies (most do)."""
    if isinstance(message, EmailMessage):
        _, reply = await client.send_message(message, sender=envelope_from)
        return reply
    # Connecting greeted the server (EHLO), so its extensions are known; if not, the
    # library's own path below greets first.
    if client.supports_extension("8BITMIME"):
        # What send_message would write for the message, with the option it would send.
        _, reply = await client.sendmail(
            envelope_from, message.recipients, message.data, mail_options=["BODY=8BITMIME"]
        )
        return reply
    # A server without 8BITMIME: the library writes 8bit parts again in 7bit.
    parsed = BytesParser(policy=SMTP).parsebytes(message.data)
    _, reply = await client.send_message(
        parsed, sender=envelope_from, recipients=message.recipients
    )
    return reply


class FolderMailer:
    """Write each message as an .eml file, for laptops where no mail server is set up yet."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def describe(self) -> str:
        """Say which folder mail is written to."""
        return f"the folder {self._folder.resolve()}"

    async def send(self, message: Outgoing, *, envelope_from: str) -> str | None:
        """Write the message into the folder under a unique name (no server: no answer)."""
        await asyncio.to_thread(self._write, message)
        return None

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[FolderMailer]:
        """Return this mailer: every file is written whole, so there is nothing to keep open."""
        yield self

    def _write(self, message: Outgoing) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        if isinstance(message, RawMail):
            message_id, content = message.message_id, message.data
        else:
            message_id, content = str(message.get("Message-ID", "")), message.as_bytes()
        message_id = message_id.strip("<>")
        stem = "".join(c if c.isalnum() or c in "-._" else "_" for c in message_id) or "message"
        # Exclusive create, so a missing or repeated Message-ID never overwrites a file.
        for attempt in itertools.count(1):
            name = f"{stem}.eml" if attempt == 1 else f"{stem}-{attempt}.eml"
            try:
                with (self._folder / name).open("xb") as file:
                    file.write(content)
            except FileExistsError:
                continue
            return


# How servers name the queue entry they accepted a message as: Postfix and Exim "queued as
# 4F2A1", Sendmail "2.0.0 4F2A1 Message accepted", Exchange "<...> [InternalId=123]".
_QUEUED_AS = re.compile(
    r"queued as\s+<?([\w.@\-]{1,120})>?|\b([\w.\-]{4,120}) message accepted|internalid=(\w{1,120})",
    re.IGNORECASE,
)


def queue_id_in(reply: str | None) -> str | None:
    """Return the queue id a server's answer to DATA names, if it names one."""
    match = _QUEUED_AS.search(reply or "")
    if match is None:
        return None
    return next(group for group in match.groups() if group)


class MailSessions:
    """One drain's open mail sessions, one per mail server, opened when first needed."""

    def __init__(self, stack: contextlib.AsyncExitStack) -> None:
        self._stack = stack
        self._open: dict[int, MailSession] = {}

    async def of(self, mailer: Mailer) -> MailSession:
        """Return the session sending through a mailer, opening it the first time."""
        if id(mailer) not in self._open:
            self._open[id(mailer)] = await self._stack.enter_async_context(mailer.session())
        return self._open[id(mailer)]
