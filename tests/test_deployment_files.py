"""The Docker image and the Compose file a production deployment starts from.

There is no Docker engine where the tests run, so these read the files as data and check
what can be checked offline: the Compose file's services and settings, that no secret is
written into it, and the Dockerfile's stages, user, contents, port and health check (whose
command is run against the real /healthz route).
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import distribution
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from bot.config import Settings, SettingsError
from bot.settings_reading import load_settings
from handlers.web import HEALTH_KEY, add_routes
from tests.support.external import skip_without
from tests.support.network import free_port

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}
REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
# Variables whose values are secret: never written into compose.yaml, only referenced.
SECRET_NAME = re.compile(r"^SLACK_|SECRET|TOKEN|PASSWORD|_KEY$|_SMTP_URL$|_IMAP_URL$")
FAKE_BOT_TOKEN = "xoxb-1-compose-test"
FAKE_APP_TOKEN = "xapp-1-compose-test"
DATABASE_PASSWORD = {"POSTGRES_PASSWORD": "pw1"}
CONSTRAINTS = ROOT / "constraints.txt"
# The image's Python and Debian: one Python release on one Debian release.
PYTHON_IMAGE = re.compile(r"python:3\.11\.\d+-slim-bookworm")
POSTGRES_IMAGE = re.compile(r"postgres:16\.\d+-bookworm")


# --- compose.yaml ----------------------------------------------------------------------------


def load_compose() -> dict[str, Any]:
    """Return compose.yaml as data."""
    compose = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(compose, dict)
    return compose


def environment_of(service: str) -> dict[str, str | None]:
    """Return a service's environment; None marks a variable passed through by name only."""
    environment = load_compose()["services"][service].get("environment", {})
    if isinstance(environment, dict):
        return {str(k): None if v is None else str(v) for k, v in environment.items()}
    entries: dict[str, str | None] = {}
    for entry in environment:
        name, equals, value = str(entry).partition("=")
        entries[name] = value if equals else None
    return entries


def interpolate(value: str, host: dict[str, str]) -> str:
    """Resolve ${...} references as Compose does, with `host` as the shell and .env."""

    def resolve(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"] or ""
        current = host.get(name)
        missing = current is None or (op is not None and op.startswith(":") and not current)
        if op in ("-", ":-"):
            return arg if missing else str(current)
        if op in ("?", ":?"):
            if missing:
                raise LookupError(arg or f"{name} is required")
            return str(current)
        return current or ""

    escaped = value.replace("$$", "\0")
    return REFERENCE.sub(resolve, escaped).replace("\0", "$")


def container_environment(host: dict[str, str]) -> dict[str, str]:
    """Return the bot container's Meetbot settings for a given host environment."""
    resolved: dict[str, str] = {}
    for name, value in environment_of("bot").items():
        if value is None:
            if name in host:  # passed through by name: unset on the host, unset inside
                resolved[name] = host[name]
        else:
            resolved[name] = interpolate(value, host)
    return resolved


def test_compose_runs_postgres_and_the_bot() -> None:
    services = load_compose()["services"]

    assert {"db", "bot"} <= services.keys()
    db, bot = services["db"], services["bot"]
    assert POSTGRES_IMAGE.fullmatch(db["image"]), "pin PostgreSQL to a minor release"
    assert environment_of("db")["POSTGRES_DB"] == "meetbot"
    [data_volume] = [
        v.split(":")[0] for v in db["volumes"] if v.endswith("/var/lib/postgresql/data")
    ]
    assert data_volume in load_compose()["volumes"]  # named, so it outlives the container
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])

    assert bot["build"] in (".", {"context": "."})
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert "3000:3000" in bot["ports"]
    assert bot["restart"] == "unless-stopped"


def test_the_bot_uses_the_db_service_through_asyncpg() -> None:
    url = environment_of("bot")["MEETBOT_DATABASE_URL"]

    assert url is not None
    assert url.startswith("postgresql+asyncpg://")
    assert url.endswith("@db:5432/meetbot")
    # The credentials are the ones the db service is created with.
    db = environment_of("db")
    host = {"POSTGRES_USER": "ann", "POSTGRES_PASSWORD": "pw1"}
    assert interpolate(url, host) == "postgresql+asyncpg://ann:pw1@db:5432/meetbot"
    assert interpolate(db["POSTGRES_USER"] or "", host) == "ann"
    assert interpolate(db["POSTGRES_PASSWORD"] or "", host) == "pw1"


