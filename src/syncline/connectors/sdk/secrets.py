"""Secrets: read from the environment or a secrets file, never printed.

Configuration names a secret as ``${env:NAME}`` or ``${file:/run/secrets/name}``; ``resolve``
reads it when the connector is built. A ``Secret`` hides its value from ``repr``/``str`` (so
logs, errors and ``connectors list`` show ``***``); code that sends it calls ``reveal()``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_REF = re.compile(r"^\$\{(env|file):([^}]+)\}$")


class MissingSecret(LookupError):
    pass


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def is_reference(value: object) -> bool:
    return isinstance(value, str) and bool(_REF.match(value))


def resolve(value: str, env: dict[str, str] | None = None) -> Secret:
    """A configured secret: a ``${env:…}``/``${file:…}`` reference, read now."""
    match = _REF.match(value)
    if not match:
        raise MissingSecret("secrets are configured as ${env:NAME} or ${file:PATH}, never "
                            "inline in the file")
    kind, name = match.groups()
    if kind == "env":
        source = os.environ if env is None else env
        if name not in source or not source[name]:
            raise MissingSecret(f"environment variable {name} is not set")
        return Secret(source[name])
    path = Path(name)
    if not path.is_file():
        raise MissingSecret(f"secrets file {name} does not exist")
    return Secret(path.read_text().strip())
