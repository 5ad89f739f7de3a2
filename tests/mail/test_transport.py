"""The mail transports against real servers: SMTP with STARTTLS, plain SMTP, SMTPS, a folder."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import gc
import socket
import ssl
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from bot.mail.transport import SESSION_CONNECTIONS, FolderMailer, SmtpMailer
from tests.mail.servers import Certificate, RecordingServer, Servers
from tests.support.network import free_port

USERNAME = "meetbot"
PASSWORD = "s3cret-pass"
ENVELOPE_FROM = "bounces@meetbot.example"


def invitation(
    subject: str = "Invitation: Roadmap review",
    message_id: str | None = None,
    to: str = "Guest One <guest@partner.example>",
) -> EmailMessage:
    """Return a small message to a guest, as the outbox would hand it on."""
    message = EmailMessage()
    message["From"] = "Meetbot <invites@meetbot.example>"
    message["To"] = to
    message["Subject"] = subject
    if message_id is not None:
        message["Message-ID"] = message_id
    message.set_content(f"{subject}\nSee you there.\n")
    return message


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
async def test_smtp_upgrades_to_tls_before_logging_in(
    servers: Servers, certificate: Certificate, mechanism: str
) -> None:
    server = servers.starttls(USERNAME, PASSWORD, mechanisms=[mechanism])
    mailer = SmtpMailer(
        server.url(userinfo=f"{USERNAME}:{PASSWORD}"), tls_context=certificate.client_context()
    )

    await mailer.send(invitation(), envelope_from=ENVELOPE_FROM)

    [login] = server.logins
    assert login.mechanism == mechanism
    assert (login.username, login.password, login.accepted) == (USERNAME, PASSWORD, True)
    assert login.after_starttls and login.over_tls
    [delivery] = server.deliveries
    assert delivery.over_tls and delivery.authenticated
    assert delivery.envelope_from == ENVELOPE_FROM
    assert delivery.recipients == ("guest@partner.example",)
    assert delivery.message["Subject"] == "Invitation: Roadmap review"
    assert delivery.message["To"] == "Guest One <guest@partner.example>"
    assert "See you there." in delivery.message.get_content()


async def test_smtp_with_a_wrong_password_is_refused(
    servers: Servers, certificate: Certificate
) -> None:
    server = servers.starttls(USERNAME, PASSWORD)
    mailer = SmtpMailer(
        server.url(userinfo=f"{USERNAME}:wrong-pass"), tls_context=certificate.client_context()
    )

    with pytest.raises(aiosmtplib.SMTPAuthenticationError) as refused:
        await mailer.send(invitation(), envelope_from=ENVELOPE_FROM)

    assert "wrong-pass" not in str(refused.value)
    assert server.logins
    assert all(login.password == "wrong-pass" and not login.accepted for login in server.logins)
    assert server.deliveries == []


@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
async def test_smtp_refuses_a_certificate_it_does_not_trust(servers: Servers, scheme: str) -> None:
    server = (
        servers.starttls(USERNAME, PASSWORD)
        if scheme == "smtp"
        else servers.implicit_tls(USERNAME, PASSWORD)
    )
    mailer = SmtpMailer(server.url(scheme, userinfo=f"{USERNAME}:{PASSWORD}"), timeout=5.0)

    # STARTTLS lets the ssl error through; smtps wraps it in SMTPConnectError.
    with pytest.raises((ssl.SSLCertVerificationError, aiosmtplib.SMTPConnectError)) as refused:
        await mailer.send(invitation(), envelope_from=ENVELOPE_FROM)

    assert ssl.SSLCertVerificationError in {type(refused.value), type(refused.value.__cause__)}
    assert server.logins == []
    assert server.deliveries == []


async def test_smtp_sends_without_tls_when_the_server_offers_no_starttls(
    servers: Servers,
) -> None:
    server = servers.plain()
    mailer = SmtpMailer(server.url())

    await mailer.send(invitation(), envelope_from=ENVELOPE_FROM)

    [delivery] = server.deliveries
    assert not delivery.over_tls
    assert delivery.message["Subject"] == "Invitation: Roadmap review"
    assert delivery.recipients == ("guest@partner.example",)


async def test_a_password_is_never_sent_over_a_plain_connection(servers: Servers) -> None:
    server = servers.plain_with_login(USERNAME, PASSWORD)
    mailer = SmtpMailer(server.url(userinfo=f"{USERNAME}:{PASSWORD}"))

    with pytest.raises(aiosmtplib.SMTPException):
        await mailer.send(invitation(), envelope_from=ENVELOPE_FROM)

    assert server.logins == []
    assert server.deliveries == []


async def test_smtps_speaks_tls_from_the_first_byte(
    servers: Servers, certificate: Certificate
) -> None:
    server = servers.implicit_tls(USERNAME, PASSWORD)
    mailer = SmtpMailer(
        server.url("smtps", userinfo=f"{USERNAME}:{PASSWORD}"),
        tls_context=certificate.client_context(),
    )

    await mailer.send(invitation(), envelope_from=ENVELOPE_FROM)

    [login] = server.logins
    assert login.accepted and login.over_tls
    assert not login.after_starttls
    [delivery] = server.deliveries
    assert delivery.over_tls and delivery.authenticated
    assert delivery.message["Subject"] == "Invitation: Roadmap review"


async def test_smtp_decodes_a_url_encoded_username_and_password(
    servers: Servers, certificate: Certificate
) -> None:
    server = servers.starttls("me@acme.example", "p@ss:w/rd%?#")
    mailer = SmtpMailer(
        server.url(userinfo="me%40acme.example:p%40ss%3Aw%2Frd%25%3F%23"),
        tls_context=certificate.client_context(),
    )

    await mailer.send(invitation(), envelope_from=ENVELOPE_FROM)

    [login] = server.logins
    assert (login.username, login.password, login.accepted) == (
        "me@acme.example",
        "p@ss:w/rd%?#",
        True,
    )
    assert len(server.deliveries) == 1


def open_sockets_to(port: int) -> list[socket.socket]:
    """Return this process's sockets still connected to a server port."""
    found = []
    for thing in gc.get_objects():
        if (
            isinstance(thing, socket.socket)
            and thing.family in (socket.AF_INET, socket.AF_INET6)
            and thing.fileno() != -1
        ):
            try:
                if thing.getpeername()[1] == port:
                    found.append(thing)
            except OSError:
                continue
    return found


