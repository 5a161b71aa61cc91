"""Syncing a directory: the cursor names imported files by sha256; a re-run skips them, a
changed file is read again (its unchanged rows are duplicates); a run that stops half-way
reads the file again; a dry run stores nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy import text
from typer.testing import CliRunner

from syncline.bootstrap import Syncline
from syncline.cli.main import app
from syncline.connectors.runs import run_stream
from syncline.services.connectors import cursors

from .conftest import TIME_HEADER, TIME_MAPPING, make, write

ROWS = [f"E{i},W-1,acme,0{i}/06/2026,{i}\n" for i in range(1, 6)]


def _counts(system: Syncline) -> tuple[int, int]:
    with system.engine.connect() as conn:
        inbox = conn.execute(text("SELECT count(*) FROM inbox")).scalar()
        cursor_rows = conn.execute(text("SELECT count(*) FROM connector_cursors")).scalar()
    return int(inbox or 0), int(cursor_rows or 0)


def _sync(tmp_path: Path, system: Syncline, **stream: object):  # type: ignore[no-untyped-def]
    return run_stream(system.engine, "imp", make(tmp_path, TIME_MAPPING, **stream).streams()[0],
                      clock=system.clock)


def test_a_rerun_skips_imported_files_and_reads_new_ones(tmp_path: Path,
                                                         system: Syncline) -> None:
    body = TIME_HEADER + "".join(ROWS[:2])
    write(tmp_path, "in/a.csv", body)
    first = _sync(tmp_path, system)
    assert (first.accepted, first.batches) == (2, 1)
    assert json.loads(first.cursor_after or "")["files"] == {
        "a.csv": hashlib.sha256(body.encode()).hexdigest()}
    again = _sync(tmp_path, system)
    assert (again.batches, again.accepted, again.duplicates) == (0, 0, 0)  # not even read
    write(tmp_path, "in/b.csv", TIME_HEADER + ROWS[2])
    third = _sync(tmp_path, system)
    assert (third.batches, third.accepted) == (1, 1)
    assert set(json.loads(third.cursor_after or "")["files"]) == {"a.csv", "b.csv"}


def test_a_changed_file_is_read_again_unchanged_rows_are_duplicates(
        tmp_path: Path, system: Syncline) -> None:
    write(tmp_path, "in/a.csv", TIME_HEADER + "".join(ROWS[:3]))
    _sync(tmp_path, system)
    changed = ROWS[1].replace(",2\n", ",2.5\n").replace("W-1,acme,02/06/2026,2.5",
                                                       "W-1,acme,02/06/2026,\"2,5\"")
    write(tmp_path, "in/a.csv", TIME_HEADER + ROWS[0] + changed + ROWS[2] + ROWS[3])
    result = _sync(tmp_path, system)
    assert (result.accepted, result.duplicates, result.rejected) == (2, 2, 0)  # E2' and E4
    with system.engine.connect() as conn:
        subjects = [r[0] for r in conn.execute(text(
            "SELECT subject FROM inbox WHERE subject = 'time/E2'"))]
    assert len(subjects) == 2  # both versions of E2, the new one with a new id


def test_a_run_that_stops_half_way_leaves_the_file_unrecorded(tmp_path: Path,
                                                              system: Syncline) -> None:
    from syncline.connectors.sdk.errors import VendorError

    write(tmp_path, "in/a.csv", TIME_HEADER + "".join(ROWS))
    stream = make(tmp_path, TIME_MAPPING, batch_size=2).streams()[0]

    class Stops:
        name, description = stream.name, stream.description

        def read(self, cursor: str | None):  # type: ignore[no-untyped-def]
            for i, batch in enumerate(stream.read(cursor)):
                if i == 1:
                    raise VendorError("files", "disk went away")
                yield batch

    broken = run_stream(system.engine, "imp", Stops(), clock=system.clock)
    assert (broken.accepted, broken.error is not None) == (2, True)
    with system.engine.connect() as conn:
        assert cursors.read(conn, "imp", "s") is None  # the file is not recorded as imported
    again = run_stream(system.engine, "imp", stream, clock=system.clock)
    assert (again.accepted, again.duplicates, again.batches) == (3, 2, 3)
    assert [b.cursor is None for b in stream.read(None)] == [True, True, False]


def test_a_vanished_file_leaves_the_cursor(tmp_path: Path, system: Syncline) -> None:
    write(tmp_path, "in/a.csv", TIME_HEADER + ROWS[0])
    write(tmp_path, "in/b.csv", TIME_HEADER + ROWS[1])
    _sync(tmp_path, system)
    (tmp_path / "in" / "a.csv").unlink()
    write(tmp_path, "in/c.csv", TIME_HEADER + ROWS[2])
    result = _sync(tmp_path, system)
    assert set(json.loads(result.cursor_after or "")["files"]) == {"b.csv", "c.csv"}


def test_dry_run_shows_events_and_refusals_and_writes_nothing(
        tmp_path: Path, system: Syncline) -> None:
    write(tmp_path, "in/a.csv", TIME_HEADER + ROWS[0] + "E9,W-1,acme,31/06/2026,1\n")
    mapping = tmp_path / "m.yaml"
    mapping.write_text(json.dumps(TIME_MAPPING))  # JSON is YAML
    config = tmp_path / "connectors.yaml"
    config.write_text(json.dumps({"connectors": [{"name": "imp", "kind": "files", "settings": {
        "directory": str(tmp_path), "streams": [
            {"name": "s", "path": "in/*.csv", "mapping": str(mapping)}]}}]}))
    before = _counts(system)
    url = str(system.engine.url)
    r = CliRunner().invoke(app, ["connectors", "sync", "imp", "--dry-run", "--config",
                                 str(config), "--database-url", url, "--json"])
    assert r.exit_code == 0, r.output
    shown = json.loads(r.stdout)
    assert (shown[0]["events"], shown[0]["refusals"]) == (1, 1)
    assert shown[0]["first_events"][0]["subject"] == "time/E1"
    assert "a.csv row 3 column 'date'" in shown[0]["first_refusals"][0]
    assert _counts(system) == before  # nothing in the inbox, no cursor
    stored = CliRunner().invoke(app, ["connectors", "sync", "imp", "--config", str(config),
                                      "--database-url", url, "--json"])
    assert stored.exit_code == 0, stored.output
    assert _counts(system) == (before[0] + 2, before[1] + 1)  # the real sync stores them
