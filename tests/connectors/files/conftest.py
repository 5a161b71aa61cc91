"""Helpers for the files connector's tests: a connector over files in ``tmp_path``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from syncline.connectors.files import FilesConnector, build
from syncline.connectors.files.mapping import Record, value
from syncline.connectors.files.spec import compile_mapping
from syncline.connectors.registry import Wiring
from syncline.connectors.sdk.config import ConnectorConfig
from syncline.services.messaging.inbox import Refusal

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "files"

# a small time export: comma-separated, European numbers and dates
TIME_MAPPING: dict[str, Any] = {
    "type": "time.approved",
    "id": "id",
    "fields": {
        "time_entry_id": "id",
        "worker_id": "worker",
        "project_code": {"column": "project", "transforms": ["strip", "upper"]},
        "task_code": {"constant": "GEN"},
        "work_date": {"column": "date", "transforms": [{"date": "%d/%m/%Y"}]},
        "hours": {"column": "hours",
                  "transforms": [{"decimal": {"decimal": ",", "thousands": "."}}]},
        "approval_status": {"constant": "approved"},
        "role": {"constant": "consultant"},
    },
}
TIME_HEADER = "id,worker,project,date,hours\n"


def make(tmp_path: Path, mapping: Any, *, path: str = "in/*.csv", name: str = "imp",
         **stream: Any) -> FilesConnector:
    settings = {"streams": [{"name": "s", "path": path, "mapping": mapping, **stream}]}
    return build(ConnectorConfig(name, "files", settings), Wiring(base_dir=tmp_path))


def write(tmp_path: Path, rel: str, content: str | bytes) -> Path:
    target = tmp_path / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8")
    return target


def read_all(connector: FilesConnector, cursor: str | None = None
             ) -> tuple[list[dict[str, Any]], list[Refusal], list[str | None]]:
    events: list[dict[str, Any]] = []
    refusals: list[Refusal] = []
    cursors: list[str | None] = []
    for batch in connector.streams()[0].read(cursor):
        events += batch.events
        refusals += batch.refusals
        cursors.append(batch.cursor)
    return events, refusals, cursors


def one(rule: Any, cells: dict[str, Any], *, json_record: bool = False) -> Any:
    """The value of one rule (as YAML would give it) for one row of ``cells``."""
    mapping = compile_mapping({"type": "time.approved", "fields": {"x": rule}})
    assert not mapping.problems, mapping.problems
    record = Record("f.csv", 2, cells, None if json_record else tuple(cells))
    return value(mapping.fields[0], record)
