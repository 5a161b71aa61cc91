"""A deal is opened with few statements (one look-up for whether the deal is open and its
number or project code taken, one for its two cross-references; nothing read back that the
message itself just wrote), and what those reads decided is kept: links an operator made
before the deal arrived stay, a re-sent deal with billing terms and stated recognition is
idempotent, a deal reusing another's number is refused without touching the other's terms."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from syncline.adapters.db.billing_tables import billing_caps, contract_billing_terms
from syncline.adapters.db.revenue_tables import line_recognition
from syncline.adapters.db.tables import contracts, inbox, projects, xref
from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.services import xref as links
from syncline.services.handlers.estimates import open_contract_recognized
from syncline.services.messaging.inbox import receive_many
from syncline.services.messaging.outcomes import Applied
from syncline.services.messaging.unit import Unit
from tests.builders import deal
from tests.conftest import fixed_clock


def _with_terms(deal_id: str, number: str, project: str, *, sequence: int = 1
                ) -> dict[str, Any]:
    d = deal(deal_id, number=number, project=project)
    d["data"]["billing_terms"] = {"caps": [{"cap_id": f"NTE-{number}", "limit": "9000"}],
                                  "expenses": {"policy": "markup", "markup_percent": "10"}}
    d["data"]["lines"][0]["recognition"] = "right_to_invoice"
    d["sequence"] = sequence
    return d


@pytest.fixture
def firm(tmp_path: Path) -> Iterator[Syncline]:
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'd.db'}"),
                       clock=fixed_clock, durable=False)
    with system.engine.begin() as conn:
        receive_many(conn, [_with_terms("D-1", "C-1", "P-1")], now=fixed_clock())
    system.process()
    yield system
    system.engine.dispose()


def _ingest(system: Syncline, *messages: dict[str, Any]) -> list[tuple[str, str | None]]:
    with system.engine.begin() as conn:
        receive_many(conn, list(messages), now=fixed_clock())
    system.process()
    with system.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(inbox.c.status, inbox.c.reason).where(
            inbox.c.event_id.in_([m["id"] for m in messages])).order_by(inbox.c.seq))]


def _count(system: Syncline, table: Any, **where: str) -> int:
    with system.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(
            *(table.c[k] == v for k, v in where.items()))).scalar_one())


def test_links_made_before_the_deal_arrived_are_kept(firm: Syncline) -> None:
    with firm.engine.begin() as conn:
        contract_id = conn.execute(select(contracts.c.id)).scalar_one()
        project_id = conn.execute(select(projects.c.id)).scalar_one()
        for kind, key, to in (("deal", "D-2", contract_id), ("project", "P-2", project_id)):
            links.link(conn, system="crm" if kind == "deal" else "psa", object_type=kind,
                       external_id=key, to=to, reason="merged", actor="ops", now=fixed_clock())
    assert _ingest(firm, _with_terms("D-2", "C-2", "P-2")) == [("applied", None)]
    with firm.engine.connect() as conn:
        kept = dict(conn.execute(select(xref.c.external_id, xref.c.syncline_id).where(
            xref.c.external_id.in_(["D-2", "P-2", "ACC-D-2"]))).all())
    assert kept["D-2"] == contract_id and kept["P-2"] == project_id  # the operator's links
    assert "ACC-D-2" in kept  # the new account's link, written
    assert _count(firm, contract_billing_terms, contract_number="C-2") == 1


def test_a_resent_deal_with_terms_is_idempotent(firm: Syncline) -> None:
    assert _ingest(firm, _with_terms("D-1", "C-1", "P-1", sequence=2)) == [
        ("applied", "contract already open (idempotent)")]
    assert _count(firm, contract_billing_terms, contract_number="C-1") == 1
    assert _count(firm, billing_caps, contract_number="C-1") == 1
    assert _count(firm, line_recognition, contract_number="C-1") == 1
    renumbered = _with_terms("D-1", "C-1B", "P-1", sequence=3)  # its contract is C-1
    assert _ingest(firm, renumbered) == [("applied", "contract already open (idempotent)")]
    assert _count(firm, contract_billing_terms, contract_number="C-1B") == 0
    assert _count(firm, line_recognition, contract_number="C-1B") == 0


def test_a_deal_reusing_a_number_is_refused_and_leaves_the_terms(firm: Syncline) -> None:
    other = _with_terms("D-9", "C-1", "P-9")
    other["data"]["billing_terms"]["expenses"]["markup_percent"] = "50"
    [(status, reason)] = _ingest(firm, other)
    assert status == "failed" and "contract number C-1" in str(reason)
    with firm.engine.connect() as conn:
        assert conn.execute(select(contract_billing_terms.c.markup_percent)).scalar_one() == 10
    assert _count(firm, line_recognition, contract_number="C-1") == 1


def test_a_new_deal_is_opened_with_fourteen_statements(firm: Syncline) -> None:
    """(Counted in the handler: a new customer, terms with a cap, a stated recognition and
    four outbox rows, the first after reading the outbox sequence; 29 before, then 20; 14
    since the deal's reads are one statement and its four outbox rows one insert.)"""
    statements: list[str] = []
    with firm.engine.begin() as conn:
        event.listen(conn, "before_cursor_execute",
                     lambda *args: statements.append(args[2]))
        b = Unit(conn=conn, ref=firm.ref, now=fixed_clock())
        outcome = open_contract_recognized(b, _with_terms("D-3", "C-3", "P-3")["data"])
    assert isinstance(outcome, Applied) and outcome.provides[-1] == "contract:C-3"
    assert len(statements) == 14, statements
