"""Issue 13's end-to-end evidence: the demo firm with all three ERP targets as fakes.

The simulated firm (seed 9: 6 customers, 12 workers, January to March 2026) is run as
`syncline demo` runs it (billing, recognition, intercompany, FX revaluation, ERP summary
journals per month), with a disputed time entry on one invoice of each entity rejected
before March's run, so March credits it (three credit notes, two on foreign invoices).
Delivery is routed per legal entity (``EntityRouter``): US01 → NetSuite, GB01 → Xero,
DE01 → QuickBooks Online, each a stateful fake seeded from the firm's chart
(tests/e2e/erp_targets.py) whose mapping ``validate()`` passes.

Then: every customer, invoice, credit note and summary journal of an entity is in its ERP
exactly once and in no other system, every delivery is ``delivered``, and the cross-
reference holds the vendor's id of each; delivering again (and re-sending every row with
its outbox id) adds nothing. Customers pay in each ERP — in full, in part, the exact rest
of a credited invoice, and foreign invoices after the rates moved (USD-based rates of 13
April: EUR 0.9100, GBP 0.7950) — the payments streams bring ``payment.received`` back, the
April billing run posts the cash (and realized FX), and per customer and currency Syncline's
AR subledger = its GL's receivable = the ERP's open balance = the figures below.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from syncline.adapters.db.connector_tables import sandbox_received
from syncline.adapters.db.tables import billable_items, exceptions, outbox
from syncline.adapters.db.tables import xref as xref_table
from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.connectors.routing import EntityRouter
from syncline.connectors.runs import run_stream
from syncline.services.billing.run import run_billing
from syncline.services.close import steps as close
from syncline.services.ledger.reports.registry import report_options
from syncline.services.messaging import delivery
from syncline.services.messaging.inbox import receive_many
from syncline.services.revenue.sync import recognize
from syncline.simulator import SimulationConfig, end_of_stream, simulate
from tests.conftest import fixed_clock
from tests.e2e.erp_ar import ar_ledger, ar_subledger, names, realized_fx
from tests.e2e.erp_targets import GB_TENANT, held, open_balance, three_erps
from tests.services.test_rate_cards_close_fx import fx_published

pytestmark = pytest.mark.slow

CONFIG = SimulationConfig(seed=9, customers=6, workers=12, months=3)
D = Decimal
# One disputed time entry on each of these invoices is rejected before March's run.
DISPUTED = ("US01-2026-000002", "GB01-2026-000002", "DE01-2026-000001")  # EUR, USD, EUR
# Per customer and currency after April: invoices + credit notes − payments (the totals
# are the firm's invoices, listed in the comments; the payments are recorded below).
EXPECTED = {
    # 41,899.83 + 64,321.96 + 62,715.27 + 62,603.13 (April) − 41,899.83 paid
    ("US01", "Brightwater Retail Group Inc.", "USD"): D("189640.36"),
    # 10,422.50 + 17,442.00 + 18,981.00 − 797.50 credited
    # − (17,442.00 + 9,625.00 the rest of the first) paid
    ("US01", "Bluestem Software Inc.", "EUR"): D("18981.00"),
    # 30,026.24 + 37,744.60 − 10,000.00 paid
    ("US01", "Cedar Point Financial Inc.", "USD"): D("57770.84"),
    # 134,337.34 + 221,551.33 + 66,000.00 (April) − 100,000.00 paid
    ("GB01", "Thameside Insurance plc", "GBP"): D("321888.67"),
    # 6,712.20 − 1,663.20 credited − 5,049.00 paid (the exact rest) + 18,125.12 − 10,000.00
    ("GB01", "Thameside Insurance plc", "USD"): D("8125.12"),
    # 23,927.93 + 75,557.27 + 76,476.54 − 1,356.60 credited
    # − (22,571.33 the rest of the first + 75,557.27 + 30,000.00) paid
    ("DE01", "Isarwerk Logistik GmbH", "EUR"): D("46476.54"),
}


def month_end(system: Syncline, period: str) -> None:
    """One month as `syncline demo` runs it (cli/demo.py)."""
    ledger, engine_mode = system.ledger, system.settings.revenue_recognition == "engine"
    run_billing(system.engine, period, system.ref, system.charts, system.clock(),
                revenue_recognition=system.settings.revenue_recognition, rules=ledger.rules,
                closed_period_policy=ledger.closed_period_policy)
    recognize(system.engine, period, system.charts, system.clock(), post_journals=engine_mode,
              rules=ledger.rules, closed_period_policy=ledger.closed_period_policy,
              functional=ledger.functional_currencies)
    close.intercompany(system, period, None)
    close.fx_revaluation(system, period, None)
    close.erp_journals(system, period, None)


def rejections(system: Syncline, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A ``time.rejected`` (the PSA's, next in sequence) for the first time entry billed on
    each disputed invoice."""
    approved = {e["subject"]: e for e in events if e["type"] == "time.approved"}
    out = []
    with system.engine.connect() as conn:
        for number in DISPUTED:
            key = conn.execute(select(billable_items.c.key).where(
                (billable_items.c.invoice_number == number)
                & (billable_items.c.source == "time")).order_by(billable_items.c.key)
            ).scalars().first()
            entry = str(key).removeprefix("time:")
            was = approved[f"time/{entry}"]
            out.append(was | {"id": f"{was['id']}-rejected", "type": "time.rejected",
                              "sequence": was["sequence"] + 1, "time": "2026-03-05T10:00:00Z",
                              "data": {"time_entry_id": entry, "reason": "client disputes"}})
    return out


