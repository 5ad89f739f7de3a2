"""Real SMTP servers on loopback (aiosmtpd) that record how a client talked to them."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support.external import skip_without
from tests.support.network import free_port


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1 and its private key."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """Return a server-side context that presents this certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Return a client-side context that trusts this certificate and nothing else."""
        return ssl.create_default_context(cafile=str(self.cert))


def make_certificate(folder: Path) -> Certificate:
    """Make a self-signed certificate for 127.0.0.1 in the folder with the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        skip_without(
            "the openssl command (to make a test certificate)",
            "install it with `apt-get install -y openssl` (.ci/run does)",
        )
    made = Certificate(cert=folder / "cert.pem", key=folder / "key.pem")
    subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(made.key),
            "-out",
            str(made.cert),
        ],
        check=True,
        capture_output=True,
    )
    return made


@dataclass(frozen=True)
class LoginAttempt:
    """One AUTH exchange as the server saw it."""

    mechanism: str
    username: str
    password: str
    accepted: bool
    over_tls: bool
    after_starttls: bool


@dataclass(frozen=True)
class Delivery:
    """One message as the server accepted it."""

    envelope_from: str
    recipients: tuple[str, ...]
    message: EmailMessage
    over_tls: bool
    authenticated: bool
    # The client's address and port: messages with the same one came over one connection.
    peer: tuple[str, int]


def _over_tls(server: SMTP) -> bool:
    # The transport is the TLS one both after STARTTLS and with TLS from the first byte.
    return (
        server.transport is not None and server.transport.get_extra_info("ssl_object") is not None
    )


class RecordingServer:
    """An aiosmtpd server on loopback that records every login attempt and delivery."""

    def __init__(self, credentials: tuple[str, str] | None, **options: Any) -> None:
        self.port = free_port()
        self.logins: list[LoginAttempt] = []
        self.deliveries: list[Delivery] = []
        self._credentials = credentials
        if credentials is not None:
            options["authenticator"] = self._authenticate
        self._controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="mail.test.example",
            **options,
        )

    def url(self, scheme: str = "smtp", userinfo: str = "") -> str:
        """Return a MEETBOT_SMTP_URL that reaches this server."""
        at = f"{userinfo}@" if userinfo else ""
        return f"{scheme}://{at}127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start listening."""
        self._controller.start()

    def stop(self) -> None:
        """Stop listening."""
        self._controller.stop()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        username, password = auth_data.login.decode(), auth_data.password.decode()
        accepted = (username, password) == self._credentials
        self.logins.append(
            LoginAttempt(
                mechanism=mechanism,
                username=username,
                password=password,
                accepted=accepted,
                over_tls=_over_tls(server),
                after_starttls=session.ssl is not None,
            )
        )
        # handled=False: let aiosmtpd answer 535 itself when the login is refused.
        return AuthResult(success=accepted, handled=False)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Keep the message and how it came in."""
        parsed = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.deliveries.append(
            Delivery(
                envelope_from=str(envelope.mail_from),
                recipients=tuple(envelope.rcpt_tos),
                message=parsed,
                over_tls=_over_tls(server),
                authenticated=bool(session.authenticated),
                peer=(str(session.peer[0]), int(session.peer[1])),
            )
        )
        return "250 OK"


class Servers:
    """Start SMTP servers for one test and stop them all afterwards."""

    def __init__(self, certificate: Certificate) -> None:
        self._certificate = certificate
        self._started: list[RecordingServer] = []

    def plain(self) -> RecordingServer:
        """Start a server that offers neither STARTTLS nor AUTH."""
        return self._start(None)

    def starttls(
        self, username: str, password: str, *, mechanisms: Sequence[str] = ("LOGIN", "PLAIN")
    ) -> RecordingServer:
        """Start a server that offers STARTTLS and requires AUTH, only over TLS."""
        return self._start(
            (username, password),
            tls_context=self._certificate.server_context(),
            auth_required=True,
            auth_require_tls=True,
            auth_exclude_mechanism=[m for m in ("LOGIN", "PLAIN") if m not in mechanisms],
        )

    def plain_with_login(self, username: str, password: str) -> RecordingServer:
        """Start a server that takes a password over a plain connection, offering no TLS."""
        return self._start((username, password), auth_require_tls=False)

    def implicit_tls(self, username: str, password: str) -> RecordingServer:
        """Start a server that speaks TLS from the first byte and accepts AUTH."""
        # aiosmtpd only counts STARTTLS as TLS for auth_require_tls, so turn it off here;
        # the connection is TLS anyway, and the tests check the client did log in.
        return self._start(
            (username, password),
            ssl_context=self._certificate.server_context(),
            auth_require_tls=False,
        )

    def stop_all(self) -> None:
        """Stop every server this object started."""
        for server in self._started:
            server.stop()

    def _start(self, credentials: tuple[str, str] | None, **options: Any) -> RecordingServer:
        server = RecordingServer(credentials, **options)
        server.start()
        self._started.append(server)
        return server
