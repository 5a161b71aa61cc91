"""Carried balances (ADR 0014) give every report exactly what the whole books give.

- Pure: carrying month by month is carrying at once (the fold is associative), and the pure
  readers of carried books (foreign positions, intercompany mismatches) answer as over the
  whole entries.
- On a simulated firm closed and locked for three months, with random irregular postings
  written straight in SQL (as a hand-written fix or a restore would: AR with no document, a
  payment, AR for an invoice that is not there, one-sided intercompany, foreign AR with and
  without its functional amount, revaluation lines, revenue true-ups), dated in any month,
  locked or not: the triggers drop the carries they touch, the close carries the months
  again, and every report of every scope for every period equals the same built from the
  whole books (the carries deleted in a transaction rolled back).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, delete, select, update

from syncline.adapters.db.billing_tables import payments
from syncline.adapters.db.close_tables import ledger_carried_balances, ledger_carries
from syncline.adapters.db.ledger_tables import journal_entry_metadata, journal_line_details
from syncline.adapters.db.tables import invoices, journal_entries, journal_lines, time_entries
from syncline.bootstrap import Syncline
from syncline.ledger.accounts import DEFAULT_CHART
from syncline.ledger.carried import Attribution, carry_forward
from syncline.ledger.fx import REVALUES, foreign_positions
from syncline.ledger.intercompany import CHARGE, COUNTERPARTY, intercompany_mismatches
from syncline.ledger.journal import JournalEntry, JournalLine, Side
from syncline.ledger.money import Money
from syncline.services.close import steps as close
from syncline.services.ledger import kept
from syncline.services.ledger.carried import _rows, keep_carries, load_books
from syncline.services.ledger.queries import charts_for, entries_held, line_detail_row
from syncline.services.ledger.reports import REPORTS, report_json, report_options
from tests.conftest import examples, fixed_clock
from tests.property.closed_firm import LOCKED, closed_firm, copy_of

ENTITIES = ("US01", "DE01")
FUNCTIONAL = {"US01": "USD", "DE01": "EUR"}
MONTHS = ("2025-12", "2026-01", "2026-02", "2026-03", "2026-04")
AR, CASH, REVENUE, UNBILLED, IC_AR, IC_AP = "1100", "1000", "4000", "1200", "1300", "2400"

# --- pure ------------------------------------------------------------------------------------

amounts = st.decimals(min_value=Decimal("-500"), max_value=Decimal("500"), places=2,
                      allow_nan=False, allow_infinity=False)


@st.composite
def entries(draw: Any, n: int = 12) -> list[JournalEntry]:
    """Random two-line entries: AR, revenue, unbilled, intercompany and cash lines, in USD or
    EUR (with or without a functional amount), some restating a foreign balance, some naming
    a counterparty and a charge; sources that attribute to documents and contracts."""
    out = []
    for i in range(draw(st.integers(0, n))):
        entity = draw(st.sampled_from(ENTITIES))
        kind = draw(st.sampled_from(("invoice", "credit_note", "payment", "revenue",
                                     "manual", "intercompany_charge", "fx_revaluation")))
        account = draw(st.sampled_from((AR, REVENUE, UNBILLED, IC_AR, IC_AP)))
        currency = draw(st.sampled_from(("USD", "EUR")))
        amount = abs(draw(amounts)) or Decimal("1.00")
        functional = draw(st.one_of(st.none(), amounts.map(lambda a: abs(a))))
        dims: tuple[tuple[str, str], ...] = ()
        if draw(st.booleans()):
            dims += ((COUNTERPARTY, draw(st.sampled_from(ENTITIES))),)
        if draw(st.integers(0, 5)) == 0:
            dims += ((REVALUES, draw(st.sampled_from(("USD", "EUR")))),)
        meta = ((CHARGE, f"ic:{draw(st.integers(1, 3))}"),) if draw(st.booleans()) else ()
        side = draw(st.sampled_from((Side.DEBIT, Side.CREDIT)))
        other = Side.CREDIT if side is Side.DEBIT else Side.DEBIT
        fn = Money(functional, FUNCTIONAL[entity]) if functional is not None else None
        out.append(JournalEntry(
            entity, date(2026, 1 + i % 3, 1 + i), f"entry {i}",
            (JournalLine(account, side, Money(amount, currency), functional=fn,
                         dimensions=dims),
             JournalLine(CASH, other, Money(amount, currency), functional=fn)),
            source_type=kind, source_id=f"{draw(st.sampled_from(('INV-1', 'INV-2', 'CN-1')))}"
            if kind != "revenue" else f"revenue:C-{draw(st.integers(1, 2))}:2026-01:{i}",
            metadata=meta))
    return out


ATTRIBUTION = Attribution(
    contract_of=lambda e: {"INV-1": "C-1", "INV-2": "C-2", "CN-1": "C-1"}.get(e.source_id)
    if e.source_type in ("invoice", "credit_note") else
    e.source_id.split(":")[1] if e.source_type == "revenue" else None,
    document_of=lambda e: e.source_id if e.source_type == "invoice" else
    "INV-1" if e.source_type in ("credit_note", "payment") and e.source_id == "CN-1" else None,
    receivable={"US01": AR, "DE01": AR})


@given(entries(), entries())
def test_carrying_month_by_month_is_carrying_at_once(a: list[JournalEntry],
                                                      b: list[JournalEntry]) -> None:
    assert carry_forward(carry_forward((), a, ATTRIBUTION), b, ATTRIBUTION) == \
        carry_forward((), a + b, ATTRIBUTION)


@given(entries(), entries())
def test_pure_readers_of_carried_books_answer_as_over_the_whole(
        a: list[JournalEntry], b: list[JournalEntry]) -> None:
    carried = carry_forward((), a, ATTRIBUTION)
    charts = {e: DEFAULT_CHART for e in ENTITIES}
    assert intercompany_mismatches(b, charts, carried) == intercompany_mismatches(a + b, charts)
    for entity in ENTITIES:
        whole = foreign_positions(a + b, entity, AR, FUNCTIONAL[entity], date(2026, 12, 31))
        if any(c.key.entity == entity and c.key.account == AR
               and c.key.currency != FUNCTIONAL[entity]
               and c.key.functional_currency != FUNCTIONAL[entity] for c in carried):
            continue  # such books are read whole (reconciliation/fx.py)
        assert foreign_positions(b, entity, AR, FUNCTIONAL[entity], date(2026, 12, 31),
                                 carried) == whole


# --- on a firm -------------------------------------------------------------------------------

def every_report(system: Syncline, conn: Connection) -> dict[tuple[str, str, str], str]:
    options = report_options(system)
    scopes = [None, *(e.code for e in system.ref.entities)]
    return {(n, s or "*", p): report_json(options.build(conn, n, p, entity=s, as_of="now"))
            for p in ("2026-02", "2026-03", "2026-04") for n in REPORTS for s in scopes}


def whole_books(system: Syncline) -> dict[tuple[str, str, str], str]:
    """Every report with no carry (the whole books), in a transaction rolled back."""
    with system.engine.connect() as conn:
        conn.begin()
        conn.execute(delete(ledger_carried_balances))
        conn.execute(delete(ledger_carries))
        out = every_report(system, conn)
        conn.rollback()
    return out


def carried_books(system: Syncline, uncarried: Collection[str] = ()
                  ) -> dict[tuple[str, str, str], str]:
    with system.engine.connect() as conn:
        points = load_books(conn, "2026-04", charts_for(conn, system.ref, system.charts)).through
        assert points == {e.code: "2026-03" for e in system.ref.entities
                          if e.code not in uncarried}, points
        return every_report(system, conn)


posting = st.fixed_dictionaries({
    "kind": st.sampled_from(("other_ar", "payment", "orphan_invoice", "one_sided_ic",
                             "foreign_ar", "unconverted_ar", "revalues", "true_up",
                             "amend", "zero_orphan")),
    "entity": st.sampled_from(("US01", "DE01", "GB01")),
    "month": st.sampled_from(MONTHS),
    "day": st.integers(1, 28),
    "amount": st.decimals(min_value=Decimal("0.01"), max_value=Decimal("900"), places=2),
})


def amend(conn: Connection, p: dict[str, Any]) -> bool:
    """Add ``amount`` to a debit and a credit line of the entity's first entry of the month
    (a hand-made correction of stored lines: the lines' trigger drops the carries)."""
    jl, je = journal_lines.c, journal_entries.c
    head = conn.execute(select(je.id).where(
        (je.entity_code == p["entity"]) & je.posting_date.like(f"{p['month']}-%"))
        .order_by(je.id).limit(1)).scalar()
    if head is None:
        return False
    lines = conn.execute(select(jl.line_no, jl.side, jl.amount).where(jl.entry_id == head)
                         .order_by(jl.line_no)).all()
    for side in ("debit", "credit"):
        line = next(ln for ln in lines if ln.side == side)
        conn.execute(update(journal_lines).where(
            (jl.entry_id == head) & (jl.line_no == line.line_no))
            .values(amount=Decimal(line.amount) + p["amount"]))
    return True


def write_straight(conn: Connection, n: int, p: dict[str, Any]) -> None:
    """One irregular entry written in SQL, past every check (and its payment row), or an
    amendment of stored lines."""
    ent, amount, kind = p["entity"], p["amount"], p["kind"]
    if kind == "amend" and amend(conn, p):
        return
    cur = {"US01": "USD", "DE01": "EUR", "GB01": "GBP"}[ent]
    invoice = conn.execute(select(invoices.c.number, invoices.c.contract_number).where(
        invoices.c.entity_code == ent).order_by(invoices.c.number)).first()
    source_type, source_id, dims, meta = "manual", f"fix-{n}", (), ()
    debit, credit = AR, REVENUE
    fx: Money | None = None
    line_cur = cur
    if kind == "payment" and invoice is not None:
        source_type, source_id, debit, credit = "payment", f"PAY-{n}", CASH, AR
        conn.execute(payments.insert().values(
            payment_id=source_id, invoice_number=invoice.number, entity_code=ent,
            received_on=f"{p['month']}-{p['day']:02d}", amount=amount, currency=cur,
            inbox_id=f"ibx-{n}"))
    elif kind in ("orphan_invoice", "zero_orphan"):
        source_type, source_id = "invoice", f"INV-NOWHERE-{n}"
        if kind == "zero_orphan":  # AR in and out: an entry with no AR amount
            debit, credit = AR, AR
    elif kind == "one_sided_ic":
        source_type, debit, credit = "intercompany_charge", IC_AR, REVENUE
        dims = ((COUNTERPARTY, "US01" if ent != "US01" else "DE01"),)
        meta = ((CHARGE, f"intercompany_charge:{ent}:fix:{n}"),)
    elif kind in ("foreign_ar", "unconverted_ar"):
        line_cur = "USD" if cur != "USD" else "EUR"
        fx = Money(amount * 2, cur) if kind == "foreign_ar" else None
    elif kind == "revalues":
        source_type, dims = "fx_revaluation", ((REVALUES, "USD" if cur != "USD" else "EUR"),)
    elif kind == "true_up" and invoice is not None:
        source_type = "revenue"
        source_id = f"revenue:{invoice.contract_number}:{p['month']}:fix{n}"
        debit, credit = UNBILLED, REVENUE
    lines = (JournalLine(debit, Side.DEBIT, Money(amount, line_cur), functional=fx,
                         dimensions=dims),
             JournalLine(credit, Side.CREDIT, Money(amount, line_cur), functional=fx))
    entry_id = f"je-fix-{n}"
    conn.execute(journal_entries.insert().values(
        id=entry_id, entity_code=ent, posting_date=f"{p['month']}-{p['day']:02d}",
        description=f"hand fix {n}", source_type=source_type, source_id=source_id,
        reverses=None, posted_at="2026-05-01T00:00:00Z"))
    for i, ln in enumerate(lines, 1):
        conn.execute(journal_lines.insert().values(
            entry_id=entry_id, line_no=i, account=ln.account, side=ln.side.value,
            amount=ln.amount.amount, currency=ln.amount.currency, memo=""))
        detail = line_detail_row(entry_id, i, ln)
        if detail:
            conn.execute(journal_line_details.insert().values(**detail))
    if meta:
        conn.execute(journal_entry_metadata.insert().values(
            entry_id=entry_id, metadata=json.dumps([list(m) for m in meta])))


def carries(conn: Connection) -> set[tuple[str, str]]:
    return {(r.entity_code, r.period) for r in conn.execute(select(ledger_carries))}


def compare_after(system: Syncline, postings: list[dict[str, Any]]) -> None:
    """Write ``postings`` straight, let the close carry again, compare every report."""
    with system.engine.begin() as conn:
        assert carries(conn) == {(e.code, m) for e in system.ref.entities for m in LOCKED}
        for n, p in enumerate(postings):
            write_straight(conn, n, p)
        touched = {(p["entity"], p["month"]) for p in postings}
        for ent, month in carries(conn):  # the triggers dropped what a write touched
            assert not any(e == ent and m <= month for e, m in touched)
        keep_carries(conn, charts_for(conn, system.ref, system.charts))
        # carried again, but for an entity booked in a month before its first locked one:
        # that month is open, so no later month is final
        before = {p["entity"] for p in postings if p["month"] < LOCKED[0]}
        assert carries(conn) == {(e.code, m) for e in system.ref.entities
                                 for m in LOCKED if e.code not in before}
    assert carried_books(system, before) == whole_books(system)


@settings(max_examples=examples(8), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(postings=st.lists(posting, max_size=6))
def test_every_report_from_carried_books_equals_the_whole_books(
        firm_db: Path, postings: list[dict[str, Any]]) -> None:
    with copy_of(firm_db) as system:
        compare_after(system, postings)


EVERY_KIND = [{"kind": k, "entity": e, "month": m, "day": 9, "amount": Decimal("123.45")}
              for k, e, m in (("other_ar", "US01", "2026-02"), ("payment", "DE01", "2026-03"),
                              ("orphan_invoice", "GB01", "2026-02"),
                              ("zero_orphan", "US01", "2026-01"),
                              ("one_sided_ic", "DE01", "2026-01"),
                              ("foreign_ar", "GB01", "2026-03"),
                              ("unconverted_ar", "DE01", "2026-04"),
                              ("revalues", "US01", "2026-03"), ("true_up", "GB01", "2026-02"),
                              ("amend", "US01", "2026-03"))]


@settings(max_examples=examples(6), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rolled_back=st.lists(posting, min_size=1, max_size=4),
       postings=st.lists(posting, max_size=4))
def test_the_carries_a_process_keeps_are_the_stored_ones(
        firm_db: Path, rolled_back: list[dict[str, Any]], postings: list[dict[str, Any]]
) -> None:
    """The carried rows a process keeps under their token (ADR 0018) are the rows stored: the
    process has read the carries, then carried again in a transaction that wrote postings and
    rolled back (keeping rows under tokens the database never holds), then the postings that
    stay are written and carried; every carry then reads (kept) as from its table, and every
    report equals the whole books'."""
    with copy_of(firm_db) as system:
        with system.engine.connect() as conn:
            charts = charts_for(conn, system.ref, system.charts)
            load_books(conn, "2026-04", charts)  # kept: the carries through 2026-03
        with system.engine.connect() as conn:
            conn.begin()
            for n, p in enumerate(rolled_back):
                write_straight(conn, 100 + n, p)
            keep_carries(conn, charts)
            load_books(conn, "2026-04", charts)
            conn.rollback()
        compare_after(system, postings)
        with system.engine.connect() as conn:
            stored = conn.execute(select(ledger_carries)).all()
            got = {(r.entity_code, r.period): _rows(conn, r.entity_code, r.period, r.token)
                   for r in stored}
            kept.forget()
            assert got == {(r.entity_code, r.period): _rows(conn, r.entity_code, r.period,
                                                             None) for r in stored}


def test_every_kind_of_hand_posting_at_once(firm_db: Path) -> None:
    with copy_of(firm_db) as system:
        compare_after(system, EVERY_KIND)


def test_reports_held_for_every_scope_equal_those_built_alone(firm_db: Path) -> None:
    """What a close step works out once for every scope (ADR 0018: the AR subledger, the
    labor cost known now, the margin's late cost) gives each scope's report exactly as built
    on its own, for several periods inside one hold; and a scope's AR differences are the
    firm's of its entity. On the firm with every kind of hand posting (AR differences in
    every entity) and time approved late for a locked month (a late cost), its April closed."""
    with copy_of(firm_db) as system:
        with system.engine.begin() as conn:
            for n, p in enumerate(EVERY_KIND):
                write_straight(conn, n, p)
            late = conn.execute(select(time_entries).where(
                time_entries.c.work_date.like("2026-02-%")).limit(1)).one()._asdict()
            late.update(id="te-late", time_entry_id="TE-LATE", inbox_id="in-late",
                        hours=Decimal("7.5"))
            conn.execute(time_entries.insert().values(**late))
        for _name, step in close.LEDGER_STEPS:
            step(system, "2026-04", None)
        close.close_and_lock(system, "2026-04", None, actor="test", lock=False)
        options = report_options(system)
        scopes = [None, *(e.code for e in system.ref.entities)]
        names = ("close-reconciliation", "margin")
        periods = ("2026-03", "2026-04", "2026-05")
        with system.engine.connect() as conn:
            alone = {(n, s, p): report_json(options.build(conn, n, p, entity=s, as_of="now"))
                     for p in periods for n in names for s in scopes}
            with entries_held(conn):
                held = {(n, s, p): report_json(options.build(conn, n, p, entity=s,
                                                             as_of="now"))
                        for p in periods for n in names for s in scopes}
        assert held == alone
        assert "late changes to closed months" in alone[("margin", None, "2026-04")]
        for p in periods:
            firm = ar_differences(alone[("close-reconciliation", None, p)])
            assert len({d[4] for d in firm}) >= 2, p  # differences in several entities
            rows = ar_rows(alone[("close-reconciliation", None, p)], "Close reconciliation")
            for ent in scopes[1:]:
                scoped = alone[("close-reconciliation", ent, p)]
                assert ar_differences(scoped) == [d for d in firm if d[4] == ent]
                assert ar_rows(scoped, "Close reconciliation") == [
                    r for r in rows if r[1] == ent]


def ar_rows(report: str, title: str) -> list[list[Any]]:
    """The AR check's rows of the report's table whose title begins ``title``."""
    (table,) = [t for t in json.loads(report)["tables"] if t["title"].startswith(title)]
    return [row for row in table["rows"] if row[0] == "AR subledger = GL"]


def ar_differences(report: str) -> list[list[Any]]:
    return ar_rows(report, "Differences")


def check_triggers(system: Syncline) -> None:
    """A row of any journal table written, changed or deleted drops its entity's carries
    from its entry's month on, and only those."""
    je, jl, jd, jm = (journal_entries.c, journal_lines.c, journal_line_details.c,
                      journal_entry_metadata.c)
    every = {(e.code, m) for e in system.ref.entities for m in LOCKED}

    def entry_of(conn: Connection, entity: str, month: str, table: Any
                 ) -> tuple[str, str, str]:
        """An entry of ``entity`` in ``month`` (or, if it has none with a row in ``table``,
        the latest of a locked month that has): (id, entity, month)."""
        q = select(je.id, je.entity_code, je.posting_date).where(
            je.posting_date <= f"{LOCKED[-1]}-31")
        if table is not None:
            q = q.where(je.id.in_(select(table.c.entry_id)))
        here = (je.entity_code == entity) & je.posting_date.like(f"{month}-%")
        found = conn.execute(q.order_by(here.desc(), je.posting_date.desc(), je.id)).first()
        assert found is not None, table
        return found.id, found.entity_code, found.posting_date[:7]

    def gone(entity: str, month: str) -> set[tuple[str, str]]:
        return {(e, m) for e, m in every if e == entity and m >= month}

    changes = [
        ("US01", "2026-02", None, lambda c, i: c.execute(update(journal_lines).where(
            jl.entry_id == i).values(memo="hand"))),
        ("DE01", "2026-03", journal_line_details, lambda c, i: c.execute(
            update(journal_line_details).where(jd.entry_id == i).values(fx_source="hand"))),
        ("GB01", "2026-02", journal_entry_metadata, lambda c, i: c.execute(
            delete(journal_entry_metadata).where(jm.entry_id == i))),
        ("US01", "2026-03", None, lambda c, i: c.execute(update(journal_entries).where(
            je.id == i).values(description="hand"))),
    ]
    for entity, month, table, change in changes:
        with system.engine.begin() as conn:
            keep_carries(conn, charts_for(conn, system.ref, system.charts))
            assert carries(conn) == every
            entry, ent, at = entry_of(conn, entity, month, table)
            change(conn, entry)
            assert carries(conn) == every - gone(ent, at), (ent, at, table)
    with system.engine.begin() as conn:  # a new entry dated in a locked month, in SQL
        keep_carries(conn, charts_for(conn, system.ref, system.charts))
        write_straight(conn, 99, {"kind": "other_ar", "entity": "DE01", "month": "2026-02",
                                  "day": 3, "amount": Decimal("1.00")})
        assert carries(conn) == every - gone("DE01", "2026-02")
        keep_carries(conn, charts_for(conn, system.ref, system.charts))
        assert carries(conn) == every


def test_the_triggers_drop_the_carries_a_write_touches(firm_db: Path) -> None:
    with copy_of(firm_db) as system:
        check_triggers(system)


@pytest.mark.postgres
def test_carried_books_on_postgresql_too() -> None:
    """The triggers (PL/pgSQL) and the carried reports on the local PostgreSQL."""
    from syncline.adapters.db.scratch import throwaway_database
    from tests.conftest import pg_admin

    admin = pg_admin()
    try:
        with throwaway_database(admin, "syncline_carried") as url:
            system = closed_firm(url)
            try:
                check_triggers(system)
                compare_after(system, EVERY_KIND)
            finally:
                system.engine.dispose()
    finally:
        admin.dispose()


def test_the_firm_reports_have_something_to_compare(firm_db: Path) -> None:
    """The comparison is not vacuous: the firm's reports hold amounts in three currencies,
    AR, contract positions and intercompany balances."""
    with copy_of(firm_db) as system:
        carried = carried_books(system)
        assert carried == whole_books(system)
        recon = carried[("close-reconciliation", "*", "2026-04")]
        for needle in ("AR subledger = GL", "intercompany receivable = payable",
                       "unbilled subledger = GL", "EUR", "GBP", "USD"):
            assert needle in recon, needle


def test_the_revaluation_from_carried_books_posts_what_the_whole_books_post(
        firm_db: Path) -> None:
    """The FX revaluation step of 2026-04 reads the carried books: its summary and the entries
    it posts are those it makes from the whole books — with foreign receivables carried (the
    hand postings) and a foreign line lacking its functional amount after the carry (DE01's:
    an error value, as from the whole books)."""
    from syncline.services.close.fx_revaluation import revalue_period
    from syncline.services.ledger.queries import load_entries

    with copy_of(firm_db) as system:
        compare_after(system, EVERY_KIND)

        def revalue(whole: bool) -> tuple[Any, list[JournalEntry]]:
            with system.engine.connect() as conn:
                conn.begin()
                if whole:
                    conn.execute(delete(ledger_carried_balances))
                    conn.execute(delete(ledger_carries))
                out = revalue_period(
                    conn, "2026-04", entities=[e.code for e in system.ref.entities],
                    charts=system.charts,
                    functional_currencies=system.ledger.functional_currencies,
                    policy=system.ledger.fx_revaluation, now=fixed_clock())
                posted = load_entries(conn, period="2026-04", source_type="fx_revaluation")
                conn.rollback()
            return out, posted

        carried, whole = revalue(whole=False), revalue(whole=True)
        for out in (carried[0], whole[0]):  # the exception raised: new ids each time
            assert len(out.pop("exceptions")) == 1
        assert carried == whole
        assert carried[1] and "error" in carried[0]["entities"]["DE01"], carried
