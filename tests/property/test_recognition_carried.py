"""Recognition carried (ADR 0022): what a recognition run reads of a contract's billing and
journal from its carry equals the same read from its whole history.

On a simulated firm closed and locked for three months (recognition carried each contract
through February), random late changes are written straight in SQL, as a hand fix or a
restore would: invoices and credit notes inserted into any month, their subtotals, dates and
contracts changed, deleted, their status changed (which no carry depends on); revenue entries
posted into any month with functional amounts, a line's amount changed, a functional amount
removed, an entry's date moved. Then: the triggers dropped exactly the carries the changes
touch (every contract's, from the change's month on); per contract and period, the net billed
amount, the revenue entries' sums per source type and account (transaction and functional),
what the true-up rule finds posted, the source ids taken and the documents' journal lines'
sums equal the whole-history read; and after recognition carries again, the same holds and
a run's result (every contract's revenue, true-up amounts and source ids) is the same with
the carries as without them.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, delete, insert, select, update

from syncline.adapters.db.billing_tables import credit_notes
from syncline.adapters.db.ledger_tables import journal_line_details
from syncline.adapters.db.revenue_tables import revenue_carried_lines, revenue_recognition_carries
from syncline.adapters.db.tables import invoice_lines, invoices, journal_entries, journal_lines
from syncline.bootstrap import Syncline
from syncline.ledger.posting import DEFAULT_RULES, REVENUE_TRUE_UP
from syncline.services.billing.run import month_bounds
from syncline.services.ledger.queries import entities_with_entries
from syncline.services.revenue.billable import net_billed
from syncline.services.revenue.facts import contract_numbers
from syncline.services.revenue.journal_reads import (
    RevenueJournal,
    billed_lines,
    carrying_balances,
    posted_amounts,
)
from syncline.services.revenue.reads import load_facts
from syncline.services.revenue.recognition_carried import (
    billed_lines_after,
    read_carries,
)
from syncline.services.revenue.sync import _accounts, recognize
from tests.conftest import examples
from tests.property.closed_firm import closed_firm, copy_of

MONTHS = ("2025-12", "2026-01", "2026-02", "2026-03", "2026-04")
PERIODS = ("2026-02", "2026-03", "2026-04")
NOW = datetime(2026, 5, 3, 9, tzinfo=UTC)


def carries(conn: Connection) -> set[tuple[str, str]]:
    c = revenue_recognition_carries.c
    return {(r.contract_number, r.period) for r in conn.execute(
        select(c.contract_number, c.period))}


def reads(system: Syncline, conn: Connection, period: str, *, whole: bool) -> dict[str, Any]:
    """Per contract, what recognition of ``period`` takes from its billing and journal: from
    its whole history (the reads before carries) or as a run reads it now."""
    _, end = month_bounds(period)
    until = end.isoformat()
    numbers = contract_numbers(conn, until=end)
    entities = entities_with_entries(conn)
    carried = {} if whole else {n: c for n, c in read_carries(conn, numbers).items()
                                if c.period < period}
    facts = load_facts(conn, numbers, before=period, carried=carried)
    journal = RevenueJournal.read(conn, numbers, carried, entities)
    if whole:
        invoice_of = {(kind, r.number): n for n, f in facts.items()
                      for kind, rows in (("invoice", f.invoices),
                                         ("credit_note", f.credit_notes)) for r in rows}
        accounts = {r.account for r in conn.execute(select(journal_lines.c.account))}
        documents = billed_lines(conn, numbers, accounts, end, invoice_of)
    else:
        documents = billed_lines_after(conn, numbers, carried, entities)
    rule = DEFAULT_RULES.rule(REVENUE_TRUE_UP, "")
    out: dict[str, Any] = {}
    for n, f in facts.items():
        accounts_of = _accounts(DEFAULT_RULES.rule(REVENUE_TRUE_UP, f.head.entity_code),
                                system.charts.of(f.head.entity_code),
                                {"contract": n, "service_line": f.head.service_line,
                                 "as_of": until, "period": period})
        lines = journal.lines.get(n, ())
        out[n] = {
            "billed": f.billed_before + net_billed(f.invoices, f.credit_notes, end),
            "revenue": by_source(lines, end),
            "posted": None if not isinstance(accounts_of, dict) else dict(
                posted_amounts(lines, rule, accounts_of, end)),
            "taken": journal.taken(n, f"revenue:{n}:{period}"),
            "documents": by_source(documents.get(n, ()), end),
        }
    return out


def by_source(lines: Any, end: Any) -> dict[str, Any]:
    """Per source type, each account's balance (transaction, functional) up to ``end``, by the
    foreign true-up's own sum (`carrying_balances`), not the carry's."""
    lines = list(lines)
    every = {r.account for r in lines}
    out = {t: carrying_balances([r for r in lines if r.source_type == t], every, end)
           for t in sorted({r.source_type for r in lines})}
    return {t: b for t, b in out.items() if b}


def same_either_way(system: Syncline, conn: Connection) -> None:
    for period in PERIODS:
        assert reads(system, conn, period, whole=False) == \
            reads(system, conn, period, whole=True), period


# --- late changes, written in SQL ------------------------------------------------------------

amounts = st.decimals(min_value=Decimal("-900"), max_value=Decimal("900"), places=2)
change = st.tuples(
    st.sampled_from(("invoice", "credit", "subtotal", "redate", "recontract", "undocument",
                     "status", "entry", "line", "unfunctional", "move")),
    st.integers(0, 10_000), st.sampled_from(MONTHS), st.integers(1, 28), amounts)


def apply(conn: Connection, step: tuple[str, int, str, int, Decimal], no: int) -> str | None:
    """One late change; the first month from which every carry must go (None: none)."""
    kind, pick, month, day, amount = step
    on_day = f"{month}-{day:02d}"
    docs = conn.execute(select(invoices).order_by(invoices.c.number)).all()
    doc = docs[pick % len(docs)]
    iv = invoices.c
    if kind == "invoice":
        conn.execute(insert(invoices).values({**doc._mapping, "number": f"INV-LATE-{no}",
                                              "invoice_date": on_day, "subtotal": amount,
                                              "period": f"9{no:06d}"}))
        return month
    if kind == "credit":
        conn.execute(insert(credit_notes).values(
            number=f"CN-LATE-{no}", entity_code=doc.entity_code, invoice_number=doc.number,
            contract_number=doc.contract_number, customer_name=doc.customer_name,
            currency=doc.currency, credit_date=on_day, reason="late", subtotal=-abs(amount),
            tax_code=doc.tax_code, tax_rate=doc.tax_rate, tax=Decimal(0),
            total=-abs(amount), service_line=doc.service_line))
        return month
    if kind == "subtotal":
        conn.execute(update(invoices).where(iv.number == doc.number).values(subtotal=amount))
        return doc.invoice_date[:7]
    if kind == "redate":
        conn.execute(update(invoices).where(iv.number == doc.number)
                     .values(invoice_date=on_day))
        return min(doc.invoice_date[:7], month)
    if kind == "recontract":
        other = docs[(pick + 1) % len(docs)].contract_number
        conn.execute(update(invoices).where(iv.number == doc.number)
                     .values(contract_number=other, period=f"8{no:06d}"))
        return doc.invoice_date[:7]
    if kind == "undocument":
        conn.execute(delete(invoice_lines).where(invoice_lines.c.invoice_number == doc.number))
        conn.execute(delete(invoices).where(iv.number == doc.number))
        return doc.invoice_date[:7]
    if kind == "status":  # no carry depends on it: nothing goes
        conn.execute(update(invoices).where(iv.number == doc.number).values(status="paid"))
        return None
    je, jl = journal_entries.c, journal_lines.c
    entries = conn.execute(select(journal_entries).where(
        je.source_id.like("revenue:%") | je.source_type.in_(("invoice", "credit_note")))
        .order_by(je.id)).all()
    if pick % 2 == 0:  # half the time an entry of a carried month
        entries = [e for e in entries if e.posting_date < "2026-03"] or entries
    entry = entries[pick % len(entries)]
    if kind == "entry":  # a revenue entry of the contract, two lines, one with its functional
        number = doc.contract_number
        eid = f"late-{no}"
        conn.execute(insert(journal_entries).values(
            id=eid, entity_code=doc.entity_code, posting_date=on_day, description="late",
            source_type="revenue", source_id=f"revenue:{number}:{month}:late{no}",
            reverses=None, posted_at="2026-05-01T00:00:00+00:00"))
        accounts = [r.account for r in conn.execute(select(jl.account).where(
            jl.entry_id == entry.id))]
        for line_no, (account, side) in enumerate(((accounts[0], "debit"),
                                                   (accounts[-1], "credit")), start=1):
            conn.execute(insert(journal_lines).values(
                entry_id=eid, line_no=line_no, account=account, side=side,
                amount=abs(amount), currency=doc.currency, memo="late"))
        conn.execute(insert(journal_line_details).values(
            entry_id=eid, line_no=1, functional_amount=abs(amount) * 2,
            functional_currency="USD"))
        return month
    lines = conn.execute(select(journal_lines).where(jl.entry_id == entry.id)
                         .order_by(jl.line_no)).all()
    line = lines[pick % len(lines)]
    if kind == "line":
        conn.execute(update(journal_lines).where(
            (jl.entry_id == line.entry_id) & (jl.line_no == line.line_no))
            .values(amount=abs(amount)))
        return entry.posting_date[:7]
    if kind == "unfunctional":
        jd = journal_line_details.c
        gone = conn.execute(delete(journal_line_details).where(
            (jd.entry_id == line.entry_id) & (jd.line_no == line.line_no)))
        return entry.posting_date[:7] if gone.rowcount else None
    conn.execute(update(journal_entries).where(je.id == entry.id).values(posting_date=on_day))
    return min(entry.posting_date[:7], month)


def expected_after(before: set[tuple[str, str]], month: str | None) -> set[tuple[str, str]]:
    return {(n, m) for n, m in before if month is None or m < month}


def result_of(system: Syncline, period: str) -> Any:
    r = recognize(system.engine, period, system.charts, NOW, dry_run=True,
                  functional=system.ledger.functional_currencies)
    return asdict(r)


def same_run_without_carries(system: Syncline, period: str) -> None:
    """A run's result (dry) is the same with the carries as with none; the carries stay."""
    with_carries = result_of(system, period)
    with system.engine.begin() as conn:
        kept = {t: [r._mapping for r in conn.execute(select(t))]
                for t in (revenue_recognition_carries, revenue_carried_lines)}
        for t in kept:
            conn.execute(delete(t))
    assert result_of(system, period) == with_carries
    with system.engine.begin() as conn:
        for t, rows in kept.items():
            if rows:
                conn.execute(insert(t), [dict(r) for r in rows])