class Firm:
    """The firm through March, delivered once to its three ERPs (``first``)."""

    def __init__(self, base: Path) -> None:
        self.system = bootstrap(Settings(database_url=f"sqlite:///{base}/firm.db"),
                                clock=fixed_clock, durable=False)
        self.sandbox = self.system.targets["erp"]
        sim = simulate(CONFIG, self.system.ref)
        events = [e for e in sim.events if isinstance(e, dict)]
        self.ingest(events)
        self.system.sweep(as_of=end_of_stream(sim) + timedelta(hours=72))
        for period in ("2026-01", "2026-02"):
            month_end(self.system, period)
        self.ingest(rejections(self.system, events))
        month_end(self.system, "2026-03")
        self.erps = three_erps(self.system.charts, self.system.ref,
                               {"US01": ["USD", "EUR"], "DE01": ["EUR"]}, fixed_clock, base)
        self.problems = {e: erp.connector.validate() for e, erp in self.erps.items()}
        self.system.targets["erp"] = EntityRouter("erp", default=self.sandbox, by_entity={
            e: erp.connector.target() for e, erp in self.erps.items()})
        self.first = self.system.deliver()
        self.first_held = {e: held(erp) for e, erp in self.erps.items()}

    def ingest(self, events: list[dict[str, Any]]) -> None:
        with self.system.engine.begin() as conn:
            receive_many(conn, events, now=fixed_clock())
        self.system.process()

    def rows(self) -> list[Any]:
        with self.system.engine.connect() as conn:
            return list(conn.execute(select(outbox).where(outbox.c.target == "erp")
                                     .order_by(outbox.c.seq)))

    def vendor_id(self, entity: str, kind: str, key: str) -> str:
        return next(v for k, s, v in self.sent(entity) if (k, s) == (kind, key))

    def sent(self, entity: str) -> list[tuple[str, str, str]]:
        """(kind, Syncline key, the vendor's id in the xref) of every row for ``entity``."""
        out = set()
        with self.system.engine.connect() as conn:
            links = {(r.object_type, r.syncline_id): (r.system, r.external_id)
                     for r in conn.execute(select(xref_table))}
        for row in self.rows():
            p = json.loads(row.payload)
            if (p.get("entity") or p.get("legal_entity")) != entity:
                continue
            kind = {"erp.customer.upsert": "customer", "erp.journal.post": "journal"}.get(
                row.kind) or p["document"]
            key = delivery.document_key(p) or ""
            system, vendor_id = links[(kind, key)]
            assert system == f"erp:{self.erps[entity].connector.name}"
            assert vendor_id == row.reference  # the reference the delivery kept
            out.add((kind, key, vendor_id))
        return sorted(out)


@pytest.fixture(scope="module")
def firm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Firm]:
    made = Firm(tmp_path_factory.mktemp("erp-e2e"))
    yield made
    made.system.engine.dispose()


# (invoice, amount, received on) recorded in each ERP as a person or a bank feed would
US_PAYMENTS = (("US01-2026-000001", "41899.83", "2026-04-10"),   # in full
               ("US01-2026-000004", "17442.00", "2026-04-14"),   # EUR, in full, rate moved
               ("US01-2026-000005", "10000.00", "2026-04-15"),   # in part
               ("US01-2026-000002", "9625.00", "2026-04-22"))    # EUR, the rest after its credit