@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
@pytest.mark.parametrize("password", [PASSWORD, "wrong-pass"])
async def test_smtp_closes_its_connection_before_returning(
    servers: Servers, certificate: Certificate, scheme: str, password: str
) -> None:
    server = (
        servers.starttls(USERNAME, PASSWORD)
        if scheme == "smtp"
        else servers.implicit_tls(USERNAME, PASSWORD)
    )
    mailer = SmtpMailer(
        server.url(scheme, userinfo=f"{USERNAME}:{password}"),
        tls_context=certificate.client_context(),
    )

    # `meetbot check` runs in asyncio.run: a socket still open on return would leak.
    with contextlib.suppress(aiosmtplib.SMTPAuthenticationError):
        await mailer.send(invitation(), envelope_from=ENVELOPE_FROM)

    assert open_sockets_to(server.port) == []
    assert len(server.deliveries) == (1 if password == PASSWORD else 0)


@pytest.mark.parametrize(
    "url",
    [
        "smtp://meetbot:s3cret-pass@mail.acme.example:587",
        "smtps://me%40acme.example:p%40ss@mail.acme.example",
    ],
)
def test_describe_never_shows_the_password(url: str) -> None:
    described = SmtpMailer(url).describe()

    assert "mail.acme.example" in described
    for secret in ("s3cret-pass", "p%40ss", "p@ss"):
        assert secret not in described


def test_describe_names_the_scheme_and_default_port() -> None:
    assert SmtpMailer("smtp://mail.acme.example").describe() == "smtp://mail.acme.example:25"
    assert SmtpMailer("smtps://mail.acme.example").describe() == "smtps://mail.acme.example:465"


async def test_check_logs_in_to_a_good_server(servers: Servers, certificate: Certificate) -> None:
    server = servers.starttls(USERNAME, PASSWORD)
    mailer = SmtpMailer(
        server.url(userinfo=f"{USERNAME}:{PASSWORD}"), tls_context=certificate.client_context()
    )

    await mailer.check()

    [login] = server.logins
    assert login.accepted and login.after_starttls
    assert server.deliveries == []


async def test_check_fails_with_a_wrong_password(
    servers: Servers, certificate: Certificate
) -> None:
    server = servers.starttls(USERNAME, PASSWORD)
    mailer = SmtpMailer(
        server.url(userinfo=f"{USERNAME}:wrong-pass"), tls_context=certificate.client_context()
    )

    with pytest.raises(aiosmtplib.SMTPAuthenticationError):
        await mailer.check()


async def test_check_fails_when_nothing_listens() -> None:
    mailer = SmtpMailer(f"smtp://127.0.0.1:{free_port()}", timeout=5.0)

    with pytest.raises(aiosmtplib.SMTPConnectError):
        await mailer.check()