def test_no_secret_is_written_into_compose() -> None:
    for service in ("db", "bot"):
        for name, value in environment_of(service).items():
            if not SECRET_NAME.search(name) or value is None:
                continue  # not secret, or passed through by name from the host
            assert REFERENCE.fullmatch(value), f"{service}: {name} must be a ${{...}} reference"
    url = environment_of("bot")["MEETBOT_DATABASE_URL"] or ""
    credentials = re.fullmatch(
        r"postgresql\+asyncpg://(?:\$\{[^}]+\}|[\w.-]+):(?P<password>[^@]*)@db:5432/meetbot", url
    )
    assert credentials, url
    assert REFERENCE.fullmatch(credentials["password"]), "the database password is written out"
    text = COMPOSE.read_text()
    assert not re.search(r"xox[abp]-[0-9A-Za-z]|xapp-[0-9A-Za-z]", text), "a Slack token"


def test_every_setting_the_bot_needs_is_passed_and_meetbot_names_what_is_missing() -> None:
    environment = environment_of("bot")

    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "MEETBOT_SMTP_URL",
        "MEETBOT_MAIL_FROM",
        "MEETBOT_PUBLIC_URL",
        "MEETBOT_SECRET_KEY",
        "MEETBOT_MAILBOXES",
        "MEETBOT_GUEST_INVITES_PER_MONTH",
    ):
        assert name in environment, name
    aliases = {field.alias for field in Settings.model_fields.values()}
    assert set(environment) <= aliases, "compose passes a variable Meetbot does not read"
    # One workspace or many: Compose requires neither token, Meetbot says which is missing.
    assert set(container_environment(DATABASE_PASSWORD)) == {"MEETBOT_DATABASE_URL"}
    with_token = container_environment({"SLACK_BOT_TOKEN": FAKE_BOT_TOKEN, **DATABASE_PASSWORD})
    assert with_token["SLACK_BOT_TOKEN"] == FAKE_BOT_TOKEN


def test_compose_refuses_to_start_without_a_database_password() -> None:
    uses = [
        value
        for service in ("db", "bot")
        for value in environment_of(service).values()
        if value is not None and "POSTGRES_PASSWORD" in value
    ]

    assert len(uses) == 2  # the database's own, and the bot's URL to it
    for value in uses:
        for host in ({}, {"POSTGRES_PASSWORD": ""}):
            with pytest.raises(LookupError, match="set POSTGRES_PASSWORD"):
                interpolate(value, {"SLACK_BOT_TOKEN": FAKE_BOT_TOKEN, **host})
        assert "pw1" in interpolate(value, DATABASE_PASSWORD)


def test_without_slack_credentials_the_container_stops_naming_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for field in Settings.model_fields.values():
        if field.alias:
            monkeypatch.delenv(field.alias, raising=False)
    for name, value in container_environment(
        {"SLACK_SIGNING_SECRET": "s", **DATABASE_PASSWORD}
    ).items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=r"SLACK_BOT_TOKEN .*SLACK_CLIENT_ID"):
        load_settings()