@settings(max_examples=examples(20), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(change, min_size=1, max_size=5))
def test_carried_recognition_reads_are_the_whole_history(firm_db: Path,
                                                         steps: list[Any]) -> None:
    with copy_of(firm_db) as system:
        with system.engine.begin() as conn:
            for no, step in enumerate(steps):
                now = carries(conn)
                month = apply(conn, step, no)
                assert carries(conn) == expected_after(now, month), step
            same_either_way(system, conn)
        same_run_without_carries(system, "2026-04")
        recognize(system.engine, "2026-04", system.charts, NOW,
                  functional=system.ledger.functional_currencies)
        with system.engine.connect() as conn:
            assert {m for _n, m in carries(conn)} == {"2026-03"}
            same_either_way(system, conn)
        same_run_without_carries(system, "2026-04")


def test_the_firm_carries_and_has_something_to_compare(firm_db: Path) -> None:
    """Recognition carried every contract through February (the last month locked before
    March); a run from the carries reads fewer documents and entries; the comparison covers
    foreign contracts (functional amounts) and revenue posted in carried months (the firm has
    no credit notes: the property inserts them)."""
    with copy_of(firm_db) as system, system.engine.connect() as conn:
        found = carries(conn)
        assert found and {m for _n, m in found} == {"2026-02"}, found
        numbers = sorted(n for n, _m in found)
        carried = read_carries(conn, numbers)
        assert any(c.revenue for c in carried.values())
        entities = entities_with_entries(conn)
        after = RevenueJournal.read(conn, numbers, carried, entities)
        whole = RevenueJournal.read(conn, numbers)
        assert sum(map(len, after.lines.values())) < sum(map(len, whole.lines.values()))
        facts = load_facts(conn, numbers, before="2026-03", carried=carried)
        assert sum(len(f.invoices) for f in facts.values()) < conn.execute(
            select(invoices.c.number)).all().__len__()
        assert any(r.functional_amount != r.amount for c in carried.values()
                   for r in c.billed_lines)
        same_either_way(system, conn)


