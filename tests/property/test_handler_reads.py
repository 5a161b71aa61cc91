"""The one statement a deal and a worker version read (deals._KNOWN, workers._STATE) answers
what the reads it replaced answered, in any state of the tables they read: the CRM account's
link (services/xref.linked_id) and the customer it finds (by that link, else by the external
id: deals._CUSTOMER / _CUSTOMER_BY_KEY), which of the deal's and project's links are stored
(common._linked_of), whether the worker's version is stored, its worker row, its HRIS link.
And the reads a reversal and the processor now send straight to the driver (bulk.driver)
answer what their Core statements did. On SQLite, and on PostgreSQL when a server answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, bindparam, create_engine, or_, select

from syncline.adapters.db.scratch import throwaway_database
from syncline.adapters.db.tables import (
    billable_items,
    contracts,
    customers,
    metadata,
    projects,
    subject_state,
    worker_versions,
    workers,
    xref,
)
from syncline.services.billing import reversal
from syncline.services.handlers import deals
from syncline.services.handlers import workers as worker_handler
from syncline.services.handlers.common import _linked_of
from syncline.services.messaging.bulk import driver
from syncline.services.messaging.processor import book
from syncline.services.xref import linked_id
from tests.conftest import pg_admin

_TABLES = [customers, contracts, projects, xref, workers, worker_versions, billable_items,
           subject_state]
_keys = st.sampled_from(["A", "B", "C"])
_ids = st.sampled_from(["cus_1", "cus_2", "cus_9"])  # cus_9: never a customer


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    if request.param == "sqlite":
        made = create_engine("sqlite://")
        metadata.create_all(made, tables=_TABLES)
        yield made
        made.dispose()
        return
    admin = pg_admin()
    with throwaway_database(admin, "syncline_reads") as url:
        made = create_engine(url)
        metadata.create_all(made, tables=_TABLES)
        yield made
        made.dispose()
    admin.dispose()


_state = st.fixed_dictionaries({
    "customers": st.dictionaries(st.sampled_from(["cus_1", "cus_2"]), _keys, max_size=2),
    "accounts": st.dictionaries(_keys, _ids, max_size=3),  # crm/account -> customer id
    "deals": st.sets(_keys, max_size=3),  # crm/deal links stored
    "projects": st.sets(_keys, max_size=3),  # psa/project links stored
    "workers": st.dictionaries(_keys, st.tuples(st.integers(0, 5), st.booleans()),
                               max_size=3),  # worker -> (last sequence, terminated)
    "versions": st.sets(st.tuples(_keys, st.integers(0, 5)), max_size=5),
    "hris": st.dictionaries(_keys, st.sampled_from(["wkr_1", "wkr_9"]), max_size=3),
})


def _store(conn: Connection, state: dict[str, Any]) -> None:
    keyed: dict[str, str] = {}
    for cid, key in state["customers"].items():
        if key not in keyed:  # (external ids are unique)
            keyed[key] = cid
            conn.execute(customers.insert().values(id=cid, external_id=f"ACC-{key}",
                                                   name=cid))
    links = ([("crm", "account", f"ACC-{k}", v) for k, v in state["accounts"].items()]
             + [("crm", "deal", f"D-{k}", "ctr_1") for k in state["deals"]]
             + [("psa", "project", f"P-{k}", "prj_1") for k in state["projects"]]
             + [("hris", "worker", f"W-{k}", v) for k, v in state["hris"].items()])
    for system, kind, external, target in links:
        conn.execute(xref.insert().values(system=system, object_type=kind,
                                          external_id=external, syncline_id=target))
    for i, (key, (last, terminated)) in enumerate(sorted(state["workers"].items())):
        conn.execute(workers.insert().values(
            id=f"wkr_{i}", worker_id=f"W-{key}", name=key, role="dev", entity_code="US01",
            status="active", termination_date="2026-01-31" if terminated else None,
            last_sequence=last))
    for key, seq in state["versions"]:
        conn.execute(worker_versions.insert().values(
            worker_id=f"W-{key}", sequence=seq, effective_date="2026-01-01", role="dev",
            entity_code="US01", cost_rate="50", cost_currency="USD"))


@settings(max_examples=150, deadline=None)
@given(state=_state, deal=_keys, account=_keys, project=_keys)
def test_a_deals_one_read_answers_what_its_reads_did(
        engine: Engine, state: dict[str, Any], deal: str, account: str, project: str) -> None:
    with engine.connect() as conn, conn.begin() as tx:
        _store(conn, state)
        d, k, c = f"D-{deal}", f"ACC-{account}", f"P-{project}"
        got = conn.execute(deals._KNOWN, {"d": d, "n": "C-1", "c": c, "k": k}).one()
        linked = linked_id(conn, "crm", "account", k)
        row = conn.execute(deals._CUSTOMER, {"i": linked}).first() if linked is not None \
            else conn.execute(deals._CUSTOMER_BY_KEY, {"k": k}).first()
        found = {tuple(r) for r in conn.execute(_linked_of(2), {
            "s0": "crm", "t0": "deal", "e0": d, "s1": "psa", "t1": "project", "e1": c})}
        assert got.linked == linked
        assert (got.linked_customer if got.linked is not None else got.keyed_customer) == (
            None if row is None else row.id)
        assert {("crm", "deal", d)} & found == ({("crm", "deal", d)} if got.deal_linked
                                                else set())
        assert {("psa", "project", c)} & found == ({("psa", "project", c)}
                                                   if got.project_linked else set())
        tx.rollback()


@settings(max_examples=150, deadline=None)
@given(state=_state, worker=_keys, seq=st.integers(0, 5))
def test_a_worker_versions_one_read_answers_what_its_reads_did(
        engine: Engine, state: dict[str, Any], worker: str, seq: int) -> None:
    with engine.connect() as conn, conn.begin() as tx:
        _store(conn, state)
        w = f"W-{worker}"
        got = driver(conn, worker_handler._STATE, (w, seq, w, w)).one()
        version = conn.execute(select(worker_versions.c.sequence).where(
            (worker_versions.c.worker_id == bindparam("w"))
            & (worker_versions.c.sequence == bindparam("q"))), {"w": w, "q": seq}).first()
        row = conn.execute(select(workers).where(workers.c.worker_id == w)).first()
        assert bool(got.version_stored) == (version is not None)
        assert got.linked == linked_id(conn, "hris", "worker", w)
        assert (got.id, got.last_sequence, got.termination_date) == (
            (None, None, None) if row is None
            else (row.id, row.last_sequence, row.termination_date))
        tx.rollback()


_item_keys = st.sampled_from(["time:T-1", "time:T-2", "time:T-1/2", "expense:E-1"])


@settings(max_examples=100, deadline=None)
@given(items=st.dictionaries(_item_keys, st.tuples(
    st.one_of(st.none(), _item_keys), st.sampled_from(["generated", "invoiced", "reversed"]),
    st.one_of(st.none(), st.just("INV-1"))), max_size=4),
    subjects=st.dictionaries(_keys, st.integers(0, 2**40), max_size=2),
    origin=_item_keys, subject=_keys)
def test_a_reversals_and_a_subjects_reads_through_the_driver_answer_as_core_did(
        engine: Engine, items: dict[str, Any], subjects: dict[str, int], origin: str,
        subject: str) -> None:
    with engine.connect() as conn, conn.begin() as tx:
        for key, (of, status, invoice) in items.items():
            conn.execute(billable_items.insert().values(
                key=key, contract_number="C-1", source=key.split(":")[0],
                service_date="2026-01-05", description="d", quantity="1", unit_price="1",
                currency="USD", amount="1", rate_scope="contract", status=status,
                invoice_number=invoice, origin=of))
        for name, last in subjects.items():
            conn.execute(subject_state.insert().values(subject=name, last_sequence=last,
                                                       inbox_id="inb_1"))
        core = conn.execute(select(
            billable_items.c.key, billable_items.c.status, billable_items.c.invoice_number)
            .where(or_(billable_items.c.key == origin, billable_items.c.origin == origin)))
        assert sorted(map(tuple, driver(conn, reversal._PARTS, (origin, origin)))) == \
            sorted(map(tuple, core))
        assert driver(conn, book._LAST, (subject,)).scalar() == conn.execute(
            select(subject_state.c.last_sequence).where(
                subject_state.c.subject == subject)).scalar()
        tx.rollback()
