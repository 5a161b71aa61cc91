"""Read models of what a closed deal provisioned: contracts (with their customer) and projects
(with their WBS). Plain dictionaries, as the API and CLI print them.

The lists page by key (ADR 0023): ``after`` the last key of the previous page (a contract's
number, a project's code), at most ``limit`` rows; without ``limit`` the whole list, as
before. A page reads its rows by the unique index of its key and, for projects, the WBS of
just its projects in one query."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, select

from syncline.adapters.db.tables import contracts, customers, projects, wbs_tasks
from syncline.services.rows import plain_row

CHUNK = 500  # project ids in one IN (…) look-up of their WBS


def list_contracts(conn: Connection, *, after: str | None = None, limit: int | None = None
                   ) -> list[dict[str, Any]]:
    """Contracts by number with their customer's name: those after ``after``, ``limit`` of
    them (default: all)."""
    q = select(contracts, customers.c.name.label("customer_name")).join(customers)
    if after is not None:
        q = q.where(contracts.c.number > after)
    q = q.order_by(contracts.c.number)
    return [plain_row(r) for r in conn.execute(q if limit is None else q.limit(limit))]


def contract_head(conn: Connection, number: str) -> dict[str, Any] | None:
    """One contract as ``list_contracts`` lists it (with its customer's name), or None."""
    r = conn.execute(select(contracts, customers.c.name.label("customer_name"))
                     .join(customers).where(contracts.c.number == number)).first()
    return None if r is None else plain_row(r)


def find_contract(conn: Connection, number: str) -> dict[str, Any] | None:
    r = conn.execute(select(contracts).where(contracts.c.number == number)).first()
    return None if r is None else plain_row(r)


def list_projects(conn: Connection, *, after: str | None = None, limit: int | None = None
                  ) -> list[dict[str, Any]]:
    """Projects by code, each with its WBS tasks by code: those after ``after``, ``limit`` of
    them (default: all)."""
    q = select(projects)
    if after is not None:
        q = q.where(projects.c.code > after)
    q = q.order_by(projects.c.code)
    rows = conn.execute(q if limit is None else q.limit(limit)).all()
    tasks: dict[str, list[dict[str, Any]]] = defaultdict(list)
    ids = [p.id for p in rows]
    for start in range(0, len(ids), CHUNK):
        for t in conn.execute(select(wbs_tasks.c.project_id, wbs_tasks.c.code, wbs_tasks.c.name,
                                     wbs_tasks.c.billable)
                              .where(wbs_tasks.c.project_id.in_(ids[start:start + CHUNK]))
                              .order_by(wbs_tasks.c.project_id, wbs_tasks.c.code)):
            tasks[t.project_id].append({"code": t.code, "name": t.name, "billable": t.billable})
    return [{**plain_row(p), "wbs": tasks.get(p.id, [])} for p in rows]
