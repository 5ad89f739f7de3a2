"""Poll an ordinary mailbox over IMAP for replies and bounces."""

from __future__ import annotations

import asyncio
import imaplib
import logging
import ssl
from urllib.parse import unquote, urlsplit

from bot.mail.inbound import MAX_INBOUND_BYTES
from bot.mail.inbox import Inbox, Outcome

logger = logging.getLogger(__name__)

# Keywords on messages Meetbot has dealt with, or read and left for a person; neither is
# fetched again, and nothing is ever deleted.
DONE = "$MeetbotDone"
SKIPPED = "$MeetbotSkipped"
BATCH_SIZE = 50
# Polls a message may fail on (our own failure, say the database) before it is left for a
# person, so that no message blocks the ones behind it for good.
MAX_ATTEMPTS = 3


class ImapPoller:
    """Fetch unprocessed messages, hand them to the inbox and mark what became of them."""

    def __init__(
        self,
        url: str,
        inbox: Inbox | None,
        *,
        tls_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
    ) -> None:
        parts = urlsplit(url)
        self._implicit_tls = parts.scheme == "imaps"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (993 if self._implicit_tls else 143)
        self._username = unquote(parts.username or "")
        self._password = unquote(parts.password or "")
        self._folder = unquote(parts.path.lstrip("/")) or "INBOX"
        self._inbox = inbox
        self._tls = tls_context or ssl.create_default_context()
        self._timeout = timeout
        # Failed attempts per message UID in this process; a message that keeps failing
        # goes behind the others, then is left for a person.
        self._failures: dict[bytes, int] = {}

    def describe(self) -> str:
        """Say which mailbox is polled (never the password)."""
        scheme = "imaps" if self._implicit_tls else "imap"
        return f"{scheme}://{self._username}@{self._host}:{self._port}/{self._folder}"

    def _connect(self) -> imaplib.IMAP4:
        connection: imaplib.IMAP4
        if self._implicit_tls:
            connection = imaplib.IMAP4_SSL(
                self._host, self._port, ssl_context=self._tls, timeout=self._timeout
            )
        else:
            connection = imaplib.IMAP4(self._host, self._port, timeout=self._timeout)
            # The password never crosses the network in the clear.
            connection.starttls(self._tls)
        try:
            connection.login(self._username, self._password)
            status, _ = connection.select(_quoted(self._folder))
            if status != "OK":
                raise imaplib.IMAP4.error(f"cannot open folder {self._folder}")
        except Exception:
            connection.shutdown()
            raise
        return connection

    def _search(self, connection: imaplib.IMAP4, *criteria: str) -> list[bytes]:
        status, data = connection.uid("SEARCH", "UNKEYWORD", DONE, "UNKEYWORD", SKIPPED, *criteria)
        if status != "OK" or not data or not isinstance(data[0], bytes):
            return []
        return data[0].split()

    def _fetch(self) -> list[tuple[bytes, bytes]]:
        connection = self._connect()
        try:
            # Too large to be a reply or a report: left for a person without reading it.
            huge = self._search(connection, "LARGER", str(MAX_INBOUND_BYTES))
            if huge:
                connection.uid("STORE", b",".join(huge).decode(), "+FLAGS", f"({SKIPPED})")
                logger.warning("left %s oversized messages in the mailbox for a person", len(huge))
            found = self._search(connection, "SMALLER", str(MAX_INBOUND_BYTES + 1))
            # Messages that failed before go last: the rest of the mailbox comes first.
            found.sort(key=lambda uid: self._failures.get(uid, 0) > 0)
            uids = found[:BATCH_SIZE]
            messages: list[tuple[bytes, bytes]] = []
            for uid in uids:
                status, parts = connection.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
                raw = next((p[1] for p in parts or [] if isinstance(p, tuple) and len(p) > 1), None)
                if status == "OK" and isinstance(raw, bytes):
                    messages.append((uid, raw))
            return messages
        finally:
            connection.logout()

    def _mark(self, done: list[bytes], skipped: list[bytes]) -> None:
        if not done and not skipped:
            return
        connection = self._connect()
        try:
            if done:
                uids = b",".join(done).decode()
                connection.uid("STORE", uids, "+FLAGS", f"(\\Seen {DONE})")
            if skipped:
                # Left unread: a person should look at what Meetbot did not understand.
                connection.uid("STORE", b",".join(skipped).decode(), "+FLAGS", f"({SKIPPED})")
        finally:
            connection.logout()

    async def poll(self) -> int:
        """Process the mailbox's new messages once; return how many were looked at."""
        if self._inbox is None:
            raise RuntimeError("this poller only checks the connection")
        messages = await asyncio.to_thread(self._fetch)
        done: list[bytes] = []
        skipped: list[bytes] = []
        for uid, raw in messages:
            try:
                receipt = await self._inbox.receive(raw)
            except Exception:
                # Our own failure (say, the database): try again at the next poll, a few times.
                failures = self._failures[uid] = self._failures.get(uid, 0) + 1
                if failures < MAX_ATTEMPTS:
                    logger.exception("could not process IMAP message %s; will retry", uid)
                    continue
                logger.exception("gave up on IMAP message %s; left for a person", uid)
                del self._failures[uid]
                skipped.append(uid)
                continue
            self._failures.pop(uid, None)
            if not receipt.handled:
                logger.warning("left IMAP message %s for a person: %s", uid, receipt.reason)
            (done if receipt.handled else skipped).append(uid)
        await asyncio.to_thread(self._mark, done, skipped)
        return len(messages)

    async def check(self) -> None:
        """Connect and log in, to prove the settings work."""
        connection = await asyncio.to_thread(self._connect)
        await asyncio.to_thread(connection.logout)


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


__all__ = ["DONE", "SKIPPED", "ImapPoller", "Outcome"]
