"""Two small firms, fed over HTTP and closed month by month (issue 9, Evidence): a contract in a
foreign currency, revalued and settled at another rate (finding 8), and a worker terminated
mid-month.

Foreign currency: entity US01 (functional USD) sells C-EUR in EUR, consultant at 100.00 EUR/h,
tax exempt. Worker W-7, cost 60.00 USD/h. Treasury publishes EUR→USD 1.10 as of 2026-01-31
and 1.12 as of 2026-02-28.

    Jan  T-F1 2026-01-20 10 h × 100 = 1,000.00 EUR; invoice 2026-01-31 at 1.10 →
         receivable 1,100.00 USD; revenue 1,000.00 EUR (released from the liability at its
         carrying rate 1.10 → 1,100.00 USD); balance 0; labor 10 × 60 = 600.00 USD
         revaluation: 1,000 EUR × 1.10 = 1,100.00 = carrying → nothing
    Feb  T-F2 2026-02-09 5 h × 100 = 500.00 EUR; invoice 2026-02-28 at 1.12 → 560.00 USD;
         revenue 500.00 EUR; balance 0; labor 300.00 USD
         revaluation: AR 1,500 EUR × 1.12 = 1,680.00 USD against carrying 1,100 + 560 =
         1,660.00 → unrealised gain 20.00 USD (Dr AR / Cr FX gain/loss 7900)

Settlement (its own firm, finding 8: no settlement rate, no realized gain or loss): the same
January; the customer pays January's invoice, 1,000.00 EUR, on 2026-02-15 when EUR→USD is
1.15 (published as of 2026-02-15): cash 1,150.00 USD against the receivable's 1,100.00 →
realized FX gain 50.00 USD in February; the invoice's receivable is 0. The shape (no event
exists for it yet): ``payment.received`` {payment_id, invoice_number, amount, received_on}.

Terminated worker: C-TERM, consultant at 120.00/h; W-8 (cost 50.00/h) leaves on 2026-01-20,
W-9 (cost 70.00/h) stays. Arrival order: T-T1 (W-8, 2026-01-12, 8 h), T-T4 (W-8, 2026-01-21,
2 h: after the last day, but it arrives before HR's termination), the termination, T-T2
(W-8, 2026-01-22, 6 h, after the termination: refused), T-T3 (W-9, 2026-01-26, 5 h).

    T-T4 is reversed when the termination arrives; T-T2 is refused; both are one
    `time.after_termination` exception each (HR)
    Jan  billed 8 × 120 + 5 × 120 = 960 + 600 = 1,560.00; revenue 1,560.00; balance 0
         labor 8 × 50 + 5 × 70 = 400 + 350 = 750.00
    the close lists T-T2 as a difference (PSA approved 6 h ≠ recorded 0, cause
    `time.after_termination`; T-T4 was recorded, then reversed) and does not lock; the PSA
    then withdraws both entries (`time.rejected`): the exceptions resolve and the close locks
    with every check agreeing.

| contract | month | billed | credits | revenue | balance | write-off | labor |
|---|---|---|---|---|---|---|---|
| C-EUR | 2026-01 | 1,000.00 EUR | 0 | 1,000.00 EUR | 0 | 0 | 600.00 USD |
| C-EUR | 2026-02 | 500.00 EUR | 0 | 500.00 EUR | 0 | 0 | 300.00 USD |
| C-TERM | 2026-01 | 1,560.00 | 0 | 1,560.00 | 0 | 0 | 750.00 |
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from syncline.adapters.db.ledger_tables import journal_line_details
from syncline.adapters.db.tables import invoices, journal_entries, journal_lines
from syncline.ledger.fx import foreign_positions
from syncline.services.ledger.queries import load_entries
from syncline.services.messaging.exceptions import list_exceptions
from tests.builders import event
from tests.e2e.firms import (
    D,
    Firm,
    Month,
    deal,
    fx_rates,
    reject_time,
    row,
    terminated,
    time_,
    worker,
)

EUR = {"2026-01": row("1000.00", 0, "1000.00", 0, 0, "600.00"),
       "2026-02": row("500.00", 0, "500.00", 0, 0, "300.00")}
TERM = {"2026-01": row("1560.00", 0, "1560.00", 0, 0, "750.00")}


class Months:
    def __init__(self, firm: Firm, contract: str) -> None:
        self.firm, self.contract = firm, contract
        self.at_close: dict[str, dict[str, Month]] = {contract: {}}
        self.notes: dict[str, Any] = {}

    def close(self, period: str) -> dict[str, Any]:
        result = self.firm.close(period)
        self.at_close[self.contract][period] = self.firm.month(self.contract, period)
        return result

    def table(self) -> dict[str, tuple[D, ...]]:  # type: ignore[valid-type]
        return {p: m.row() for p, m in self.at_close[self.contract].items()}


def january_eur(firm: Firm) -> None:
    firm.post(deal("C-EUR", rate="100.00", currency="EUR"), worker("W-7", cost="60.00"),
              time_("T-F1", "C-EUR", "2026-01-20", "10", worker_id="W-7"),
              fx_rates("2026-01-31", "EUR", {"USD": "1.10"}))


def run_eur(firm: Firm) -> Months:
    q = Months(firm, "C-EUR")
    january_eur(firm)
    q.close("2026-01")
    firm.post(time_("T-F2", "C-EUR", "2026-02-09", "5", worker_id="W-7"),
              fx_rates("2026-02-28", "EUR", {"USD": "1.12"}))
    q.notes["feb"] = q.close("2026-02")
    return q


def payment(invoice_number: str, amount: str, currency: str, on: str) -> dict[str, Any]:
    return event("payment.received", f"invoice/{invoice_number}", {
        "payment_id": f"PAY-{invoice_number}", "invoice_number": invoice_number,
        "amount": {"amount": amount, "currency": currency}, "received_on": on},
        source="erp/netsuite", id_=f"payment-{invoice_number}", time=f"{on}T15:00:00Z")


def run_settlement(firm: Firm) -> Months:
    q = Months(firm, "C-EUR")
    january_eur(firm)
    q.close("2026-01")
    with firm.system.engine.connect() as conn:
        number = conn.execute(select(invoices.c.number)).scalar_one()
    firm.post(fx_rates("2026-02-15", "EUR", {"USD": "1.15"}),
              fx_rates("2026-02-28", "EUR", {"USD": "1.12"}))
    q.notes["payment"] = firm.post_raw(payment(number, "1000.00", "EUR", "2026-02-15"))
    q.close("2026-02")
    return q


def run_term(firm: Firm) -> Months:
    q = Months(firm, "C-TERM")
    firm.post(deal("C-TERM", rate="120.00"), worker("W-8", cost="50.00"),
              worker("W-9", cost="70.00"),
              time_("T-T1", "C-TERM", "2026-01-12", "8", worker_id="W-8"),
              time_("T-T4", "C-TERM", "2026-01-21", "2", worker_id="W-8"))
    firm.post(terminated("W-8", "2026-01-20"))
    firm.post(time_("T-T2", "C-TERM", "2026-01-22", "6", worker_id="W-8"),
              time_("T-T3", "C-TERM", "2026-01-26", "5", worker_id="W-9"))
    q.notes["first"] = q.close("2026-01")
    q.notes["first_diffs"] = firm.differing_checks("2026-01")
    with firm.system.engine.connect() as conn:
        q.notes["exceptions"] = sorted(e.code for e in list_exceptions(conn))
    firm.post(reject_time("T-T2", "2026-01-30"), reject_time("T-T4", "2026-01-30"))
    with firm.system.engine.connect() as conn:
        q.notes["open_after_withdrawal"] = sorted(e.code for e in list_exceptions(conn))
        q.notes["resolutions"] = sorted(e.resolution or "" for e in list_exceptions(
            conn, status="resolved") if e.code == "time.after_termination")
    q.close("2026-01")
    return q


def fixture_of(run: Any, name: str) -> Any:
    @pytest.fixture(scope="module")
    def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Months]:
        firm = Firm(tmp_path_factory.mktemp(name))
        try:
            yield run(firm)
        finally:
            firm.dispose()

    return made


eur = fixture_of(run_eur, "eur")
settled = fixture_of(run_settlement, "pay")
term = fixture_of(run_term, "term")


# --- foreign currency -----------------------------------------------------------------------

def test_foreign_contract_months(eur: Months) -> None:
    """C-EUR: 1,000.00 / 500.00 EUR billed and recognized, balance 0, labor 600.00 / 300.00
    USD."""
    assert eur.table() == EUR


def test_foreign_invoice_carries_functional_amounts(eur: Months) -> None:
    """January's receivable: 1,000.00 EUR = 1,100.00 USD at 1.10; February's 500.00 EUR =
    560.00 USD at 1.12."""
    chart = eur.firm.system.charts.of("US01")
    with eur.firm.system.engine.connect() as conn:
        got = sorted(conn.execute(
            select(journal_lines.c.amount, journal_line_details.c.functional_amount)
            .join(journal_entries, journal_entries.c.id == journal_lines.c.entry_id)
            .join(journal_line_details,
                  (journal_line_details.c.entry_id == journal_lines.c.entry_id)
                  & (journal_line_details.c.line_no == journal_lines.c.line_no))
            .where((journal_entries.c.source_type == "invoice")
                   & (journal_lines.c.account == chart.code("accounts_receivable")))).all())
    assert [tuple(r) for r in got] == [(D("500.00"), D("560.00")), (D("1000.00"), D("1100.00"))]


def test_open_receivable_revalued_at_the_february_close(eur: Months) -> None:
    """AR 1,500 EUR × 1.12 = 1,680.00 against 1,660.00 carried: gain 20.00 USD."""
    chart = eur.firm.system.charts.of("US01")
    with eur.firm.system.engine.connect() as conn:
        lines = conn.execute(
            select(journal_lines.c.account, journal_lines.c.side, journal_lines.c.amount)
            .join(journal_entries, journal_entries.c.id == journal_lines.c.entry_id)
            .where(journal_entries.c.source_id == "fxreval:US01:2026-02")).all()
    assert {(r.account, r.side, r.amount) for r in lines} == {
        (chart.code("accounts_receivable"), "debit", D("20.00")),
        (chart.code("fx_gain_loss"), "credit", D("20.00"))}


def test_foreign_months_lock(eur: Months) -> None:
    for period in ("2026-01", "2026-02"):
        eur.firm.assert_locked(period)


def test_settlement_at_another_rate_realizes_the_difference(settled: Months) -> None:
    """1,000.00 EUR paid on 2026-02-15 at 1.15: the cash is 1,000.00 EUR worth 1,150.00 USD,
    the receivable (1,000.00 EUR carried at 1,100.00 USD) is cleared in both currencies, and
    the realized gain is 50.00 USD in February (ASC 830-20-35-1 / IAS 21.28); February's
    revaluation then finds no open EUR receivable; February locks.

        Dr cash 1,000.00 EUR (1,150.00 USD at 1.15)
        Cr AR   1,000.00 EUR (1,150.00 USD at 1.15)
        Dr AR      50.00 USD (carrying: 1,100.00 - 1,150.00 + 50.00 = 0)
        Cr FX gain/loss 50.00 USD
    """
    response = settled.notes["payment"]
    assert response.status_code == 202, response.text
    chart = settled.firm.system.charts.of("US01")
    tb = settled.firm.report("trial-balance", "2026-02")["tables"][0]
    cols = tb["columns"]
    balance = {(r[cols.index("account")], r[cols.index("currency")]): D(r[cols.index("balance")])
               for r in tb["rows"]}
    assert balance[(chart.code("cash"), "EUR")] == D("1000.00")
    assert balance.get((chart.code("accounts_receivable"), "EUR"), D(0)) == D(0)
    assert balance[(chart.code("fx_gain_loss"), "USD")] == D("-50.00")
    with settled.firm.system.engine.connect() as conn:
        (entry,) = load_entries(conn, source_type="payment")
    cash = next(ln for ln in entry.lines if ln.account == chart.code("cash"))
    assert cash.functional is not None and cash.functional.amount == D("1150.00")
    assert cash.fx_rate == D("1.15")
    assert entry.posting_date.isoformat() == "2026-02-15"
    realized = [(ln.side.value, ln.amount.amount) for ln in entry.lines
                if ln.account == chart.code("fx_gain_loss")]
    assert realized == [("credit", D("50.00"))]  # realized at settlement, not left to revalue
    with settled.firm.system.engine.connect() as conn:
        february = [e for e in load_entries(conn, period="2026-02", source_type="fx_revaluation")
                    if e.entity_id == "US01"]
    assert february == []  # nothing left open in EUR to revalue
    with settled.firm.system.engine.connect() as conn:
        (ar,) = [p for p in foreign_positions(
            load_entries(conn), "US01", chart.code("accounts_receivable"), "USD",
            date(2026, 2, 28)) if p.balance.currency == "EUR"] or [None]
    assert ar is None or (ar.balance.is_zero and ar.carrying.is_zero)
    settled.firm.assert_locked("2026-02")


# --- terminated worker ----------------------------------------------------------------------

def test_terminated_workers_time_is_neither_billed_nor_costed(term: Months) -> None:
    """C-TERM January: 1,560.00 billed and recognized, balance 0, labor 750.00; one
    `time.after_termination` exception for each of T-T2 and T-T4."""
    assert term.table() == TERM
    assert term.notes["exceptions"] == ["time.after_termination", "time.after_termination"]


def test_the_close_names_the_terminated_workers_time_and_waits(term: Months) -> None:
    """The first close of January does not lock: T-T2 (6 h approved by the PSA, refused) is
    the one difference, cause `time.after_termination`."""
    assert term.notes["first"]["locked"] is False
    named = {(d[3], d[1]) for d in term.notes["first_diffs"] if len(d) > 9}
    assert named == {("T-T2", "time.after_termination")}


def test_january_locks_once_the_psa_withdraws_the_time(term: Months) -> None:
    """The PSA's rejections of T-T2 (refused) and T-T4 (withdrawn at the termination) are
    applied as withdrawals: both exceptions resolve ("withdrawn by the PSA"), the PSA check
    no longer expects their hours, and January locks."""
    assert term.notes["open_after_withdrawal"] == []
    assert [r.startswith("withdrawn by the PSA: time entry T-T") for r in
            term.notes["resolutions"]] == [True, True]
    term.firm.assert_locked("2026-01")
