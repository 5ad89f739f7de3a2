"""The Slack app manifest an admin creates the app from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tests.support.external import skip_without

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT.parent / "shared" / "slack" / "manifest.schema.1.0.0.json"


def load_manifest() -> dict[str, Any]:
    """Return manifest.yml as data."""
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert isinstance(manifest, dict)
    return manifest


def test_manifest_follows_slacks_schema() -> None:
    if not SCHEMA.exists():
        skip_without("Slack's manifest schema", f"put manifest.schema.1.0.0.json at {SCHEMA}")
    schema = json.loads(SCHEMA.read_text())

    jsonschema.validate(load_manifest(), schema)


def test_manifest_asks_for_what_meetbot_uses() -> None:
    manifest = load_manifest()

    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == [
        "app_home_opened",
        "app_uninstalled",
        "tokens_revoked",
    ]
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/meet"
    assert command["should_escape"] is True  # mentions arrive as <@U…|name>, which /meet reads
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "im:write",
        # A delivery cut off by a crash looks in the DM for what it may have posted.
        "im:history",
        "users:read",
        "users:read.email",
        "files:read",
    }
