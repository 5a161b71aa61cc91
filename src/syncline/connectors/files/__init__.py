"""The files connector (kind ``files``): CSV, XLSX, JSON and JSON-lines exports of any PSA,
HR or CRM, read by a declarative mapping into canonical events (docs/connectors/files.md).

```yaml
connectors:
  - name: psa-files
    kind: files
    settings:
      directory: /srv/syncline/imports        # optional; stream paths are relative to it
      streams:
        - name: time
          path: psa/time-*.csv                # a glob, or a directory (then give format)
          delimiter: ";"                      # csv: delimiter, encoding (utf-8-sig), quotechar
          mapping: mappings/psa-time.yaml     # a mapping file, or the mapping inline
```

``build`` compiles every mapping and reports every problem with its place at once; nothing
reads a file until a stream is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from syncline.connectors.files.readers import FORMATS, ReadOptions
from syncline.connectors.files.spec import compile_mapping
from syncline.connectors.files.streams import FileStream
from syncline.connectors.registry import Wiring
from syncline.connectors.sdk.base import Check, Stream
from syncline.connectors.sdk.config import ConnectorConfig, ConnectorConfigInvalid

STREAM_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,59}$")
STREAM_KEYS = {"name", "description", "path", "format", "encoding", "delimiter", "quotechar",
               "header_row", "sheet", "records", "mapping", "batch_size"}


@dataclass
class FilesConnector:
    name: str
    stream_list: list[FileStream]
    kind: str = "files"

    def streams(self) -> list[Stream]:
        return list(self.stream_list)

    def check(self) -> Check:
        """Every stream's directory exists; how many files each covers."""
        lines, ok = [], True
        for s in self.stream_list:
            if not s.root.is_dir():
                ok = False
                lines.append(f"{s.name}: no directory {s.root}")
                continue
            lines.append(f"{s.name}: {len(s.files())} file(s) at {s.root / s.pattern}")
        return Check(ok, "; ".join(lines))


def _where_files(base: Path, path: str, fmt: str | None) -> tuple[Path, str, str | None]:
    """A glob or a directory → (root, pattern, format guessed from the extension)."""
    full = base / path
    if full.is_dir() or not any(ch in path for ch in "*?["):
        if full.suffix.lower() in FORMATS and not full.is_dir():
            return full.parent, full.name, fmt or FORMATS[full.suffix.lower()]
        ext = next((e for e, f in FORMATS.items() if f == fmt), None)
        return full, f"*{ext}" if ext else "*", fmt
    parts = Path(path).parts
    fixed = next((i for i, part in enumerate(parts) if any(ch in part for ch in "*?[")),
                 len(parts))
    root = base.joinpath(*parts[:fixed]) if fixed else base
    suffix = Path(path).suffix.lower()
    return root, str(Path(*parts[fixed:])), fmt or FORMATS.get(suffix)


def _mapping_document(value: Any, base: Path, at: str, problems: list[str]) -> Any:
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        problems.append(f"{at}: a mapping, or the path of a mapping YAML file")
        return None
    file = base / value
    try:
        return yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as bad:
        problems.append(f"{at}: cannot read {file}: {bad.strerror}")
    except yaml.YAMLError as bad:
        problems.append(f"{at}: {file} is not valid YAML: {bad}")
    return None


def build(config: ConnectorConfig, wiring: Wiring) -> FilesConnector:
    problems: list[str] = []
    where = f"connectors.{config.name}.settings"
    base = wiring.base_dir / str(config.setting("directory", "."))
    items = config.setting("streams")
    if not isinstance(items, list) or not items:
        raise ConnectorConfigInvalid([f"{where}.streams: a list of streams (name, path, "
                                      "mapping)"])
    out: list[FileStream] = []
    for i, item in enumerate(items):
        at = f"{where}.streams[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{at}: expected a mapping")
            continue
        unknown = set(item) - STREAM_KEYS
        if unknown:
            problems.append(f"{at}: unknown keys {', '.join(sorted(map(str, unknown)))}")
        name = item.get("name")
        if not isinstance(name, str) or not STREAM_NAME.match(name):
            problems.append(f"{at}.name: lower-case letters, digits, - or _ (got {name!r})")
            continue
        if any(s.name == name for s in out):
            problems.append(f"{at}.name: {name} is configured twice")
        if not isinstance(item.get("path"), str):
            problems.append(f"{at}.path: a directory or a glob of files")
            continue
        root, pattern, fmt = _where_files(base, item["path"], item.get("format"))
        if fmt not in ("csv", "xlsx", "json", "jsonl"):
            problems.append(f"{at}.format: csv, xlsx, json or jsonl (got {fmt!r}; it is "
                            "guessed from the path's extension when not given)")
            continue
        document = _mapping_document(item.get("mapping"), wiring.base_dir, f"{at}.mapping",
                                      problems)
        mapping = compile_mapping(document, f"{at}.mapping")
        problems.extend(mapping.problems)
        options = ReadOptions(fmt, encoding=str(item.get("encoding", "utf-8-sig")),
                              delimiter=str(item.get("delimiter", ",")),
                              quotechar=str(item.get("quotechar", '"')),
                              header_row=_whole(item, "header_row", 1, at, problems),
                              sheet=item.get("sheet"), records=item.get("records"))
        problems.extend(_option_problems(options, at))
        out.append(FileStream(name, str(item.get("description", f"{fmt} files {item['path']}")),
                              f"files/{config.name}", root, pattern, options, mapping,
                              _whole(item, "batch_size", 500, at, problems)))
    if problems:
        raise ConnectorConfigInvalid(problems)
    return FilesConnector(config.name, out)


def _whole(item: dict[str, Any], key: str, default: int, at: str, problems: list[str]) -> int:
    found = item.get(key, default)
    if not isinstance(found, int) or isinstance(found, bool) or found < 1:
        problems.append(f"{at}.{key}: a whole number from 1 (got {found!r})")
        return default
    return found


def _option_problems(o: ReadOptions, at: str) -> list[str]:
    import codecs

    found = []
    try:
        codecs.lookup(o.encoding)
    except LookupError:
        found.append(f"{at}.encoding: {o.encoding!r} is not an encoding Python knows")
    if len(o.delimiter) != 1 or len(o.quotechar) != 1:
        found.append(f"{at}: delimiter and quotechar are one character each")
    return found
