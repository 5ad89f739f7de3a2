"""A real IMAP server on loopback (Dovecot) with one mailbox for Meetbot's IMAP poller."""

from __future__ import annotations

import atexit
import grp
import imaplib
import os
import pwd
import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from tests.support.external import skip_without
from tests.support.network import free_port

USER = "meetbot"
PASSWORD = "inbox-secret-1"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
# Names the dovecot program to run; a path that is not one runs the suite as if it were absent.
DOVECOT_VARIABLE = "MEETBOT_TEST_DOVECOT"
START_ATTEMPTS = 3


_running: set[ImapServer] = set()  # started and not yet stopped


@atexit.register
def _stop_leftovers() -> None:
    """Stop servers a crashed test run left behind, so no Dovecot outlives Python."""
    for server in list(_running):
        server.stop()


class DovecotMissingError(RuntimeError):
    """Dovecot is not installed on this machine."""


class _PortTaken(RuntimeError):
    """Another process took one of the chosen ports before Dovecot bound it."""


def dovecot_binary() -> str:
    """Return Dovecot's program: MEETBOT_TEST_DOVECOT, else `dovecot` on PATH or in /usr/sbin."""
    chosen = os.environ.get(DOVECOT_VARIABLE)
    if chosen is not None:
        found = shutil.which(chosen)
    else:
        # Debian puts it in /usr/sbin, which is not on an ordinary user's PATH.
        found = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/sbin")
    if found is None:
        raise DovecotMissingError(
            f"install it with `apt-get install -y dovecot-imapd` (.ci/run does), or set "
            f"{DOVECOT_VARIABLE} to the dovecot program"
            + (f"; {DOVECOT_VARIABLE}={chosen} is not one" if chosen is not None else "")
        )
    return found


def _parse_flags(line: bytes) -> set[str]:
    return {flag.decode() for flag in imaplib.ParseFlags(line)}


def _uid(line: bytes) -> int:
    words = line.replace(b"(", b" ").replace(b")", b" ").split()
    return int(words[words.index(b"UID") + 1])


class ImapServer:
    """Run Dovecot on two free loopback ports: IMAP with STARTTLS, and IMAPS."""

    def __init__(self) -> None:
        self.user = USER
        self.password = PASSWORD
        self.host = "127.0.0.1"
        self.imap_port = 0
        self.imaps_port = 0
        self._root: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ImapServer:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def root(self) -> Path:
        """Return the temporary directory holding config, certificate, logs and mail."""
        if self._root is None:
            raise RuntimeError("the IMAP server is not started")
        return self._root

    @property
    def cafile(self) -> Path:
        """Return the path of the self-signed certificate the server presents."""
        return self.root / "cert.pem"

    @property
    def log_path(self) -> Path:
        """Return the path of Dovecot's log file."""
        return self.root / "dovecot.log"

    @property
    def imaps_url(self) -> str:
        """Return the URL of the INBOX over implicit TLS."""
        return f"imaps://{self._credentials()}@{self.host}:{self.imaps_port}/INBOX"

    @property
    def imap_url(self) -> str:
        """Return the URL of the INBOX over the plain port (upgrade with STARTTLS)."""
        return f"imap://{self._credentials()}@{self.host}:{self.imap_port}/INBOX"

    def _credentials(self) -> str:
        return f"{quote(self.user, safe='')}:{quote(self.password, safe='')}"

    def ssl_context(self) -> ssl.SSLContext:
        """Return a client TLS context that trusts only this server's certificate."""
        return ssl.create_default_context(cafile=str(self.cafile))

    def start(self) -> None:
        """Write a self-contained Dovecot config, start it, and wait for both ports."""
        if self._process is not None:
            raise RuntimeError("the IMAP server is already started")
        binary = dovecot_binary()
        self._root = Path(tempfile.mkdtemp(prefix="meetbot-imap-"))
        _running.add(self)
        try:
            self._prepare()
            for attempt in range(1, START_ATTEMPTS + 1):
                self.log_path.unlink(missing_ok=True)
                config = self._write_config()
                with (self.root / "dovecot.out").open("wb") as output:
                    self._process = subprocess.Popen(  # noqa: S603
                        [binary, "-F", "-c", str(config)],
                        stdin=subprocess.DEVNULL,
                        stdout=output,
                        stderr=subprocess.STDOUT,
                    )
                try:
                    self._wait_until_listening()
                    return
                except _PortTaken:
                    self._terminate()
                    if attempt == START_ATTEMPTS:
                        raise
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Terminate Dovecot, wait for it to exit, and remove its directory."""
        self._terminate()
        _running.discard(self)
        root, self._root = self._root, None
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()  # Dovecot 2.3.19 always sleeps 1 s while shutting down
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def connect(self) -> imaplib.IMAP4_SSL:
        """Return a logged-in IMAPS connection with INBOX selected; call logout() when done."""
        client = imaplib.IMAP4_SSL(
            self.host, self.imaps_port, ssl_context=self.ssl_context(), timeout=5
        )
        try:
            client.login(self.user, self.password)
            client.select("INBOX")
        except BaseException:
            client.logout()
            raise
        return client

    def append(self, raw: bytes, flags: str = "") -> None:
        """Append one message to the INBOX with the given flags (e.g. "\\Seen $MeetbotDone")."""
        client = self.connect()
        try:
            client.append("INBOX", f"({flags})" if flags else None, None, raw)
        finally:
            client.logout()

    def messages(self) -> list[tuple[bytes, set[str]]]:
        """Return every INBOX message as (raw bytes, flags), in order, without marking it seen."""
        client = self.connect()
        try:
            _, found = client.uid("SEARCH", "ALL")
            uids = found[0].split() if found and isinstance(found[0], bytes) else []
            if not uids:
                return []
            uid_set = b",".join(uids).decode()
            flags: dict[int, set[str]] = {}
            _, data = client.uid("FETCH", uid_set, "(UID FLAGS)")
            for item in data:
                if isinstance(item, bytes):
                    flags[_uid(item)] = _parse_flags(item)
            bodies: dict[int, bytes] = {}
            _, data = client.uid("FETCH", uid_set, "(UID BODY.PEEK[])")
            for item in data:
                if isinstance(item, tuple):
                    bodies[_uid(item[0])] = item[1]
            return [(bodies[uid], flags[uid]) for uid in sorted(bodies)]
        finally:
            client.logout()

    def clear(self) -> None:
        """Delete every message in the INBOX, so one server can serve many tests."""
        client = self.connect()
        try:
            _, found = client.search(None, "ALL")
            if found and found[0]:
                client.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
                client.expunge()
        finally:
            client.logout()

    def _prepare(self) -> None:
        root = self.root
        root.chmod(0o711)  # the mail user must be able to reach its Maildir below
        self._make_certificate()
        mail_uid, mail_gid = self._mail_owner()
        home = root / "home"
        home.mkdir()
        os.chown(home, mail_uid, mail_gid)
        for name in ("run", "state"):
            (root / name).mkdir()
        (root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n")

    def _write_config(self) -> Path:
        root = self.root
        mail_uid, mail_gid = self._mail_owner()
        home = root / "home"
        self.imap_port = free_port()
        self.imaps_port = free_port()
        while self.imaps_port == self.imap_port:
            self.imaps_port = free_port()
        rootless = ""
        chroot = ""
        if os.geteuid() != 0:  # Dovecot cannot switch users or chroot: run it all as us
            me = pwd.getpwuid(os.geteuid()).pw_name
            group = grp.getgrgid(os.getegid()).gr_name
            rootless = (
                f"default_internal_user = {me}\n"
                f"default_internal_group = {group}\n"
                f"default_login_user = {me}\n"
            )
            chroot = "  chroot =\n"
        config = root / "dovecot.conf"
        config.write_text(
            f"""\
