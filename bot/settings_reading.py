"""Reading the environment into Settings: every problem one line naming the variable and the fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from bot.config import CREATE_THE_APP, DatabaseSettings, Settings, SettingsError
from bot.config_mail import MAILBOX_FIELDS, MAILBOXES_EXAMPLE


@dataclass(frozen=True)
class SettingsReading:
    """The environment as read: settings with each refused value at its default, and why."""

    settings: Settings
    problems: list[str]
    refused: frozenset[str]  # the variables whose values were refused

    def refused_any(self, *variables: str) -> bool:
        """Tell whether any of these variables' values was refused."""
        return not self.refused.isdisjoint(variables)


def read_settings() -> SettingsReading:
    """Read the environment, naming every problem in one line each instead of stopping at one."""
    try:
        return SettingsReading(Settings(), [], frozenset())
    except ValidationError as error:
        details = error.errors()
    refused = frozenset(
        _variable_name(str(detail["loc"][0])) for detail in details if detail["loc"]
    )
    defaults = {
        field.alias: field.get_default(call_default_factory=True)
        for field in Settings.model_fields.values()
        if field.alias in refused
    }
    return SettingsReading(
        Settings(**defaults), [describe_problem(detail) for detail in details], refused
    )


def load_settings() -> Settings:
    """Read the environment into Settings that can run, or raise SettingsError naming all wrong."""
    reading = read_settings()
    problems = list(reading.problems)
    if not any(variable.startswith("SLACK_") for variable in reading.refused):
        problems += slack_problems(reading.settings)
    if problems:
        raise SettingsError(problems)
    return reading.settings


def load_database_url() -> str:
    """Read only the database address, for commands that need nothing else."""
    try:
        return DatabaseSettings().database_url
    except ValidationError as error:
        raise SettingsError([describe_problem(detail) for detail in error.errors()]) from error


def describe_problem(detail: ErrorDetails) -> str:
    """Return one of pydantic's errors as one line naming the variable and what to do."""
    location = detail["loc"]
    if not location:
        return _reason(detail)
    variable = _variable_name(str(location[0]))
    if _field_of(str(location[0])) == "mailboxes" and len(location) > 1:
        return f"{variable} {_mailbox_problem(location[1:], detail)}"
    return f"{variable} {_reason(detail)}"


def _mailbox_problem(path: tuple[int | str, ...], detail: ErrorDetails) -> str:
    entry = f"entry {int(path[0]) + 1}"
    given = detail["input"]
    if isinstance(given, dict) and isinstance(given.get("name"), str):
        entry += f' ("{given["name"]}")'
    if len(path) == 1:
        return f"{entry} must be an object like {MAILBOXES_EXAMPLE.strip('[]')}"
    field = str(path[1])
    if detail["type"] == "missing":
        return f'{entry} lacks "{field}": {MAILBOX_FIELDS.get(field, "add it")}'
    return f'{entry} "{field}" {_reason(detail)}'


# pydantic's number limits, in our words.
_LIMITS = {
    "greater_than_equal": ("ge", "at least"),
    "less_than_equal": ("le", "at most"),
    "greater_than": ("gt", "more than"),
    "less_than": ("lt", "less than"),
}


def _reason(detail: ErrorDetails) -> str:
    kind = detail["type"]
    context: dict[str, Any] = dict(detail.get("ctx") or {})
    given = detail["input"]
    if kind == "missing":
        return "is required"
    if kind == "value_error":
        return str(detail["msg"]).removeprefix("Value error, ")
    if kind in ("int_parsing", "int_from_float"):
        return f'must be a whole number, not "{given}"'
    if kind == "float_parsing":
        return f'must be a number, not "{given}"'
    if kind in _LIMITS:
        key, words = _LIMITS[kind]
        limit = context[key]
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        return f"must be {words} {limit}, not {given}"
    if kind == "literal_error":
        return f'must be {context["expected"]}, not "{given}"'
    if kind == "list_type":
        return f"must be a JSON list like {MAILBOXES_EXAMPLE}"
    message = str(detail["msg"])
    for subject in ("Input", "String", "List", "Value"):
        message = message.replace(f"{subject} should ", "must ", 1)
    return message


def _field_of(field_or_alias: str) -> str:
    for name, field in Settings.model_fields.items():
        if field_or_alias in (name, field.alias):
            return name
    return field_or_alias


def _variable_name(field_or_alias: str) -> str:
    for name, field in Settings.model_fields.items():
        if field_or_alias in (name, field.alias):
            return field.alias or name.upper()
    return field_or_alias


def slack_problems(settings: Settings) -> list[str]:
    """Return what keeps these settings from reaching Slack, one line each; none if nothing."""
    has_client = settings.slack_client_id is not None, settings.slack_client_secret is not None
    if not (
        settings.slack_bot_token
        or any(has_client)
        or settings.slack_app_token
        or settings.slack_signing_secret
    ):
        # Nothing about Slack at all: a first run, before the app exists.
        return [
            'SLACK_BOT_TOKEN is not set: create the Slack app first (README.md, "Create the '
            'Slack app"); `meetbot demo` shows what guests get without Slack'
        ]
    problems = []
    if has_client == (True, False):
        problems.append("SLACK_CLIENT_SECRET is required with SLACK_CLIENT_ID")
    elif has_client == (False, True):
        problems.append("SLACK_CLIENT_ID is required with SLACK_CLIENT_SECRET")
    elif settings.slack_bot_token and all(has_client):
        problems.append(
            "set SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET "
            "(installs into many workspaces), not both"
        )
    elif not settings.slack_bot_token and not all(has_client):
        problems.append(
            "SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET "
            f"(installs into many workspaces) are required; {CREATE_THE_APP}"
        )
    if not settings.slack_app_token and not settings.slack_signing_secret:
        problems.append(
            "SLACK_SIGNING_SECRET is required when SLACK_APP_TOKEN is not set (HTTP mode): "
            "the app's Basic Information shows it"
        )
    return problems