@pytest.mark.parametrize(
    "host",
    [
        pytest.param({"SLACK_APP_TOKEN": FAKE_APP_TOKEN}, id="socket-mode"),
        pytest.param({"SLACK_SIGNING_SECRET": "0123456789abcdef"}, id="http-mode"),
        pytest.param(
            {
                "SLACK_SIGNING_SECRET": "0123456789abcdef",
                "SLACK_CLIENT_ID": "1.2",
                "SLACK_CLIENT_SECRET": "0123456789abcdef",
            },
            id="many-workspaces",
        ),
    ],
)
def test_the_bot_starts_with_only_the_slack_tokens_set_on_the_host(
    host: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Variables the host leaves unset must reach Meetbot unset, not empty: an empty
    # MEETBOT_SECRET_KEY or MEETBOT_MAIL_FROM would stop it at start-up.
    for field in Settings.model_fields.values():
        if field.alias:
            monkeypatch.delenv(field.alias, raising=False)
    tokens = {} if "SLACK_CLIENT_ID" in host else {"SLACK_BOT_TOKEN": FAKE_BOT_TOKEN}
    for name, value in container_environment({**tokens, **host, **DATABASE_PASSWORD}).items():
        monkeypatch.setenv(name, value)

    settings = load_settings()

    assert settings.database_url.startswith("postgresql+asyncpg://meetbot:")
    assert settings.secret_key is None
    assert settings.mail_from == Settings.model_fields["mail_from"].default
    assert settings.socket_mode is ("SLACK_APP_TOKEN" in host)


def compose_command() -> list[str]:
    """Return how Docker Compose runs on this machine, or skip saying how to install it."""
    docker = shutil.which("docker")
    if docker is not None:
        plugin = subprocess.run(  # noqa: S603 - a fixed command
            [docker, "compose", "version"], capture_output=True, check=False
        )
        if plugin.returncode == 0:
            return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    if standalone is not None:
        return [standalone]
    skip_without(
        "Docker Compose",
        "install Docker's compose plugin, or `apt-get install -y --no-install-recommends "
        "docker-compose` (.ci/run does)",
    )


def run_compose_config(host: dict[str, str], folder: Path) -> subprocess.CompletedProcess[str]:
    """Ask Docker Compose to read compose.yaml with only `host` as the shell and no .env."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "MEETBOT_", "POSTGRES_", "COMPOSE_"))
    }
    environment.update(host)
    no_dotenv = folder / "empty.env"
    no_dotenv.touch()
    return subprocess.run(  # noqa: S603 - a fixed command
        [*compose_command(), "-f", str(COMPOSE), "--env-file", str(no_dotenv), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
        cwd=folder,
    )


def test_docker_compose_accepts_the_file_and_requires_the_database_password(
    tmp_path: Path,
) -> None:
    accepted = run_compose_config(
        {"SLACK_BOT_TOKEN": FAKE_BOT_TOKEN, **DATABASE_PASSWORD}, tmp_path
    )
    refused = run_compose_config({"SLACK_BOT_TOKEN": FAKE_BOT_TOKEN}, tmp_path)

    assert accepted.returncode == 0, accepted.stderr
    assert refused.returncode != 0
    assert "set POSTGRES_PASSWORD" in refused.stderr


# --- Dockerfile ------------------------------------------------------------------------------


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """Return the Dockerfile's stages, each a list of (INSTRUCTION, arguments)."""
    logical: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    stages: list[list[tuple[str, str]]] = []
    for line in logical:
        instruction, _, arguments = line.partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        assert stages, "the Dockerfile must begin with FROM"
        stages[-1].append((instruction.upper(), arguments.strip()))
    return stages


def arguments_of(stage: list[tuple[str, str]], instruction: str) -> list[str]:
    """Return the arguments of every `instruction` in a stage."""
    return [arguments for name, arguments in stage if name == instruction]


def final_stage() -> list[tuple[str, str]]:
    """Return the stage the image is made of."""
    return dockerfile_stages()[-1]


def copied_sources() -> set[str]:
    """Return every path the Dockerfile copies from the build context."""
    sources: set[str] = set()
    for stage in dockerfile_stages():
        for arguments in arguments_of(stage, "COPY"):
            words = arguments.split()
            if any(word.startswith("--from") for word in words):
                continue
            paths = [word for word in words if not word.startswith("--")][:-1]
            sources.update(path.rstrip("/").removeprefix("./") for path in paths)
    return sources


def pyproject() -> dict[str, Any]:
    """Return pyproject.toml as data."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def test_the_image_is_built_in_stages_on_one_pinned_python_slim() -> None:
    stages = dockerfile_stages()

    assert len(stages) >= 2
    bases = {stage[0][1].split()[0] for stage in stages}
    [base] = bases  # the build and the runtime share one Python
    assert PYTHON_IMAGE.fullmatch(base), f"pin the Python release and Debian release: {base}"
    assert any("--from=" in arguments for arguments in arguments_of(final_stage(), "COPY"))


def pinned_packages() -> dict[str, Version]:
    """Return constraints.txt as {package: version}, every line an exact pin."""
    pins: dict[str, Version] = {}
    for line in CONSTRAINTS.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        requirement = Requirement(line)
        [specifier] = requirement.specifier
        assert specifier.operator == "==", f"not an exact pin: {line}"
        pins[canonicalize_name(requirement.name)] = Version(specifier.version)
    return pins


def runtime_requirements() -> list[Requirement]:
    """Return each requirement pyproject.toml and its packages (as installed here) make."""
    image = {"python_version": "3.11", "sys_platform": "linux", "platform_system": "Linux"}

    def applying(text: str, extras: set[str]) -> list[Requirement]:
        requirement = Requirement(text)
        marker = requirement.marker
        wanted = ["", *sorted(extras)]
        if marker is None or any(marker.evaluate({**image, "extra": e}) for e in wanted):
            return [requirement]
        return []

    extras_of: dict[str, set[str]] = {}
    met: list[Requirement] = []
    waiting = [r for text in pyproject()["project"]["dependencies"] for r in applying(text, set())]
    while waiting:
        requirement = waiting.pop()
        met.append(requirement)
        name = canonicalize_name(requirement.name)
        if name in extras_of and requirement.extras <= extras_of[name]:
            continue
        extras_of[name] = extras_of.get(name, set()) | requirement.extras
        for text in distribution(requirement.name).requires or []:
            waiting += applying(text, extras_of[name])
    return met


def test_the_image_installs_exactly_the_pinned_versions() -> None:
    [build] = [stage for stage in dockerfile_stages() if "constraints.txt" in str(stage)]
    installs = " ".join(arguments_of(build, "RUN"))

    assert "constraints.txt" in copied_sources()
    assert re.search(r"pip install --no-deps -r constraints\.txt", installs)
    assert re.search(r"pip install --no-deps \.", installs)
    assert "pip check" in installs  # a pin missing from the list fails the build


def test_the_pins_cover_everything_meetbot_needs_in_versions_it_accepts() -> None:
    pins = pinned_packages()

    for requirement in runtime_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"constraints.txt does not pin {requirement.name}"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, but {requirement} is needed"
        )


def test_the_image_runs_as_a_user_other_than_root() -> None:
    users = arguments_of(final_stage(), "USER")

    assert users, "the final stage sets no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert arguments_of(final_stage(), "WORKDIR")[-1] == "/app"


def test_the_image_copies_every_package_and_what_the_build_reads() -> None:
    includes = pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*").rstrip(".") for pattern in includes}

    assert packages, "pyproject names no packages"
    for package in packages:
        assert (ROOT / package / "__init__.py").is_file(), package
    assert packages | {"pyproject.toml", "README.md"} <= copied_sources()


def dockerignore_patterns() -> list[str]:
    """Return .dockerignore's exclusion patterns (exceptions with ! are not used)."""
    lines = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()]
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert not any(line.startswith("!") for line in patterns)
    return patterns


