"""A stream is a directory (or glob) of export files, read into canonical events.

The cursor is the set of files imported, each by name and sha256 (JSON): a re-run skips a
file whose content it has imported, and reads a changed file again, where every unchanged row
is a duplicate (content ids, ``mapping.py``) and every changed row a new version. A file's
rows go out in batches; only its last batch carries the cursor naming it, so a run that stops
half-way reads that file again (duplicates) and never skips what was not stored.

A row that cannot be mapped is a refusal naming the file, the row and the column, kept raw;
the other rows go on. A file that cannot be opened at all (not a workbook, not JSON) is one
refusal naming the file; a file that breaks half-way keeps the rows read before it.
"""

from __future__ import annotations

import glob
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from syncline.connectors.files import mapping as m
from syncline.connectors.files import transforms as t
from syncline.connectors.files.readers import ReadOptions, Unreadable, read
from syncline.connectors.files.spec import Mapping
from syncline.connectors.sdk.base import Batch
from syncline.connectors.sdk.events import content_id, refusal
from syncline.services.messaging.inbox import Refusal

# what a mapping may raise on a row beyond RowError is a bug; it still refuses only that row
UNEXPECTED = (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_cursor(cursor: str | None) -> dict[str, str]:
    """The files imported, name → sha256 (a cursor that is not ours reads as none)."""
    if not cursor:
        return {}
    try:
        files = json.loads(cursor).get("files", {})
    except (ValueError, AttributeError):
        return {}
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def dump_cursor(files: dict[str, str]) -> str:
    return json.dumps({"files": dict(sorted(files.items()))}, separators=(",", ":"))


@dataclass
class FileStream:
    name: str
    description: str
    source: str  # files/<connector>
    root: Path  # relative names in the cursor and in reasons are relative to it
    pattern: str  # a glob under root
    options: ReadOptions
    mapping: Mapping
    batch_size: int = 500

    def files(self) -> list[Path]:
        """The files the stream covers now, in name order."""
        found = glob.glob(str(self.root / self.pattern), recursive=True)
        return sorted(p for p in map(Path, found) if p.is_file())

    def relative(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def read(self, cursor: str | None) -> Iterator[Batch]:
        done = load_cursor(cursor)
        present = {self.relative(p): p for p in self.files()}
        state = {k: v for k, v in done.items() if k in present}  # forget vanished files
        for rel, path in present.items():
            digest = sha256_of(path)
            if done.get(rel) == digest:
                continue
            batch = Batch()
            for item in self._file(path, rel, digest):
                if isinstance(item, dict):
                    batch.events.append(item)
                else:
                    batch.refusals.append(item)
                if len(batch.events) + len(batch.refusals) >= self.batch_size:
                    yield batch
                    batch = Batch()
            state[rel] = digest
            batch.cursor = dump_cursor(state)
            yield batch

    def _file(self, path: Path, rel: str, digest: str) -> Iterator[dict[str, Any] | Refusal]:
        file_time = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        records = read(path, rel, self.options)
        last_row = 0
        try:
            if self.mapping.group is None:
                for record in records:
                    last_row = record.row
                    yield self._one([record], rel, digest, file_time)
            else:
                for group in self._groups(records, rel, digest):
                    last_row = group[-1].row if isinstance(group, list) else last_row
                    yield (self._one(group, rel, digest, file_time)
                           if isinstance(group, list) else group)
        except Unreadable as bad:
            yield self._file_refusal(rel, digest, str(bad), last_row)
        except Exception as bad:  # a parser failing half-way: the rows read are kept
            yield self._file_refusal(rel, digest, f"cannot be read: {type(bad).__name__}: "
                                     f"{bad}"[:300], last_row)

    def _groups(self, records: Iterator[m.Record], rel: str,
                digest: str) -> Iterator[list[m.Record] | Refusal]:
        """Adjacent rows with the same key → one group; a key met again later is refused
        (the file must be sorted by it: groups are built in constant memory)."""
        assert self.mapping.group is not None
        by = self.mapping.group.by
        key: Any = None
        rows: list[m.Record] = []
        first_row: dict[str, int] = {}
        for record in records:
            try:
                this = t.plain(m.value(by, record)) if record.problem is None else None
            except m.RowError as bad:
                yield self._refusal([record], rel, digest, bad)
                continue
            if this is None:
                yield self._refusal([record], rel, digest, m.RowError(
                    rel, record.row, "(row)", record.problem or "no group key"))
                continue
            this = str(this)
            if rows and this == key:
                rows.append(record)
                continue
            if rows:
                yield rows
            if this in first_row:
                yield self._refusal([record], rel, digest, m.RowError(
                    rel, record.row, m.where_of(by),
                    f"group {this!r} began at row {first_row[this]} and was interrupted: "
                    "sort the file by the group column"))
                key, rows = None, []
                continue
            first_row[this] = record.row
            key, rows = this, [record]
        if rows:
            yield rows

    def _one(self, records: list[m.Record], rel: str, digest: str,
             file_time: datetime) -> dict[str, Any] | Refusal:
        try:
            return m.map_records(self.mapping, records, source=self.source,
                                 file_time=file_time)
        except m.RowError as bad:
            return self._refusal(records, rel, digest, bad)
        except UNEXPECTED as bad:
            return self._refusal(records, rel, digest, m.RowError(
                rel, records[0].row, "(row)", f"could not be mapped: {type(bad).__name__}"))

    def _refusal(self, records: list[m.Record], rel: str, digest: str,
                 error: m.RowError) -> Refusal:
        raw = {"file": rel, "sha256": digest,
               "rows": [{"row": r.row, "cells": r.values} for r in records]}
        return refusal(source=self.source,
                       event_id=content_id(f"{self.name}/{rel}#{records[0].row}"[:150], raw),
                       record=raw, reason=str(error), etype=self.mapping.etype,
                       field=error.column[:200])

    def _file_refusal(self, rel: str, digest: str, reason: str, after_row: int) -> Refusal:
        where = f" after row {after_row}" if after_row else ""
        raw = {"file": rel, "sha256": digest, "after_row": after_row, "error": reason}
        return refusal(source=self.source,
                       event_id=content_id(f"{self.name}/{rel}"[:150], raw), record=raw,
                       reason=f"{rel}{where}: {reason}", etype=self.mapping.etype,
                       field="(file)")