# Each ERP records a foreign payment at its own rate, 13 April's (USD-based: EUR 0.9100, GBP
# 0.7950), written as the vendor keeps it: NetSuite's exchangeRate is USD per EUR
# (1 ÷ 0.9100 = 1.0989010989, 10 places), Xero's CurrencyRate USD per GBP (1 ÷ 0.7950 =
# 1.257862, Xero's 6 places).
PAYMENT_RATES = {"US01-2026-000004": "1.0989010989", "US01-2026-000002": "1.0989010989",
                 "GB01-2026-000004": "1.257862", "GB01-2026-000002": "1.257862"}
GB_PAYMENTS = (("GB01-2026-000001", "100000.00", "2026-04-10"),  # in part
               ("GB01-2026-000004", "10000.00", "2026-04-16"),   # USD, in part, rate moved
               ("GB01-2026-000002", "5049.00", "2026-04-17"))    # USD, the rest after its credit
DE_PAYMENTS = (("DE01-2026-000002", "75557.27", "2026-04-09"),   # in full
               ("DE01-2026-000003", "30000.00", "2026-04-20"),   # in part
               ("DE01-2026-000001", "22571.33", "2026-04-21"))   # the rest after its credit


@pytest.fixture(scope="module")
def paid(firm: Firm) -> dict[str, Any]:
    """The payments recorded in the fakes, read back by each connector's payments stream,
    applied, posted by April's billing run; April's own documents delivered."""
    firm.ingest([fx_published("USD", {"EUR": "0.9100", "GBP": "0.7950"}, as_of="2026-04-13",
                              source="Treasury")])
    us, gb, de = (firm.erps[e].fake for e in ("US01", "GB01", "DE01"))
    for number, amount, on in US_PAYMENTS:
        rate = PAYMENT_RATES.get(number)
        us.books.pay(number, D(amount), on, memo="wire", modified=f"{on} 10:00:00",
                     rate=D(rate) if rate else None)
    for number, amount, on in GB_PAYMENTS:
        gb.books[GB_TENANT].record_payment(number, amount, on, "BACS",
                                           rate=PAYMENT_RATES.get(number))
    for number, amount, on in DE_PAYMENTS:
        de.record_payment(firm.vendor_id("DE01", "invoice", number), amount, on, "SEPA")
    out: dict[str, Any] = {"read": {}, "again": {}}
    for key in ("read", "again"):
        for entity, erp in firm.erps.items():
            out[key][entity] = run_stream(firm.system.engine, erp.connector.name,
                                          erp.connector.payments, clock=fixed_clock)
    out["applied"] = firm.system.process()
    month_end(firm.system, "2026-04")
    out["delivered"] = firm.system.deliver()
    return out


def test_every_document_is_in_its_erp_once_and_nowhere_else(firm: Firm) -> None:
    assert firm.problems == {"US01": [], "GB01": [], "DE01": []}  # validate(): all mapped
    assert firm.first["failed"] == 0
    assert {r.status for r in firm.rows()} == {"delivered"}
    for entity, erp in firm.erps.items():
        # each record the ERP holds is one Syncline sent for this entity, under the vendor
        # id the delivery kept in the cross-reference; none twice, none missing
        assert held(erp) == firm.sent(entity), entity
    counts = {e: dict(sorted(_count(h).items())) for e, h in firm.first_held.items()}
    assert counts == {
        "US01": {"credit_note": 1, "customer": 4, "invoice": 8, "journal": 6},
        "GB01": {"credit_note": 1, "customer": 1, "invoice": 4, "journal": 4},
        "DE01": {"credit_note": 1, "customer": 1, "invoice": 3, "journal": 6}}
    with firm.system.engine.connect() as conn:  # the sandbox ERP (the default) got nothing
        assert conn.execute(select(sandbox_received.c.kind).where(
            sandbox_received.c.target == "erp")).all() == []


