"""The append-only, hash-chained audit log of human actions and configuration changes.

Each row holds who (``actor``: a principal's name), what (``action``, ``subject``), the state
before and after (JSON), why (``reason``), when (``at``), the previous row's hash and its own:
``hash = sha256(prev_hash + canonical JSON of seq, at, actor, action, subject, before, after,
reason)``. ``seq`` runs 1, 2, 3 … without gaps. ``verify`` recomputes the chain and names the
first row that was edited, deleted or inserted. Rows are written in the caller's transaction,
so an action and its audit row commit together; two concurrent appends cannot both take the
same ``seq`` (primary key), so the chain never forks.

What a chain cannot show by itself: a rewrite of the whole tail with recomputed hashes, or
the deletion of the last rows. ``head`` gives the last (seq, hash): keep it elsewhere
(a ticket, a log shipper) to anchor the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text

from syncline.adapters.db.governance_tables import audit_log
from syncline.services.clock import iso

GENESIS = "0" * 64


def _canonical(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str,
                      ensure_ascii=False)


def row_hash(prev_hash: str, seq: int, at: str, actor: str, action: str, subject: str,
             before: str | None, after: str | None, reason: str | None) -> str:
    body = json.dumps([seq, at, actor, action, subject, before, after, reason],
                      separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + body).encode("utf-8", "surrogatepass")).hexdigest()


AUDIT_LOCK = 0x5359_4E43_0002  # "SYNC" 2: PostgreSQL advisory lock key of the audit chain


def append(conn: Connection, *, actor: str, action: str, subject: str, now: datetime,
           before: Any = None, after: Any = None, reason: str | None = None) -> int:
    """Append one row (in the caller's transaction); its ``seq``.

    Appends are serialized: on PostgreSQL a transaction-scoped advisory lock makes a second
    writer wait for the first to commit and then chain onto its row (instead of both taking
    the same ``seq`` and one failing); on SQLite every unit of work holds the write lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK})
    last = conn.execute(select(audit_log.c.seq, audit_log.c.hash)
                        .order_by(audit_log.c.seq.desc()).limit(1)).first()
    seq = (last.seq + 1) if last else 1
    prev = last.hash if last else GENESIS
    at = iso(now)
    b, a = _canonical(before), _canonical(after)
    conn.execute(audit_log.insert().values(
        seq=seq, at=at, actor=actor, action=action, subject=subject, before=b, after=a,
        reason=reason, prev_hash=prev,
        hash=row_hash(prev, seq, at, actor, action, subject, b, a, reason)))
    return seq


def entries(conn: Connection, *, actor: str | None = None, action: str | None = None,
            limit: int = 1000) -> list[dict[str, Any]]:
    q = select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
    if actor:
        q = q.where(audit_log.c.actor == actor)
    if action:
        q = q.where(audit_log.c.action == action)
    out = []
    for r in conn.execute(q):
        row = dict(r._mapping)
        for k in ("before", "after"):
            row[k] = json.loads(row[k]) if row[k] is not None else None
        out.append(row)
    return list(reversed(out))


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    rows: int
    head: str
    seq: int | None = None  # the first row found wrong
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "rows": self.rows, "head": self.head, "seq": self.seq,
                "problem": self.problem}


def verify(conn: Connection, anchors: Iterable[tuple[int, str]] = ()) -> Verdict:
    """Recompute the chain from the first row; the first edited, deleted or inserted row.

    ``anchors`` are heads (seq, hash) written down outside the database earlier
    (``syncline audit anchor``): each must still be in the chain with that hash. Without
    them a log whose *latest* rows were deleted, or that was rewritten whole with fresh
    hashes, still chains; with them, either is found."""
    wanted = dict(anchors)
    chain = _verify_chain(conn, wanted)
    if not chain.ok:
        return chain
    for seq in sorted(wanted):
        if seq > chain.rows:
            return Verdict(False, chain.rows, chain.head, seq,
                           f"the anchor at row {seq} is gone: the log was cut back to "
                           f"{chain.rows} rows")
    return chain


def _verify_chain(conn: Connection, anchors: dict[int, str]) -> Verdict:
    prev, expected, count = GENESIS, 1, 0
    for r in conn.execute(select(audit_log).order_by(audit_log.c.seq)):
        count += 1
        if r.seq != expected:
            return Verdict(False, count, prev, expected,
                           f"row {expected} is missing (deleted): the log goes on at {r.seq}"
                           if r.seq > expected else f"row {r.seq} appears twice")
        if r.prev_hash != prev:
            return Verdict(False, count, prev, r.seq,
                           f"row {r.seq} does not follow row {r.seq - 1} (its previous hash "
                           "differs): a row was inserted or deleted before it")
        if row_hash(prev, r.seq, r.at, r.actor, r.action, r.subject, r.before, r.after,
                    r.reason) != r.hash:
            return Verdict(False, count, prev, r.seq,
                           f"row {r.seq} was edited or inserted: its content does not match "
                           "its hash")
        if r.seq in anchors and anchors[r.seq] != r.hash:
            return Verdict(False, count, prev, r.seq,
                           f"row {r.seq} differs from its anchor: the log up to it was "
                           "rewritten (its hashes recomputed)")
        prev, expected = r.hash, expected + 1
    return Verdict(True, count, prev)


def parse_anchors(text: str) -> list[tuple[int, str]]:
    """Lines ``<seq> <hash> [when]`` as ``syncline audit anchor`` writes them."""
    out: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if len(parts) < 2 or not parts[0].isdigit():
            raise ValueError(f"anchor line {number}: expected '<seq> <hash>', got {line!r}")
        out.append((int(parts[0]), parts[1]))
    return out


def head(conn: Connection) -> tuple[int, str]:
    seq = conn.execute(select(func.max(audit_log.c.seq))).scalar()
    if not seq:
        return 0, GENESIS
    return int(seq), conn.execute(select(audit_log.c.hash).where(
        audit_log.c.seq == seq)).scalar_one()


def record(engine: Engine, *, actor: str, action: str, subject: str, now: datetime,
           before: Any = None, after: Any = None, reason: str | None = None) -> int:
    """Append one row in a transaction of its own (an action that committed already)."""
    with engine.begin() as conn:
        return append(conn, actor=actor, action=action, subject=subject, now=now,
                      before=before, after=after, reason=reason)
