"""Master-data versions in the database: set (validated, audited with before and after) and
read back; ``CurrentReference`` gives the system's reference, refreshed when a new version
is stored (by this process or another), else the seed."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from syncline.adapters.db.masterdata_tables import master_data_versions
from syncline.adapters.db.tables import contracts, projects, workers
from syncline.domain.masterdata import (
    MasterDataProblem,
    reference_from_dict,
    reference_to_dict,
)
from syncline.domain.reference import ReferenceData
from syncline.services.clock import iso
from syncline.services.governance import audit
from syncline.services.masterdata.files import MasterDataInvalid

AUDIT_ACTION = "master_data.set"


def _latest(conn: Connection) -> Any | None:
    return conn.execute(select(master_data_versions).order_by(
        master_data_versions.c.version.desc()).limit(1)).first()


def _parse(document: str, where: str) -> ReferenceData:
    made = reference_from_dict(json.loads(document))
    if isinstance(made, tuple):  # stored only after validation: a hand-edited row
        raise MasterDataInvalid(where, made)
    return made


def in_use_problems(conn: Connection, ref: ReferenceData) -> list[MasterDataProblem]:
    """Codes recorded state uses (contracts' entities, tax profiles and service lines,
    projects' templates, workers' entities) that ``ref`` no longer lists: removing them
    would leave contracts without their master data. Mark them inactive instead."""
    listed = {
        "legal_entities": {e.code for e in ref.entities},
        "tax_profiles": {t.code for t in ref.tax_profiles},
        "dimensions.service_lines": {d.code for d in ref.dimensions
                                     if d.kind == "service_line"},
        "wbs_templates": {t.code for t in ref.templates},
    }
    used = (("legal_entities", contracts.c.entity_code, "contract"),
            ("legal_entities", workers.c.entity_code, "worker"),
            ("tax_profiles", contracts.c.tax_profile, "contract"),
            ("dimensions.service_lines", contracts.c.service_line, "contract"),
            ("wbs_templates", projects.c.template, "project"))
    found = []
    for section, column, what in used:
        for code, count in conn.execute(select(column, func.count()).group_by(column)):
            if code not in listed[section]:
                found.append(MasterDataProblem(
                    section, f"{code} is used by {count} {what}(s): keep it, marked "
                    "active: false, instead of removing it"))
    return found


def current_document(conn: Connection, seed: ReferenceData) -> dict[str, Any]:
    """The current master data as a document, with where it comes from (``version`` is
    None for the seed)."""
    row = _latest(conn)
    if row is None:
        return {"version": None, "source": "seed", "set_by": None, "set_at": None,
                "master_data": reference_to_dict(seed)}
    return {"version": row.version, "source": row.source, "set_by": row.set_by,
            "set_at": row.set_at, "master_data": json.loads(row.document)}


def set_master_data(conn: Connection, document: object, *, actor: str, source: str,
                    now: datetime, seed: ReferenceData, reason: str | None = None
                    ) -> dict[str, Any]:
    """Store ``document`` as the next version (in the caller's transaction) with its audit
    row (before: the current document; after: this one). MasterDataInvalid names every
    problem — of the document, or a code in use it removes — and nothing is stored then.
    Storing the current document again adds no version."""
    made = reference_from_dict(document)
    if isinstance(made, tuple):
        raise MasterDataInvalid(source, made)
    removed = in_use_problems(conn, made)
    if removed:
        raise MasterDataInvalid(source, tuple(removed))
    after = reference_to_dict(made)  # normalised: defaults written out, decimals as text
    current = current_document(conn, seed)
    if current["master_data"] == after:
        return {**current, "changed": False}
    version = (current["version"] or 0) + 1
    conn.execute(master_data_versions.insert().values(
        version=version, document=json.dumps(after, sort_keys=True), source=source,
        set_by=actor, set_at=iso(now), reason=reason))
    audit.append(conn, actor=actor, action=AUDIT_ACTION, subject=f"master_data:{version}",
                 now=now, before=current["master_data"], after=after,
                 reason=reason or f"from {source}")
    return {"version": version, "source": source, "set_by": actor, "set_at": iso(now),
            "master_data": after, "changed": True}


def stored_versions(conn: Connection) -> list[dict[str, Any]]:
    """Every stored version, oldest first (without the documents)."""
    return [{"version": r.version, "source": r.source, "set_by": r.set_by,
             "set_at": r.set_at, "reason": r.reason}
            for r in conn.execute(select(
                master_data_versions.c.version, master_data_versions.c.source,
                master_data_versions.c.set_by, master_data_versions.c.set_at,
                master_data_versions.c.reason).order_by(master_data_versions.c.version))]


class CurrentReference:
    """The system's reference data: the newest stored version, else ``seed``. Each read asks
    the database for the newest version number only (one indexed query) and parses a
    document once per version, so a version set by another process is seen at its next
    batch or request."""

    def __init__(self, seed: ReferenceData) -> None:
        self.seed = seed
        self._cached: tuple[int, ReferenceData] | None = None

    def get(self, engine: Engine) -> ReferenceData:
        with engine.connect() as conn:
            return self.of(conn)

    def of(self, conn: Connection) -> ReferenceData:
        version = conn.execute(select(func.max(master_data_versions.c.version))).scalar()
        if version is None:
            return self.seed
        cached = self._cached
        if cached is not None and cached[0] == version:
            return cached[1]
        document = conn.execute(select(master_data_versions.c.document).where(
            master_data_versions.c.version == version)).scalar_one()
        made = _parse(document, f"master_data_versions {version}")
        self._cached = (version, made)
        return made