def _count(rows: list[tuple[str, str, str]]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for kind, _, _ in rows:
        out[kind] += 1
    return out


def test_delivering_again_adds_nothing_to_any_erp(firm: Firm) -> None:
    before = {e: held(erp) for e, erp in firm.erps.items()}
    assert firm.system.deliver() == {"delivered": 0, "failed": 0}
    for row in firm.rows():  # every row re-sent with its outbox id, as a replay would
        again = delivery.send(firm.system.engine, firm.system.targets, row.id)
        assert again == row.reference, row.kind
    assert {e: held(erp) for e, erp in firm.erps.items()} == before


def test_payments_come_back_and_ar_subledger_equals_gl_equals_each_erp(
        firm: Firm, paid: dict[str, Any]) -> None:
    assert {e: (r.ok, r.accepted, r.rejected) for e, r in paid["read"].items()} == {
        "US01": (True, 4, 0), "GB01": (True, 3, 0), "DE01": (True, 3, 0)}
    assert all(r.ok and r.accepted == 0 for r in paid["again"].values())  # read once
    assert paid["applied"].failed == 0 and paid["applied"].by_type == {"payment.received": 10}
    assert paid["delivered"]["failed"] == 0  # April's invoices and summaries
    for entity, erp in firm.erps.items():
        assert held(erp) == firm.sent(entity), entity
    who = names(firm.system)
    sub, gl = ar_subledger(firm.system), ar_ledger(firm.system)
    books = {(e, c, cur): amount for e, erp in firm.erps.items()
             for c in {k[1] for k in sub if k[0] == e} | _customers(firm, e)
             for cur, amount in open_balance(erp, c).items()}
    named = {(e, who[c], cur): v for (e, c, cur), v in sub.items() if v}
    assert named == EXPECTED
    assert {k: v for k, v in gl.items() if v} == {k: v for k, v in sub.items() if v}
    assert books == {k: v for k, v in sub.items() if v}
    # The foreign payments settle at 13 April's rates against the receivable's carrying
    # amount, the 31 March revaluation (EUR→USD 1.0800302408, USD→GBP 0.8040):
    # - US01 EUR: open 46,048.00 EUR carried at round(46,048.00 × 1.0800302408) = 49,733.23;
    #   17,442.00 EUR settles at 17,442.00 ÷ 0.9100 = 19,167.03 USD and relieves
    #   17,442.00 × 49,733.23 ÷ 46,048.00 = 18,837.89: a gain of 329.14; then 9,625.00 (the
    #   rest of the credited invoice) settles at 9,625.00 ÷ 0.9100 = 10,576.92 and relieves
    #   9,625.00 × (49,733.23 − 18,837.89 = 30,895.34) ÷ 28,606.00 = 10,395.29: a gain of
    #   181.63;
    # - GB01 USD: open 23,174.12 USD carried at round(23,174.12 × 0.8040) = 18,631.99;
    #   10,000.00 USD settles at 7,950.00 GBP and relieves 8,040.00: a loss of 90.00; then
    #   5,049.00 settles at 4,013.96 and relieves 5,049.00 × 10,591.99 ÷ 13,174.12 =
    #   4,059.40: a loss of 45.44.
    assert realized_fx(firm.system) == {"US01-2026-000004": D("329.14"),
                                        "US01-2026-000002": D("181.63"),
                                        "GB01-2026-000004": D("-90.00"),
                                        "GB01-2026-000002": D("-45.44")}
    # the close reconciliation's own check (per entity and currency) agrees too
    with firm.system.engine.connect() as conn:
        report = report_options(firm.system).build(conn, "close-reconciliation", "2026-04",
                                                   as_of="now")
    checks = {(c["entity"], c["unit"]): (c["expected"], c["actual"], c["status"])
              for c in report.tables[0].as_dicts() if c["check"] == "AR subledger = GL"}
    per_entity: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for (entity, _, currency), amount in EXPECTED.items():
        per_entity[(entity, currency)] += amount
    assert checks == {k: (v, v, "ok") for k, v in per_entity.items()}


def _customers(firm: Firm, entity: str) -> set[str]:
    return {key for kind, key, _ in held(firm.erps[entity]) if kind == "customer"}



CREDITED = ("US01-2026-000002", "GB01-2026-000002", "DE01-2026-000001")  # = DISPUTED


def test_each_credit_note_is_applied_to_its_invoice_in_its_erp(firm: Firm,
                                                              paid: dict[str, Any]) -> None:
    """Each credit note was applied to the invoice it credits in its ERP (NetSuite's apply
    sublist, Xero's allocation, QBO's zero payment), so the customer's payment of the rest
    (recorded in the ERP, which refuses more than an invoice owes) settles the invoice in
    full there: nothing is open on it and no credit is left — and in Syncline the same
    payment is not more than the invoice's open amount (no ``payment.exceeds_open_amount``).
    US01: 10,422.50 − 797.50 = 9,625.00 EUR; GB01: 6,712.20 − 1,663.20 = 5,049.00 USD;
    DE01: 23,927.93 − 1,356.60 = 22,571.33 EUR."""
    us, gb, de = (firm.erps[e].fake for e in ("US01", "GB01", "DE01"))
    ns = us.books
    ns_invoice = ns.by_external("invoice", CREDITED[0])
    assert [line["doc"]["id"] for memo in ns.records["creditMemo"].values()
            for line in memo["apply"]["items"]] == [ns_invoice]
    assert ns.credited(ns_invoice) == D("797.50") and ns.amount_remaining(ns_invoice) == 0
    xero = gb.books[GB_TENANT]
    (invoice,) = [i for i in xero.records["Invoices"].values()
                  if i["InvoiceNumber"] == CREDITED[1]]
    (note,) = xero.records["CreditNotes"].values()
    assert (invoice["AmountCredited"], invoice["AmountDue"], invoice["Status"]) == (
        D("1663.20"), 0, "PAID")
    assert (note["RemainingCredit"], note["Status"]) == (0, "PAID")
    (qbo_invoice,) = [i for i in de.documents("Invoice") if i["DocNumber"] == CREDITED[2]]
    (memo,) = de.documents("CreditMemo")
    assert (qbo_invoice["Balance"], memo["RemainingCredit"]) == (0, 0)
    (applied,) = [p for p in de.documents("Payment") if p["TotalAmt"] == 0]
    assert [ln["Amount"] for ln in applied["Line"]] == [D("1356.60"), D("1356.60")]
    with firm.system.engine.connect() as conn:
        codes = set(conn.execute(select(exceptions.c.code)).scalars())
    assert not {c for c in codes if c.startswith("payment.")}, codes
    # every outbox row still delivered once: the application travelled with its credit note
    assert {r.status for r in firm.rows()} == {"delivered"}


def test_each_erp_realizes_fx_at_its_own_payment_rate(firm: Firm, paid: dict[str, Any]) -> None:
    """The fakes keep each payment's own rate, so the ERP's realized FX can be set beside
    Syncline's (an ERP realizes against the invoice's rate, Syncline against the carrying
    amount after its 31 March revaluation; the difference is that revaluation's share):

    - Xero, GB01-2026-000004, 10,000.00 USD invoiced at CurrencyRate 1.243781 (1 ÷ 0.8040)
      and paid at 1.257862 (1 ÷ 0.7950): 10,000.00 ÷ 1.257862 = 7,950.00 GBP less
      10,000.00 ÷ 1.243781 = 8,040.00: a loss of 90.00 — Syncline's −90.00 exactly, as the
      invoice's March rate is the revaluation's (0.8040);
    - NetSuite, US01-2026-000004, 17,442.00 EUR invoiced at exchangeRate 1.0915838882 and
      paid at 1.0989010989: 17,442.00 × 1.0989010989 = 19,167.03 USD less 17,442.00 ×
      1.0915838882 = 19,039.41: a gain of 127.62. Syncline realized 329.14 against
      18,837.89 carried after revaluing at 1.0800302408, having booked 19,039.41 −
      18,837.89 = 201.52 of unrealized loss on that part on 31 March: 329.14 − 201.52 =
      127.62, the ERP's figure;
    - NetSuite, US01-2026-000002, 9,625.00 EUR invoiced at 1.0924186148 and paid at
      1.0989010989: 10,576.92 − 10,514.53 = 62.39; Syncline 181.63 less the 10,514.53 −
      10,395.29 = 119.24 revalued on 31 March = 62.39."""
    xero = firm.erps["GB01"].fake.books[GB_TENANT]
    ns = firm.erps["US01"].fake.books
    erp = {xero.records["Payments"][p]["Invoice"]["InvoiceNumber"]: xero.realized_gain(p)
           for p in xero.records["Payments"]}
    erp |= {ns.records["invoice"][pay["invoice"]]["externalId"]: ns.realized_gain(p)
            for p, pay in ns.records["customerPayment"].items()}
    ours = realized_fx(firm.system)
    assert erp["GB01-2026-000004"] == D("-90.00") == ours["GB01-2026-000004"]
    assert erp["US01-2026-000004"] == D("127.62") == ours["US01-2026-000004"] - D("201.52")
    assert erp["US01-2026-000002"] == D("62.39") == ours["US01-2026-000002"] - D("119.24")
    # home-currency payments realize nothing in the ERP either
    assert erp["US01-2026-000001"] == erp["GB01-2026-000001"] == 0
