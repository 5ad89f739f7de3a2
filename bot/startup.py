"""What keeps Meetbot from starting, in one line each: the setting, what is wrong, what to do."""

from __future__ import annotations

import errno
import socket
import ssl
from pathlib import Path

import aiohttp
import aiosmtplib
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

DATABASE_VARIABLE = "MEETBOT_DATABASE_URL"


class CannotStart(Exception):
    """A server or port a setting names cannot be used; the message names the setting."""


def _cause(error: BaseException) -> BaseException:
    """Return the OS or TLS error behind a library's own, if there is one."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, aiohttp.ClientConnectorError):
            return current.os_error
        if isinstance(current, OSError) and not isinstance(current, aiosmtplib.SMTPException):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return error


def _why(error: BaseException) -> tuple[str, str]:
    """Return what went wrong reaching a server and what to do about it."""
    cause = _cause(error)
    if isinstance(cause, ssl.SSLCertVerificationError):
        return (
            f"its certificate is not trusted ({cause.verify_message})",
            "use the name the certificate is for, or set MEETBOT_MAIL_CA_FILE to your CA",
        )
    if isinstance(cause, ConnectionRefusedError):
        return "nothing answers there (connection refused)", "start it or correct the host and port"
    if isinstance(cause, socket.gaierror):
        return "no such host", "correct the host name"
    if isinstance(cause, TimeoutError):
        return "no answer in time", "check the host, the port and any firewall between"
    if isinstance(cause, OSError):
        return cause.strerror or str(cause), "check the host and port"
    return str(error).splitlines()[0] if str(error) else type(error).__name__, "check the URL"


def database_problem(url: URL, error: BaseException) -> str:
    """Say in one line why the database MEETBOT_DATABASE_URL names cannot be used."""
    if isinstance(error, DBAPIError):
        return _database_line(url, str(error.orig or error).splitlines()[0])
    return _database_line(url, *_why(error))


def _database_line(url: URL, reason: str, todo: str | None = None) -> str:
    """Say that the database cannot be used, why, and (unless `todo`) what to check."""
    if url.get_backend_name() == "sqlite":
        where = f"the SQLite file {url.database}"
        check = "check that its folder exists and Meetbot may write there"
    else:
        where = f"{url.get_backend_name()} at {url.host}:{url.port or 'its default port'}"
        check = "check the user, password and database name"
    return f"{DATABASE_VARIABLE} names {where}, which cannot be used: {reason}; {todo or check}"


def sqlite_folder_problem(url: URL) -> str | None:
    """Say in one line that the folder of the SQLite file MEETBOT_DATABASE_URL names is missing.

    Asked before connecting: a failed connect leaves the driver's thread to wind down on
    its own, and a command that then exits at once may print that thread's traceback
    after its one line.
    """
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    folder = Path(url.database).parent
    if folder.is_dir():
        return None
    return _database_line(url, f"there is no folder {folder}")


def server_problem(variable: str, server: str, error: BaseException) -> str:
    """Say in one line why a server a setting names (mail, Slack's API) cannot be used."""
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        reason = f"it refused the user and password ({error.code} {error.message})"
        todo = "correct them in the URL"
    else:
        reason, todo = _why(error)
    return f"{variable} names {server}, which cannot be used: {reason}; {todo}"


def listen_problem(
    port_variable: str, host_variable: str, host: str, port: int, error: OSError
) -> str:
    """Say in one line why Meetbot cannot listen where its settings say."""
    if error.errno == errno.EADDRINUSE:
        return (
            f"{port_variable}: port {port} is taken by another program; stop that program "
            f"or set {port_variable} to a free port"
        )
    if error.errno == errno.EACCES:
        return (
            f"{port_variable}: this user may not listen on port {port}; "
            f"set {port_variable} to a port above 1023"
        )
    if error.errno == errno.EADDRNOTAVAIL or isinstance(error, socket.gaierror):
        return (
            f"{host_variable}: this machine has no address {host} to listen on; use 0.0.0.0 "
            "(every address) or one of its own"
        )
    return f"{port_variable}: cannot listen on {host}:{port} ({error.strerror or error})"


async def reach_database(engine: AsyncEngine) -> None:
    """Connect to the database once, or raise CannotStart saying why and what to do."""
    if (missing := sqlite_folder_problem(engine.url)) is not None:
        raise CannotStart(missing)
    try:
        async with engine.connect():
            pass
    except (OSError, SQLAlchemyError) as error:
        raise CannotStart(database_problem(engine.url, error)) from error
