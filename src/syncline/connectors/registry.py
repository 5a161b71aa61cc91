"""Every connector kind, by name: explicit, so a new vendor is one line here.

``build`` turns a configured connector (``sdk/config.py``) into a working one. ``Wiring`` is
what the environment supplies: the HTTP transport (tests give a fake vendor), the sleep and
clock (tests inject them), the environment secrets are read from, and the database for a
connector that reads what Syncline already holds (Harvest: the approvals it must withdraw).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine

from syncline.connectors.sdk.base import Connector
from syncline.connectors.sdk.config import ConnectorConfig, load
from syncline.services.clock import Clock, system_clock


@dataclass
class Wiring:
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Clock = system_clock
    env: dict[str, str] | None = None  # None: os.environ
    base_dir: Path = field(default_factory=Path.cwd)  # relative paths in settings
    engine: Engine | None = None  # the Syncline database (None: the connector needs none)


Factory = Callable[[ConnectorConfig, Wiring], Connector]

# kind → the module whose ``build(config, wiring)`` makes it (imported when first built)
KIND_MODULES: dict[str, str] = {
    "salesforce": "syncline.connectors.salesforce",
    "hubspot": "syncline.connectors.hubspot",
    "workday": "syncline.connectors.workday",
    "harvest": "syncline.connectors.harvest",
    "files": "syncline.connectors.files",
    "netsuite": "syncline.connectors.netsuite",
    "quickbooks": "syncline.connectors.quickbooks",
    "xero": "syncline.connectors.xero",
}


def factory(kind: str) -> Factory:
    import importlib

    built: Factory = importlib.import_module(KIND_MODULES[kind]).build
    return built


def build(config: ConnectorConfig, wiring: Wiring | None = None) -> Connector:
    return factory(config.kind)(config, wiring or Wiring())


def configured(path: str | Path) -> list[ConnectorConfig]:
    return load(path, kinds=set(KIND_MODULES))


Resolve = Callable[[str], Connector | None]


def resolver(path: str | Path | None, wiring: Wiring) -> Resolve:
    """Find a configured connector by name: built on first use and kept (one client, one
    token cache a connector); a name not built yet is looked up in the file again, so a
    connector added to it is found without a restart. None: no such connector. Threads
    share it (the API's webhooks, the worker, delivery): a connector is built once."""
    cache: dict[str, Connector] = {}
    lock = threading.Lock()

    def resolve(name: str) -> Connector | None:
        with lock:
            if name not in cache and path:
                found = next((c for c in configured(path) if c.name == name), None)
                if found is None:
                    return None
                cache[name] = build(found, wiring)
            return cache.get(name)

    return resolve