EVERY_KIND = [("invoice", 3, "2026-01", 5, Decimal("100.00")),
              ("status", 4, "2026-01", 5, Decimal("1.00")),
              ("credit", 7, "2026-02", 9, Decimal("40.00")),
              ("entry", 11, "2025-12", 2, Decimal("12.34")),
              ("line", 14, "2026-02", 2, Decimal("7.00")),
              ("unfunctional", 6, "2026-02", 2, Decimal("1.00")),
              ("move", 18, "2026-03", 30, Decimal("1.00")),
              ("undocument", 19, "2026-01", 2, Decimal("1.00"))]


def every_kind(system: Syncline) -> None:
    with system.engine.begin() as conn:
        assert carries(conn)
        same_either_way(system, conn)
        for no, step in enumerate(EVERY_KIND):  # each alone, from the firm's carries
            nested = conn.begin_nested()
            now = carries(conn)
            month = apply(conn, step, no)
            assert carries(conn) == expected_after(now, month), step
            assert (step[0] == "status") == (carries(conn) == now), step  # a carry went
            same_either_way(system, conn)
            nested.rollback()
        for no, step in enumerate(EVERY_KIND):  # then all together
            now = carries(conn)
            month = apply(conn, step, no)
            assert carries(conn) == expected_after(now, month), step
        same_either_way(system, conn)
    recognize(system.engine, "2026-04", system.charts, NOW,
              functional=system.ledger.functional_currencies)
    with system.engine.connect() as conn:
        assert carries(conn)
        same_either_way(system, conn)


def test_every_kind_of_change(firm_db: Path) -> None:
    with copy_of(firm_db) as system:
        every_kind(system)


@pytest.mark.postgres
def test_recognition_carried_on_postgresql_too() -> None:
    """The triggers (PL/pgSQL) and the reads from carries on the local PostgreSQL."""
    from syncline.adapters.db.scratch import throwaway_database
    from tests.conftest import pg_admin

    admin = pg_admin()
    try:
        with throwaway_database(admin, "syncline_recognition_carried") as url:
            system = closed_firm(url)
            try:
                every_kind(system)
            finally:
                system.engine.dispose()
    finally:
        admin.dispose()
