"""Lineage: any id resolves to its contract's chain; a document narrows it to what it touches."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncline.services.billing.run import run_billing
from syncline.services.lineage import find
from syncline.services.messaging.inbox import receive_many
from tests.builders import time_entry
from tests.conftest import fixed_clock
from tests.console.firm import Firm, small_firm


@pytest.fixture
def billed(tmp_path: Path) -> Firm:
    """T-1 (6h) billed in January; T-3 (2h, February) approved, not yet billed."""
    firm = small_firm(tmp_path)
    s = firm.system
    run_billing(s.engine, "2026-01", s.ref, s.charts, fixed_clock())
    with s.engine.begin() as conn:
        receive_many(conn, [time_entry("T-3", hours="2", day="2026-02-03")], now=fixed_clock())
    s.process()
    s.deliver()
    return firm


def _invoice(firm: Firm) -> str:
    with firm.system.engine.connect() as conn:
        chain = find(conn, "C-1")
    assert chain is not None
    return str(chain.invoices[0]["number"])


def test_an_invoice_leads_back_to_its_time_entry_and_on_to_its_journal(billed: Firm) -> None:
    number = _invoice(billed)
    with billed.system.engine.connect() as conn:
        chain = find(conn, number)
    assert chain is not None and chain.focus == ("invoice", number)
    assert chain.contract["number"] == "C-1" and chain.contract["deal_id"] == "D-1"
    assert [p["code"] for p in chain.projects] == ["P-1"]
    assert [i["key"] for i in chain.items] == ["time:T-1"]  # not T-3: not on this invoice
    assert [t["time_entry_id"] for t in chain.time] == ["T-1"]
    assert [str(i["total"]) for i in chain.invoices] == ["1200.00"]
    assert [e["source_id"] for e in chain.journal] == [number]
    assert {line["side"] for line in chain.journal[0]["lines"]} == {"debit", "credit"}
    posted = [d for d in chain.deliveries if d["kind"] == "erp.invoice.post"]
    assert [(d["document"], d["status"]) for d in posted] == [(number, "delivered")]
    assert all(d["correlation_id"] == "deal/D-1" for d in chain.deliveries)
    statuses = {m["subject"]: m["status"] for m in chain.messages}
    assert statuses == {"deal/D-1": "applied", "time/T-1": "applied"}


def test_any_id_finds_the_chain(billed: Firm) -> None:
    number = _invoice(billed)
    with billed.system.engine.connect() as conn:
        whole = find(conn, "D-1")
        assert whole is not None and whole.focus == ("deal", "D-1")
        assert sorted(t["time_entry_id"] for t in whole.time) == ["T-1", "T-3"]
        assert sorted(i["status"] for i in whole.items) == ["generated", "invoiced"]
        by_entry = find(conn, "T-3")
        assert by_entry is not None and by_entry.focus == ("time", "T-3")
        assert [i["key"] for i in by_entry.items] == ["time:T-3"] and by_entry.invoices == []
        journal_id = whole.journal[0]["id"]
        by_line = find(conn, journal_id)
        assert by_line is not None and by_line.focus == ("journal", journal_id)
        assert [t["time_entry_id"] for t in by_line.time] == ["T-1"]
        inbox_id = by_entry.time[0]["inbox_id"]
        by_message = find(conn, inbox_id)
        assert by_message is not None and by_message.contract["number"] == "C-1"
        outbox_id = whole.deliveries[0]["id"]
        assert find(conn, outbox_id).contract["number"] == "C-1"  # type: ignore[union-attr]
        assert find(conn, "P-1").focus == ("project", "P-1")  # type: ignore[union-attr]
        assert find(conn, "ACC-D-1") is None  # a customer is not one contract's
        assert find(conn, "nope") is None and find(conn, " ") is None
        assert find(conn, number).contract["number"] == "C-1"  # type: ignore[union-attr]