# Written by tests/support/imap.py: one user, one Maildir, loopback only.
instance_name = meetbot-imap-{self.imaps_port}
base_dir = {root}/run
state_dir = {root}/state
log_path = {self.log_path}
info_log_path = {self.log_path}
protocols = imap
listen = {self.host}
ssl = yes
ssl_cert = <{self.cafile}
ssl_key = <{root}/key.pem
auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = {mail_uid}
first_valid_gid = {mail_gid}
mail_location = maildir:~/Maildir
{rootless}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={home}
}}
service anvil {{
{chroot}  unix_listener anvil-auth-penalty {{
    mode = 0  # no growing delays after failed logins
  }}
}}
service imap-login {{
{chroot}  inet_listener imap {{
    address = {self.host}
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = {self.host}
    port = {self.imaps_port}
    ssl = yes
  }}
}}
"""
        )
        return config

    def _make_certificate(self) -> None:
        root = self.root
        result = subprocess.run(  # noqa: S603
            [  # noqa: S607
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
                str(root / "key.pem"),
                "-out",
                str(self.cafile),
            ],
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"openssl could not make a certificate: {result.stderr!r}")

    @staticmethod
    def _mail_owner() -> tuple[int, int]:
        if os.geteuid() != 0:
            return os.geteuid(), os.getegid()
        nobody = pwd.getpwnam("nobody")
        return nobody.pw_uid, nobody.pw_gid

    def _wait_until_listening(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self._process.poll() is not None:
                diagnostics = self._diagnostics()
                if "Address already in use" in diagnostics:
                    raise _PortTaken(diagnostics)
                raise RuntimeError(f"Dovecot exited at start:\n{diagnostics}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Dovecot did not start listening:\n{self._diagnostics()}")
            if self._greets():
                return
            time.sleep(0.02)

    def _greets(self) -> bool:
        # A greeting on both ports means imap-login and auth are up, not just the sockets:
        # stopping Dovecot while they still start up makes it wait 5 s for them.
        try:
            plain = imaplib.IMAP4(self.host, self.imap_port, timeout=2)
        except (OSError, imaplib.IMAP4.error):
            return False
        plain.logout()
        try:
            secure = imaplib.IMAP4_SSL(
                self.host, self.imaps_port, ssl_context=self.ssl_context(), timeout=2
            )
        except (OSError, imaplib.IMAP4.error):
            return False
        secure.logout()
        return True

    def _diagnostics(self) -> str:
        texts = [
            path.read_text(errors="replace")
            for path in (self.root / "dovecot.out", self.log_path)
            if path.exists()
        ]
        return "\n".join(texts)


@contextmanager
def running_dovecot() -> Iterator[ImapServer]:
    """Run Dovecot for a block of tests, or skip them saying how to install it."""
    try:
        dovecot_binary()
    except DovecotMissingError as error:
        skip_without("Dovecot", str(error))
    with ImapServer() as server:
        yield server
