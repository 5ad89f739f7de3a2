"""The house keeps its shape: imports run one way, builders stay pure, rooms stay small."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "storage")
# Builders are functions from data to data: loading one must not load the database,
# the meeting service, the mail transport or Slack's client.
PURE_BUILDERS = (
    "bot.meetings.model",
    "bot.ical",
    "bot.vtimezone",
    "bot.mail.messages",
    "bot.mail.mime_parts",
    "bot.mail.byte_template",
    "bot.blocks.kit",
    "bot.blocks.meeting_form",
    "bot.blocks.messages",
    "bot.blocks.agenda",
    "bot.blocks.home",
    "bot.blocks.settings",
)
NOT_FOR_BUILDERS = ("sqlalchemy", "bot.meetings.service", "storage", "aiosmtplib", "slack_sdk")
MAX_MODULE_LINES = 520
MAX_HANDLER_FUNCTION_LINES = 60


def _modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _ours(names: set[str]) -> set[str]:
    return {n for n in names if n.split(".")[0] in PACKAGES}


@pytest.mark.parametrize("module", PURE_BUILDERS)
def test_a_builder_loads_without_the_database_the_service_or_the_network(module: str) -> None:
    loaded = subprocess.run(  # noqa: S603 - our own interpreter and module names
        [sys.executable, "-c", f"import sys, {module}; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.split()
    pulled_in = sorted(
        name
        for name in loaded
        for banned in NOT_FOR_BUILDERS
        if name.split(".")[0] == banned or name == banned
    )
    assert pulled_in == []


def test_storage_imports_nothing_of_meetbots_own() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_ours(_imported(path)) - {"storage"})
        for path in _modules("storage")
    }
    assert {k: v for k, v in offenders.items() if any(not n.startswith("storage") for n in v)} == {}


def test_imports_run_from_handlers_to_bot_to_storage() -> None:
    backwards = [
        str(path.relative_to(ROOT))
        for path in _modules("bot")
        if path.name != "app.py" and any(n.startswith("handlers") for n in _imported(path))
    ]
    assert backwards == [], "only bot/app.py, the composition root, may know the handlers"
    into_storage = [
        str(path.relative_to(ROOT))
        for path in _modules("handlers")
        if any(n.startswith("storage") for n in _imported(path))
    ]
    assert into_storage == [], "handlers reach storage only through a service"


def test_the_meeting_vocabulary_imports_only_the_language_it_is_written_in() -> None:
    assert _ours(_imported(ROOT / "bot" / "meetings" / "model.py")) <= {
        "bot.i18n",
        "bot.i18n.DEFAULT_LANGUAGE",
        "bot.i18n.N_",
        "bot.i18n.Language",
    }


def test_only_the_deliveries_module_reads_outbox_payloads_by_key() -> None:
    readers = []
    for package in PACKAGES:
        for path in _modules(package):
            if path == ROOT / "bot" / "deliveries.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Subscript)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "payload"
                ):
                    readers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert readers == []


def test_no_product_module_outgrows_its_room() -> None:
    large = {
        str(path.relative_to(ROOT)): lines
        for package in PACKAGES
        for path in _modules(package)
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert large == {}


def test_handlers_are_thin() -> None:
    long_functions = {}
    for path in _modules("handlers"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_HANDLER_FUNCTION_LINES:
                    long_functions[f"{path.relative_to(ROOT)}:{node.name}"] = length
    assert long_functions == {}
