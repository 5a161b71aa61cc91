"""The paged lists (ADR 0023) answer what the whole lists answered.

- Walking the pages of holds (each status, and all), contracts and projects — any page size,
  ``after`` the last key of the page before — gives the rows of the whole read as it was
  before paging (copied here), in its order: for random keys that sort differently by case
  and punctuation, statuses and WBS tasks, on SQLite and on PostgreSQL (the order and the
  ``>`` are the database's collation, whichever it is).
- Over HTTP, following the ``Link: rel="next"`` headers from the first page gives the whole
  list, and the last page has no link.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, delete, select

from syncline.adapters.db.billing_tables import billing_holds
from syncline.adapters.db.tables import contracts, customers, projects, wbs_tasks
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.services.billing.queries import list_holds
from syncline.services.contracts import contract_head, list_contracts, list_projects
from syncline.services.rows import plain_row
from tests.conftest import examples, fixed_clock, pg_engine_of

# keys that sort differently by case and punctuation: the order must be the database's
keys = st.text(alphabet="aAbB-_:1", min_size=1, max_size=4)
HOLD_STATUSES = ("held", "approved", "billed")


@st.composite
def firms(draw: Any) -> dict[str, Any]:
    holds = draw(st.lists(st.tuples(keys, st.sampled_from(HOLD_STATUSES)), max_size=20,
                          unique_by=lambda h: h[0]))
    numbers = draw(st.lists(keys, unique=True, max_size=12))
    codes = draw(st.lists(keys, unique=True, max_size=12)) if numbers else []
    tasks = {c: draw(st.lists(keys, unique=True, max_size=3)) for c in codes}
    return {"holds": holds, "numbers": numbers, "codes": codes, "tasks": tasks,
            "limit": draw(st.integers(1, 6))}


def _store(conn: Connection, firm: dict[str, Any]) -> None:
    for table in (wbs_tasks, projects, contracts, customers, billing_holds):
        conn.execute(delete(table))
    conn.execute(customers.insert().values(id="cu-1", external_id="A-1", name="Acme"))
    for no, (key, status) in enumerate(firm["holds"]):
        conn.execute(billing_holds.insert().values(
            item_key=key, cap_id="cap", contract_number=f"C-{no % 2}", amount=Decimal(no),
            currency="USD", reason="cap", held_in="2026-01", status=status))
    for no, number in enumerate(firm["numbers"]):
        conn.execute(contracts.insert().values(
            id=f"ct-{no}", number=number, deal_id=f"D-{no}", customer_id="cu-1",
            entity_code="US01", tax_profile="T", currency="USD", start_date="2026-01-01",
            end_date="2026-12-31", billing_type="tm", payment_terms_days=30,
            service_line="consulting", version=1))
    for no, code in enumerate(firm["codes"]):
        conn.execute(projects.insert().values(
            id=f"pr-{no}", code=code, name=code, contract_id=f"ct-{no % len(firm['numbers'])}",
            template="standard", status="active"))
        for t, task in enumerate(firm["tasks"][code]):
            conn.execute(wbs_tasks.insert().values(project_id=f"pr-{no}", code=task,
                                                   name=f"{code}/{task}", billable=t % 2 == 0))


# the whole reads as they were before paging
def _whole_holds(conn: Connection, status: str | None) -> list[dict[str, Any]]:
    q = select(billing_holds).order_by(billing_holds.c.item_key)
    if status:
        q = q.where(billing_holds.c.status == status)
    return [plain_row(r) for r in conn.execute(q)]


def _whole_contracts(conn: Connection) -> list[dict[str, Any]]:
    return [plain_row(r) for r in conn.execute(
        select(contracts, customers.c.name.label("customer_name"))
        .join(customers).order_by(contracts.c.number))]


def _whole_projects(conn: Connection) -> list[dict[str, Any]]:
    out = []
    for p in conn.execute(select(projects).order_by(projects.c.code)):
        d = plain_row(p)
        d["wbs"] = [plain_row(t) for t in conn.execute(
            select(wbs_tasks.c.code, wbs_tasks.c.name, wbs_tasks.c.billable)
            .where(wbs_tasks.c.project_id == p.id).order_by(wbs_tasks.c.code))]
        out.append(d)
    return out


def _walk(read: Callable[..., list[dict[str, Any]]], key: str, limit: int
          ) -> list[dict[str, Any]]:
    """Every page, each read after the last key of the one before, until a short page."""
    out: list[dict[str, Any]] = []
    after: str | None = None
    for _ in range(100):  # a page that repeats itself would loop: at most 100 pages here
        got = read(after=after, limit=limit)
        assert len(got) <= limit
        out += got
        if len(got) < limit:
            return out
        after = got[-1][key]
    raise AssertionError(f"more than 100 pages: {out[:5]}…")


def _same_either_way(engine: Engine, firm: dict[str, Any]) -> None:
    with engine.begin() as conn:
        _store(conn, firm)
        limit = firm["limit"]
        for status in (*HOLD_STATUSES, None):
            assert _walk(lambda s=status, **kw: list_holds(conn, status=s, **kw), "item_key",
                         limit) == _whole_holds(conn, status) == list_holds(conn, status=status)
        whole = _whole_contracts(conn)
        assert _walk(lambda **kw: list_contracts(conn, **kw), "number", limit) == whole
        assert list_contracts(conn) == whole
        assert [contract_head(conn, c["number"]) for c in whole] == whole
        assert contract_head(conn, "no such contract") is None
        whole = _whole_projects(conn)
        assert _walk(lambda **kw: list_projects(conn, **kw), "code", limit) == whole
        assert list_projects(conn) == whole


def _sqlite(tmp_path: Path) -> Engine:
    return bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'paged.db'}"),
                     clock=fixed_clock, durable=False).engine


@settings(max_examples=examples(60), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(firm=firms())
def test_the_pages_are_the_whole_list(tmp_path: Path, firm: dict[str, Any]) -> None:
    engine = _sqlite(tmp_path)
    try:
        _same_either_way(engine, firm)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def pg_engine() -> Iterator[Engine]:
    yield from pg_engine_of("syncline_paged_reads")


@pytest.mark.postgres
@settings(max_examples=examples(30), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(firm=firms())
def test_the_pages_are_the_whole_list_on_postgresql(pg_engine: Engine,
                                                     firm: dict[str, Any]) -> None:
    _same_either_way(pg_engine, firm)


def test_following_the_next_links_gives_the_whole_list(tmp_path: Path) -> None:
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'api.db'}",
                                api_keys="test-key"), clock=fixed_clock, durable=False)
    from syncline.api.app import create_app

    firm = {"holds": [(f"k-{i:02}", HOLD_STATUSES[i % 3]) for i in range(7)],
            "numbers": [f"C-{i:02}" for i in range(6)], "codes": [f"P-{i}" for i in range(4)],
            "tasks": {f"P-{i}": ["1", "2"] for i in range(4)}, "limit": 2}
    with system.engine.begin() as conn:
        _store(conn, firm)
        wholes = {"/v1/billing/holds?status=all": _whole_holds(conn, None),
                  "/v1/billing/holds": _whole_holds(conn, "held"),
                  "/v1/contracts": _whole_contracts(conn),
                  "/v1/projects": _whole_projects(conn)}
    key = {"X-API-Key": "test-key"}
    with TestClient(create_app(system, background=False)) as http:
        for (path, whole), limit in itertools.product(wholes.items(), (1, 2, 3, 7)):
            assert http.get(path, headers=key).json() == whole  # the default page: all here
            got: list[dict[str, Any]] = []
            url: str | None = path + ("&" if "?" in path else "?") + f"limit={limit}"
            while url is not None:
                r = http.get(url, headers=key)
                assert r.status_code == 200, r.text
                got += r.json()
                link = r.headers.get("link")
                url = link[1:link.index(">")] if link else None
                assert (link is None) == (len(got) == len(whole)), (path, link)
            assert got == whole, path
    system.engine.dispose()
