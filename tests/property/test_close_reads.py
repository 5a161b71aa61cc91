"""The close's reads bounded by index (ADR 0021) answer what the history-wide reads answered.

- The unbilled items at a date: the items never invoiced (their partial index, migration
  0028), those of invoices dated after it and those naming an invoice that does not exist, in
  service-date and key order, are the items
  the whole scan of every item served up to the date found — for random items, statuses,
  invoice dates, holds and dates.
- The entities with entries, one index step per entity, are the distinct entity codes.
- An earlier recorded report's first table, decoded once per process by its text's digest,
  is what decoding the text gives, for every text.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, delete, select

from syncline.adapters.db.billing_tables import billing_holds
from syncline.adapters.db.tables import billable_items, invoices, journal_entries
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.ledger.reports import Table
from syncline.services.ledger.queries import entities_with_entries
from syncline.services.ledger.reports.aging import _unbilled_items
from syncline.services.ledger.reports.common import NOT_BILLABLE_ITEM_STATUSES, Report
from syncline.services.ledger.reports.snapshots import decode, encode, first_rows
from tests.conftest import examples, fixed_clock

DAY0 = date(2026, 1, 1)
STATUSES = ("generated", "released", "invoiced", "credited", "reversed", "written_off")
days = st.integers(min_value=0, max_value=90).map(lambda n: DAY0 + timedelta(days=n))
# keys that sort differently by case and punctuation: the order must be the database's
keys = st.text(alphabet="aAbB-_:1", min_size=1, max_size=4)


def _engine(tmp_path: Path) -> Any:
    return bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'reads.db'}"),
                     clock=fixed_clock, durable=False).engine


def _whole_scan(conn: Connection, as_of: date) -> list[str]:
    """The read before migration 0028: every item served up to ``as_of`` scanned, those
    billed on an invoice dated on or before it left out by the database."""
    day = as_of.isoformat()
    billed = (select(invoices.c.number).where(
        (invoices.c.number == billable_items.c.invoice_number)
        & (invoices.c.invoice_date <= day)).exists())
    on_hold = set(conn.execute(select(billing_holds.c.item_key).where(
        billing_holds.c.status == "held")).scalars())
    return [r.key for r in conn.execute(select(billable_items).where(
        (billable_items.c.service_date <= day)
        & billable_items.c.status.not_in(NOT_BILLABLE_ITEM_STATUSES) & ~billed)
        .order_by(billable_items.c.service_date, billable_items.c.key))
        if r.key not in on_hold]


@st.composite
def item_sets(draw: Any) -> tuple[list[date], list[dict[str, Any]], set[str]]:
    invoice_dates = draw(st.lists(days, max_size=5))
    chosen = draw(st.lists(keys, unique=True, max_size=25))
    items = []
    for key in chosen:
        number = draw(st.none() | st.just(-1) | st.integers(0, max(0, len(invoice_dates) - 1)))
        items.append({
            "key": key, "contract_number": draw(st.sampled_from(("C-1", "C-2"))),
            "source": "time", "service_date": draw(days).isoformat(), "description": key,
            "quantity": Decimal(1), "unit_price": Decimal(1), "currency": "USD",
            "amount": Decimal(1), "rate_scope": "contract", "status": draw(st.sampled_from(
                STATUSES)),
            "invoice_number": None if number is None else "INV-GONE" if number < 0  # no
            else None if not invoice_dates else f"INV-{number}"})  # such invoice: a hand edit
    held = set(draw(st.lists(st.sampled_from(chosen), max_size=3))) if chosen else set()
    return invoice_dates, items, held


@settings(max_examples=examples(80), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(found=item_sets(), as_of=days)
def test_the_unbilled_items_are_those_of_the_whole_scan(
        tmp_path: Path, found: tuple[list[date], list[dict[str, Any]], set[str]],
        as_of: date) -> None:
    invoice_dates, items, held = found
    engine = _engine(tmp_path)
    try:
        with engine.begin() as conn:
            for table in (billing_holds, billable_items, invoices):
                conn.execute(delete(table))
            if invoice_dates:
                conn.execute(invoices.insert(), [{
                    "number": f"INV-{i}", "entity_code": "US01", "contract_number": f"C-{i}",
                    "customer_name": "x", "currency": "USD", "invoice_date": d.isoformat(),
                    "period": d.isoformat()[:7], "subtotal": Decimal(1), "tax_code": "T",
                    "tax_rate": Decimal(0), "tax": Decimal(0), "total": Decimal(1),
                    "due_date": d.isoformat(), "service_line": "consulting",
                    "status": "issued"} for i, d in enumerate(invoice_dates)])
            if items:
                conn.execute(billable_items.insert(), items)
            for key in sorted(held):
                conn.execute(billing_holds.insert().values(
                    item_key=key, cap_id="cap", contract_number="C-1", amount=Decimal(1),
                    currency="USD", reason="cap", held_in="2026-01", status="held"))
            got = [item.key for item, _, _ in _unbilled_items(conn, as_of)]
            assert got == _whole_scan(conn, as_of)
    finally:
        engine.dispose()


@settings(max_examples=examples(40), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(codes=st.lists(st.text(alphabet="ABZaz019-", min_size=1, max_size=5), max_size=12))
def test_the_entities_with_entries_are_the_distinct_codes(tmp_path: Path,
                                                          codes: list[str]) -> None:
    engine = _engine(tmp_path)
    try:
        with engine.begin() as conn:
            conn.execute(delete(journal_entries))
            if codes:
                conn.execute(journal_entries.insert(), [
                    {"id": f"je-{i}", "entity_code": code, "posting_date": "2026-01-05",
                     "description": "x", "source_type": "manual", "source_id": f"m-{i}",
                     "posted_at": "2026-01-05T00:00:00Z"} for i, code in enumerate(codes)])
            distinct = sorted(conn.execute(
                select(journal_entries.c.entity_code).distinct()).scalars())
            assert entities_with_entries(conn) == distinct
    finally:
        engine.dispose()


cells = st.one_of(st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False),
                  st.text(max_size=6))


@settings(max_examples=examples(100), deadline=None)
@given(rows=st.lists(st.tuples(cells, cells, cells), max_size=6),
       other=st.lists(st.tuples(cells, cells, cells), max_size=6))
def test_a_recorded_reports_first_table_is_its_text_decoded(
        rows: list[tuple[Any, ...]], other: list[tuple[Any, ...]]) -> None:
    def text(found: list[tuple[Any, ...]]) -> str:
        return encode(Report("margin", "2026-01", "US01", (
            Table("Margin", ("entity", "project", "cost"), tuple(found)),)))

    for found in (rows, other, rows):  # each seen again after another
        assert list(first_rows(text(found))) == decode(text(found)).tables[0].as_dicts()
