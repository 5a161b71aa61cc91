"""Per-firm connector configuration: one YAML file (``SYNCLINE_CONNECTORS_CONFIG``).

```yaml
connectors:
  - name: crm                      # how commands and the webhook URL name it
    kind: salesforce               # which connector (connectors/registry.py)
    poll_minutes: 15               # the scheduled sync; 0 = webhooks or manual only
    settings:                      # the connector's own; secrets only as references
      instance_url: https://acme.my.salesforce.com
      client_id: 3MVG9...
      private_key: ${file:/run/secrets/sf.key}
```

Secrets are ``${env:NAME}`` or ``${file:PATH}`` references, resolved when the connector is
built and never printed (``Secret``). Every problem is reported with its place in the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


class ConnectorConfigInvalid(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ConnectorConfig:
    name: str
    kind: str
    settings: dict[str, Any] = field(default_factory=dict)
    poll_minutes: int = 0

    def setting(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)


def parse(document: Any, *, kinds: set[str], where: str = "connectors") -> list[ConnectorConfig]:
    problems: list[str] = []
    if document is None:
        return []
    if not isinstance(document, dict) or not isinstance(document.get("connectors"), list):
        raise ConnectorConfigInvalid([f"{where}: expected a mapping with a 'connectors' list"])
    out: list[ConnectorConfig] = []
    seen: set[str] = set()
    for i, item in enumerate(document["connectors"]):
        at = f"{where}: connectors[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{at}: expected a mapping")
            continue
        name, kind = item.get("name"), item.get("kind")
        if not isinstance(name, str) or not NAME.match(name):
            problems.append(f"{at}.name: 1-40 lower-case letters, digits, - or _ (got {name!r})")
            continue
        if name in seen:
            problems.append(f"{at}.name: {name} is configured twice")
        seen.add(name)
        if kind not in kinds:
            problems.append(f"{at}.kind: {kind!r} is not a connector; known: "
                            + ", ".join(sorted(kinds)))
        poll = item.get("poll_minutes", 0)
        if not isinstance(poll, int) or isinstance(poll, bool) or poll < 0:
            problems.append(f"{at}.poll_minutes: a whole number of minutes ≥ 0")
            poll = 0
        settings = item.get("settings") or {}
        if not isinstance(settings, dict):
            problems.append(f"{at}.settings: expected a mapping")
            settings = {}
        unknown = set(item) - {"name", "kind", "poll_minutes", "settings"}
        if unknown:
            problems.append(f"{at}: unknown keys {', '.join(sorted(unknown))}")
        out.append(ConnectorConfig(name, str(kind), settings, poll))
    if problems:
        raise ConnectorConfigInvalid(problems)
    return out


def load(path: str | Path, *, kinds: set[str]) -> list[ConnectorConfig]:
    p = Path(path)
    if not p.is_file():
        raise ConnectorConfigInvalid([f"{p}: no such file (SYNCLINE_CONNECTORS_CONFIG)"])
    try:
        document = yaml.safe_load(p.read_text())
    except yaml.YAMLError as err:
        raise ConnectorConfigInvalid([f"{p}: not valid YAML: {err}"]) from None
    return parse(document, kinds=kinds, where=str(p))
