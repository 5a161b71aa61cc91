"""Reading a connector's ``settings``: each helper records a problem named with its place
(``connector crm: settings.tenant: required text``) and returns a safe default, so one
parse reports every problem at once (``ConnectorConfigInvalid``)."""

from __future__ import annotations

from typing import Any

from syncline.connectors.sdk.config import ConnectorConfig
from syncline.connectors.sdk.events import parse_time, rfc3339
from syncline.connectors.sdk.secrets import MissingSecret, Secret, resolve


class SettingsReader:
    def __init__(self, config: ConnectorConfig, env: dict[str, str] | None = None) -> None:
        self.settings: dict[str, Any] = config.settings
        self.env = env
        self.problems: list[str] = []
        self.at = f"connector {config.name}: settings."

    def text(self, key: str, default: str | None = None) -> str:
        raw = self.settings.get(key, default)
        if not isinstance(raw, str) or not raw.strip():
            self.problems.append(f"{self.at}{key}: required text")
            return ""
        return raw.strip()

    def choice(self, key: str, options: tuple[str, ...], default: str) -> str:
        raw = self.settings.get(key, default)
        if raw not in options:
            self.problems.append(f"{self.at}{key}: one of {', '.join(options)} (got {raw!r})")
            return default
        return str(raw)

    def secret(self, key: str) -> Secret | None:
        try:
            return resolve(str(self.settings.get(key, "")), self.env)
        except MissingSecret as missing:
            self.problems.append(f"{self.at}{key}: {missing}")
            return None

    def since(self, key: str = "since") -> str | None:
        """An optional ISO 8601 date-time (a first sync's start), as RFC 3339 UTC."""
        return since_of(self.settings, self.at, self.problems, key)


def since_of(settings: dict[str, Any], at: str, problems: list[str],
             key: str = "since") -> str | None:
    raw = settings.get(key)
    if raw is None:
        return None
    try:
        return rfc3339(parse_time(str(raw)))
    except ValueError:
        problems.append(f"{at}{key}: an ISO 8601 date-time")
        return None
