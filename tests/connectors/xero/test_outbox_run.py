"""Real outbox payloads from a small Syncline run, delivered into the fake Xero: the
customer, the invoice (and its release journal, covered by the document) arrive once, and
Xero's open balance is Syncline's invoice total."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import select

from syncline.adapters.db.tables import outbox
from syncline.bootstrap import Syncline
from syncline.connectors.xero.fake import FakeXero
from tests.builders import deal, time_entry, worker
from tests.connectors.xero.conftest import US, Connect
from tests.services.test_billing_wiring import ingest, run


def test_a_billing_run_s_outbox_posts_once_into_xero(system: Syncline, fake: FakeXero,
                                                     connect: Connect) -> None:
    ingest(system, deal(), worker(), time_entry("T-1", hours="6"))
    (number,) = run(system, "2026-01").invoices
    with system.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.id, outbox.c.kind, outbox.c.payload).where(
            outbox.c.kind.like("erp.%")).order_by(outbox.c.seq)).all()
    kinds = [r.kind for r in rows]
    assert "erp.customer.upsert" in kinds and "erp.invoice.post" in kinds
    target = connect().target()
    for _ in range(2):  # the outbox may deliver twice: still one document each
        for r in rows:
            target.deliver(r.kind, json.loads(r.payload), r.id)
    books = fake.books[US]
    (doc,) = books.records["Invoices"].values()
    assert (doc["InvoiceNumber"], doc["Status"], doc["Total"]) == (
        number, "AUTHORISED", Decimal("1200.00"))
    assert "CurrencyRate" not in json.loads(fake.writes("PUT")[-1].content)["Invoices"][0]
    assert len(books.records["Contacts"]) == 1
    assert list(books.open_balances().values()) == [Decimal("1200.00")]