def ignored(relative: str, patterns: list[str]) -> bool:
    """Tell whether a path (or a folder above it) matches a .dockerignore pattern."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        pattern = pattern.strip("/")
        for prefix in prefixes:
            if fnmatch.fnmatchcase(prefix, pattern):
                return True
            if pattern.startswith("**/") and fnmatch.fnmatchcase(
                prefix.rsplit("/", 1)[-1], pattern.removeprefix("**/")
            ):
                return True
    return False


def test_the_build_context_keeps_the_package_and_leaves_out_the_rest() -> None:
    patterns = dockerignore_patterns()
    package_data = pyproject()["tool"]["setuptools"]["package-data"]
    shipped = ["pyproject.toml", "README.md", "constraints.txt"]
    for package, globs in package_data.items():
        folder = ROOT.joinpath(*package.split("."))
        for glob in globs:
            shipped += [str(p.relative_to(ROOT)) for p in folder.glob(glob) if p.is_file()]
    for package in copied_sources() & {"bot", "handlers", "storage"}:
        shipped += [
            str(p.relative_to(ROOT))
            for p in (ROOT / package).rglob("*.py")
            if "__pycache__" not in p.parts
        ]

    assert [path for path in shipped if ignored(path, patterns)] == []
    for path in (
        "tests/conftest.py",
        ".git/HEAD",
        "bench/README.md",
        "meetbot.db",
        "meetbot-mail/invite.eml",
        "bot/__pycache__/app.cpython-311.pyc",
        ".pytest_cache/README.md",
        ".env",
    ):
        assert ignored(path, patterns), path


def test_the_image_exposes_meetbots_port_and_runs_meetbot() -> None:
    stage = final_stage()
    exposed = {
        port.split("/")[0] for line in arguments_of(stage, "EXPOSE") for port in line.split()
    }
    environment = " ".join(arguments_of(stage, "ENV"))

    assert str(Settings.model_fields["port"].default) in exposed
    assert "2525" in exposed
    assert "meetbot" in pyproject()["project"]["scripts"]
    assert arguments_of(stage, "ENTRYPOINT") == ['["meetbot"]']
    assert arguments_of(stage, "CMD") == ['["run"]']
    assert re.search(r"\bPYTHONUNBUFFERED=1\b", environment)
    assert re.search(r"\bMEETBOT_HOST=0\.0\.0\.0\b", environment)


def healthcheck_command() -> list[str]:
    """Return the HEALTHCHECK's command in exec form."""
    [healthcheck] = arguments_of(final_stage(), "HEALTHCHECK")
    _, cmd, command = healthcheck.partition("CMD ")
    assert cmd, "HEALTHCHECK has no CMD"
    parsed = yaml.safe_load(command)  # a JSON array is YAML too
    assert isinstance(parsed, list), "HEALTHCHECK CMD should use the exec form"
    return [str(word) for word in parsed]


async def run_healthcheck(port: int) -> int:
    """Run the HEALTHCHECK's command as the container would, against 127.0.0.1:port."""
    command = healthcheck_command()
    assert command[0] == "python"
    environment = {**os.environ, "MEETBOT_PORT": str(port), "HTTP_PROXY": "http://192.0.2.1:9"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *command[1:],
        env=environment,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(process.wait(), timeout=30)


async def test_the_healthcheck_asks_healthz_and_fails_when_nothing_answers() -> None:
    assert "http://127.0.0.1:" in " ".join(healthcheck_command())
    assert "/healthz" in " ".join(healthcheck_command())

    async def healthy() -> dict[str, str]:
        return {"database": "ok", "scheduler": "ok"}

    app = web.Application()
    app[HEALTH_KEY] = healthy
    add_routes(app)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        assert await run_healthcheck(port) == 0
    finally:
        await runner.cleanup()

    assert await run_healthcheck(port) != 0
