"""The Dovecot harness works: TLS both ways, real logins, flags and keywords round-trip."""

from __future__ import annotations

import imaplib
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.support.imap import (
    DOVECOT_VARIABLE,
    DovecotMissingError,
    ImapServer,
    running_dovecot,
)

FIRST = b"From: ana@partner.example\r\nSubject: first\r\n\r\nHello.\r\n"
SECOND = b"From: ben@partner.example\r\nSubject: second\r\n\r\nAgain.\r\n"


def login_parts(url: str) -> tuple[str, int, str, str]:
    """Return host, port, user and password from an imap:// or imaps:// URL."""
    parts = urlsplit(url)
    assert parts.hostname and parts.port and parts.username and parts.password
    return parts.hostname, parts.port, unquote(parts.username), unquote(parts.password)


@pytest.fixture(scope="module")
def dovecot() -> Iterator[ImapServer]:
    """Run one Dovecot for this module; stopping it costs Dovecot 2.3 a second."""
    with running_dovecot() as server:
        yield server


@pytest.fixture
def imap(dovecot: ImapServer) -> ImapServer:
    """Return the module's server with an empty INBOX."""
    dovecot.clear()
    return dovecot


def test_appended_messages_come_back_with_their_flags(imap: ImapServer) -> None:
    imap.append(FIRST, "\\Seen")
    imap.append(SECOND)

    assert imap.messages() == [(FIRST, {"\\Seen"}), (SECOND, set())]
    assert imap.messages()[1][1] == set(), "reading the messages must not mark them seen"


def test_implicit_tls_login_trusts_only_the_generated_certificate(imap: ImapServer) -> None:
    assert imap.imaps_url.startswith("imaps://") and imap.imaps_url.endswith("/INBOX")
    host, port, user, password = login_parts(imap.imaps_url)
    assert (host, port) == ("127.0.0.1", imap.imaps_port)

    client = imaplib.IMAP4_SSL(host, port, ssl_context=imap.ssl_context(), timeout=5)
    try:
        assert client.login(user, password)[0] == "OK"
        assert client.select("INBOX")[0] == "OK"
    finally:
        client.logout()

    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL(host, port, ssl_context=ssl.create_default_context(), timeout=5)


def test_starttls_on_the_plain_port(imap: ImapServer) -> None:
    assert imap.imap_url.startswith("imap://") and imap.imap_url.endswith("/INBOX")
    host, port, user, password = login_parts(imap.imap_url)
    assert (host, port) == ("127.0.0.1", imap.imap_port)

    client = imaplib.IMAP4(host, port, timeout=5)
    try:
        assert "STARTTLS" in client.capabilities
        assert client.starttls(imap.ssl_context())[0] == "OK"
        assert client.login(user, password)[0] == "OK"
        assert client.select("INBOX")[0] == "OK"
    finally:
        client.logout()


def test_a_wrong_password_is_refused(imap: ImapServer) -> None:
    client = imaplib.IMAP4_SSL(imap.host, imap.imaps_port, ssl_context=imap.ssl_context())
    try:
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            client.login(imap.user, "not-the-password")
    finally:
        client.logout()


def test_a_custom_keyword_set_with_store_is_kept(imap: ImapServer) -> None:
    imap.append(FIRST)

    client = imap.connect()
    try:
        permanent = client.response("PERMANENTFLAGS")[1][0]
        assert isinstance(permanent, bytes) and b"\\*" in permanent
        assert client.store("1", "+FLAGS", "($MeetbotDone)")[0] == "OK"
    finally:
        client.logout()

    assert imap.messages() == [(FIRST, {"$MeetbotDone"})]


def test_messages_can_be_appended_with_keywords(imap: ImapServer) -> None:
    imap.append(FIRST, "\\Seen $MeetbotDone")

    assert imap.messages() == [(FIRST, {"\\Seen", "$MeetbotDone"})]


def test_clear_empties_the_inbox(imap: ImapServer) -> None:
    imap.append(FIRST)
    imap.append(SECOND)

    imap.clear()

    assert imap.messages() == []


def test_stop_closes_both_ports_and_removes_its_directory() -> None:
    with running_dovecot() as server:
        ports = (server.imap_port, server.imaps_port)
        root = server.root
        assert root.is_dir()

    assert not root.exists()
    for port in ports:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_without_dovecot_the_imap_tests_skip_saying_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(DOVECOT_VARIABLE, str(tmp_path / "dovecot"))

    with pytest.raises(DovecotMissingError, match="dovecot-imapd"):
        ImapServer().start()
    with (
        pytest.raises(pytest.skip.Exception, match=r"^needs Dovecot: install it .*dovecot-imapd"),
        running_dovecot(),
    ):
        raise AssertionError("no Dovecot ran")