async def test_a_session_sends_many_messages_over_a_few_connections_and_closes_them(
    servers: Servers,
) -> None:
    server = servers.plain()
    mailer = SmtpMailer(server.url())

    async with mailer.session() as session:
        await asyncio.gather(
            *(
                session.send(invitation(f"Invitation {n}"), envelope_from=ENVELOPE_FROM)
                for n in range(20)
            )
        )

    assert sorted(d.message["Subject"] for d in server.deliveries) == sorted(
        f"Invitation {n}" for n in range(20)
    )
    assert 1 <= len({d.peer for d in server.deliveries}) <= SESSION_CONNECTIONS
    assert open_sockets_to(server.port) == []


async def test_a_session_logs_in_over_tls_once_per_connection(
    servers: Servers, certificate: Certificate
) -> None:
    server = servers.starttls(USERNAME, PASSWORD)
    mailer = SmtpMailer(
        server.url(userinfo=f"{USERNAME}:{PASSWORD}"), tls_context=certificate.client_context()
    )

    async with mailer.session() as session:
        for n in range(5):
            await session.send(invitation(f"Invitation {n}"), envelope_from=ENVELOPE_FROM)

    [login] = server.logins
    assert login.accepted and login.after_starttls
    assert len(server.deliveries) == 5
    assert all(d.over_tls and d.authenticated for d in server.deliveries)
    assert len({d.peer for d in server.deliveries}) == 1
    assert open_sockets_to(server.port) == []


class RefusingServer(RecordingServer):
    """A server that does not know one address, as real servers answer unknown users."""

    unknown = "nobody@partner.example"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address == self.unknown:
            return "550 5.1.1 User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"


async def test_a_refused_address_fails_only_its_own_message_in_a_session() -> None:
    server = RefusingServer(None)
    server.start()
    try:
        mailer = SmtpMailer(server.url())
        async with mailer.session() as session:
            await session.send(invitation("First"), envelope_from=ENVELOPE_FROM)
            with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
                await session.send(
                    invitation("Lost", to=RefusingServer.unknown), envelope_from=ENVELOPE_FROM
                )
            await session.send(invitation("Third"), envelope_from=ENVELOPE_FROM)
    finally:
        server.stop()

    assert refused.value.recipients[0].code == 550
    assert [d.message["Subject"] for d in server.deliveries] == ["First", "Third"]
    # The refusal did not cost the connection.
    assert len({d.peer for d in server.deliveries}) == 1


async def test_a_session_reconnects_when_the_server_dropped_an_idle_connection() -> None:
    # aiosmtpd hangs up on a client that says nothing for `timeout` seconds.
    server = RecordingServer(None, timeout=0.3)
    server.start()
    try:
        mailer = SmtpMailer(server.url())
        async with mailer.session() as session:
            await session.send(invitation("Before the pause"), envelope_from=ENVELOPE_FROM)
            await asyncio.sleep(1.0)
            await session.send(invitation("After the pause"), envelope_from=ENVELOPE_FROM)
    finally:
        server.stop()

    assert [d.message["Subject"] for d in server.deliveries] == [
        "Before the pause",
        "After the pause",
    ]
    assert len({d.peer for d in server.deliveries}) == 2
    assert open_sockets_to(server.port) == []


def read_folder(folder: Path) -> dict[str, EmailMessage]:
    """Return every .eml file in the folder, parsed, by file name."""
    parsed: dict[str, EmailMessage] = {}
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        parsed[path.name] = message
    return parsed


async def test_folder_mailer_writes_one_eml_file_per_message(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    mailer = FolderMailer(folder)

    await mailer.send(invitation("First", "<one@meetbot.example>"), envelope_from=ENVELOPE_FROM)
    await mailer.send(invitation("Second", "<two@meetbot.example>"), envelope_from=ENVELOPE_FROM)

    written = read_folder(folder)
    assert sorted(m["Subject"] for m in written.values()) == ["First", "Second"]
    assert all(m["To"] == "Guest One <guest@partner.example>" for m in written.values())
    assert [p.name for p in folder.iterdir() if p.suffix != ".eml"] == []


@pytest.mark.parametrize("message_id", [None, "<same@meetbot.example>"])
async def test_folder_mailer_never_overwrites_an_earlier_message(
    tmp_path: Path, message_id: str | None
) -> None:
    folder = tmp_path / "mail"
    mailer = FolderMailer(folder)

    for subject in ("First", "Second", "Third"):
        await mailer.send(invitation(subject, message_id), envelope_from=ENVELOPE_FROM)

    written = read_folder(folder)
    assert sorted(m["Subject"] for m in written.values()) == ["First", "Second", "Third"]


def test_folder_mailer_describes_its_folder(tmp_path: Path) -> None:
    assert str((tmp_path / "mail").resolve()) in FolderMailer(tmp_path / "mail").describe()
