"""Read models of what a closed deal provisioned: contracts (with their customer) and projects
(with their WBS). Plain dictionaries, as the API and CLI print them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from syncline.adapters.db.tables import contracts, customers, projects, wbs_tasks
from syncline.services.rows import plain_row


def list_contracts(conn: Connection) -> list[dict[str, Any]]:
    return [plain_row(r) for r in conn.execute(
        select(contracts, customers.c.name.label("customer_name"))
        .join(customers).order_by(contracts.c.number))]


def find_contract(conn: Connection, number: str) -> dict[str, Any] | None:
    r = conn.execute(select(contracts).where(contracts.c.number == number)).first()
    return None if r is None else plain_row(r)


def list_projects(conn: Connection) -> list[dict[str, Any]]:
    out = []
    for p in conn.execute(select(projects).order_by(projects.c.code)):
        d = plain_row(p)
        d["wbs"] = [plain_row(t) for t in conn.execute(
            select(wbs_tasks.c.code, wbs_tasks.c.name, wbs_tasks.c.billable)
            .where(wbs_tasks.c.project_id == p.id).order_by(wbs_tasks.c.code))]
        out.append(d)
    return out
