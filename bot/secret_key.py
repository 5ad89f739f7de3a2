"""The master key that seals Meetbot's secrets in the database, and where it comes from.

MEETBOT_SECRET_KEY gives it. Served over HTTP or installed into many workspaces, Meetbot
requires it: several processes share the database and must share the key. A single workspace
in Socket Mode may leave it unset; a key is then generated into a file outside the database
(MEETBOT_SECRET_KEY_FILE, 0600), so a copy of the database alone opens nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.sealing import CannotOpen, Sealer, is_sealed
from bot.startup import CannotStart
from storage.secrets import add_secret, read_secret, replace_secret

logger = logging.getLogger(__name__)

KEY_VARIABLE = "MEETBOT_SECRET_KEY"
KEY_FILE_VARIABLE = "MEETBOT_SECRET_KEY_FILE"
KEY_FILE_NAME = "meetbot-secret.key"
MIN_KEY_LENGTH = 32
# A sealed known text: opening it at start tells a wrong key before any secret is needed.
KEY_CHECK = "key_check"
KEY_CHECK_TEXT = "meetbot"
# The guest-link key earlier versions generated and kept in the database.
LEGACY_LINK_KEY = "link_key"
HOW_TO_MAKE_A_KEY = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"


@dataclass(frozen=True)
class MasterKey:
    """The master key and, for messages, where it was found."""

    value: str
    source: str


@dataclass(frozen=True)
class Unlocked:
    """What the master key opens: the sealer, and the keys of guest links old and new."""

    sealer: Sealer
    link_key: str
    earlier_link_keys: tuple[str, ...]


def needs_key_from_environment(settings: Settings, slack: bool) -> bool:
    """Tell whether MEETBOT_SECRET_KEY must be set (HTTP mode or many workspaces)."""
    return slack and (settings.installs_into_many_workspaces or not settings.socket_mode)


def default_key_file(database_url: str) -> Path:
    """Return where a generated key lives: beside a SQLite file, else in the working folder."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).parent / KEY_FILE_NAME
    return Path(KEY_FILE_NAME)


def missing_key_problem(settings: Settings, slack: bool = True) -> str | None:
    """Say in one line that MEETBOT_SECRET_KEY must be set, if it must and is not."""
    if settings.secret_key is not None or not needs_key_from_environment(settings, slack):
        return None
    return (
        f"{KEY_VARIABLE} is required when Meetbot serves Slack over HTTP or installs into "
        "many workspaces (every process must seal secrets with the same key): set it to "
        f"{MIN_KEY_LENGTH}+ random characters, e.g. from `{HOW_TO_MAKE_A_KEY}`, and keep a "
        "copy apart from the database's backups"
    )


def key_file_of(settings: Settings) -> Path:
    """Return the file a key is generated into when MEETBOT_SECRET_KEY is not set."""
    return settings.secret_key_file or default_key_file(settings.database_url)


def master_key(settings: Settings, slack: bool = True) -> MasterKey:
    """Return the master key from the environment or its file, or raise CannotStart saying why."""
    if settings.secret_key is not None:
        return MasterKey(settings.secret_key.get_secret_value(), KEY_VARIABLE)
    problem = missing_key_problem(settings, slack)
    if problem is not None:
        raise CannotStart(problem)
    path = key_file_of(settings)
    where = f"the key file {path} ({KEY_FILE_VARIABLE})"
    try:
        created = _create_key_file(path)
        value = _read_key_file(path)
    except OSError as error:
        raise CannotStart(
            f"{KEY_FILE_VARIABLE}: cannot use {path} ({error.strerror or error}); "
            f"set {KEY_FILE_VARIABLE} to a file Meetbot may write, or set {KEY_VARIABLE}"
        ) from error
    if created:
        logger.info(
            "generated a secret key into %s (readable by this user only); back it up apart "
            "from the database: without it the tokens, calendar addresses and guest links "
            "in the database cannot be opened",
            path.resolve(),
        )
    else:
        logger.info("secrets in the database are sealed with the key in %s", path.resolve())
    return MasterKey(value, where)


def _create_key_file(path: Path) -> bool:
    """Write a new random key to `path` unless it exists; tell whether this call made it."""
    if path.exists():
        return False
    # Written whole under a temporary name, then linked into place: a process starting
    # beside this one sees no file or the whole key, and never replaces one.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    return True


def _read_key_file(path: Path) -> str:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CannotStart(
            f"{KEY_FILE_VARIABLE}: {path} may be read by other users (mode "
            f"{stat.S_IMODE(mode):04o}); run `chmod 600 {path}`"
        )
    value = path.read_text().strip()
    if len(value) < MIN_KEY_LENGTH:
        raise CannotStart(
            f"{KEY_FILE_VARIABLE}: {path} does not hold a key of {MIN_KEY_LENGTH}+ characters; "
            "restore the file from its backup"
        )
    return value


async def unlock(key: MasterKey, sessions: async_sessionmaker[AsyncSession]) -> Unlocked:
    """Check the key opens this database's secrets and return what it opens.

    Raises CannotStart when the database's secrets were sealed with another key.
    """
    sealer = Sealer(key.value)
    check = await add_secret(sessions, KEY_CHECK, sealer.seal(KEY_CHECK_TEXT, KEY_CHECK))
    try:
        sealer.open(check, KEY_CHECK)
    except CannotOpen:
        raise CannotStart(
            f"{key.source} is not the key this database's secrets were sealed with: set "
            "the key Meetbot used before (from where you keep its backup); a new key cannot "
            "open the tokens, calendar addresses and guest links already stored"
        ) from None
    earlier = [key.value]  # earlier versions made guest links with MEETBOT_SECRET_KEY as it is
    legacy = await read_secret(sessions, LEGACY_LINK_KEY)
    if legacy is not None:
        if not is_sealed(legacy):
            sealed = sealer.seal(legacy, LEGACY_LINK_KEY)
            await replace_secret(sessions, LEGACY_LINK_KEY, legacy, sealed)
        earlier.append(sealer.open(legacy, LEGACY_LINK_KEY))
    return Unlocked(sealer, sealer.link_key, tuple(earlier))
