"""Billable to date, carried (ADR 0016): recognition from the carried months gives every
contract exactly the schedule it gets from every counted item of its history.

On a simulated firm closed and locked for three months (recognition carried them), random late
changes are written straight in SQL, as a hand fix, a restore or a late reversal would: item
statuses, amounts (whole and not), service dates moved into other months, items deleted,
items inserted into any month (time, expenses, adjustments naming old items, other lines and
currencies), billing holds placed and released, modifications taking effect mid-month. Then:
the triggers dropped exactly the carried months the changes touch; every contract's schedule
as of every period from what is carried equals the same from its whole history; and after the
carries are kept again from the rows read, the same holds.
"""

from __future__ import annotations

import json
from dataclasses import astuple
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, delete, insert, select, update

from syncline.adapters.db.billing_tables import billing_holds
from syncline.adapters.db.revenue_tables import (
    contract_amendments,
    revenue_billable_carries,
    revenue_billable_sums,
)
from syncline.adapters.db.tables import billable_items
from syncline.revenue import compute_schedule
from syncline.revenue.model import RevenueError
from syncline.services.billing.run import month_bounds
from syncline.services.revenue.billable_carried import Read, keep_carries, locked_months
from syncline.services.revenue.facts import build_contract, contract_numbers
from syncline.services.revenue.reads import load_facts
from syncline.services.revenue.sync import DEFAULT_POLICY
from tests.conftest import examples
from tests.property.closed_firm import closed_firm, copy_of

MONTHS = ("2025-12", "2026-01", "2026-02", "2026-03", "2026-04")
PERIODS = ("2026-02", "2026-03", "2026-04")




def carried(conn: Connection) -> set[tuple[str, str]]:
    c = revenue_billable_carries.c
    return {(r.contract_number, r.period) for r in conn.execute(
        select(c.contract_number, c.period))}


def schedules(conn: Connection, period: str, *, whole: bool) -> dict[str, Any]:
    """Every contract's schedule as of ``period``'s end (all but the engine's input echo),
    from its whole history or as recognition of ``period`` reads it."""
    _, end = month_bounds(period)
    numbers = contract_numbers(conn, until=end)
    facts = load_facts(conn, numbers, before=None if whole else period)
    out: dict[str, Any] = {}
    for n in numbers:
        rc = build_contract(conn, n, facts=facts[n])
        assert rc is not None
        try:
            s = compute_schedule(rc, DEFAULT_POLICY, as_of=end)
        except RevenueError as err:
            out[n] = ("refused", str(err))
            continue
        out[n] = (s.periods, s.as_of_index, [astuple(o) for o in s.obligations], s.segments,
                  s.decisions, s.catch_ups, s.issues)
    return out


def keep(conn: Connection, period: str) -> int:
    """What recognition of ``period`` carries, from the rows it reads."""
    _, end = month_bounds(period)
    reads: list[Read] = []
    facts = load_facts(conn, contract_numbers(conn, until=end), before=period, reads=reads)
    return sum(keep_carries(conn, r, {n: f.held for n, f in facts.items()},
                            {n: f.head.entity_code for n, f in facts.items()},
                            locked_months(conn), period) for r in reads)


def same_either_way(conn: Connection) -> None:
    for period in PERIODS:
        assert schedules(conn, period, whole=False) == schedules(conn, period, whole=True), \
            period


# --- late changes, written in SQL ------------------------------------------------------------

amounts = st.one_of(st.decimals(min_value=Decimal("-900"), max_value=Decimal("900"), places=2),
                    st.decimals(min_value=Decimal("-9"), max_value=Decimal("9"), places=3))
change = st.tuples(
    st.sampled_from(("status", "amount", "move", "delete", "insert", "adjust", "hold",
                     "release", "amend", "currency", "fractions")),
    st.integers(0, 10_000), st.sampled_from(MONTHS), st.integers(1, 28), amounts,
    st.sampled_from(("generated", "released", "invoiced", "credited", "reversed",
                     "written_off")))


def apply(conn: Connection, step: tuple[str, int, str, int, Decimal, str], no: int,
          ) -> tuple[str, str | None]:
    """One late change; the contract it touches and the first month whose carry it must drop
    (None: every month)."""
    kind, pick, month, day, amount, status = step
    items = conn.execute(select(billable_items).order_by(billable_items.c.key)).all()
    row = items[pick % len(items)]
    bi = billable_items.c
    on_day = f"{month}-{day:02d}"
    if kind == "status":
        conn.execute(update(billable_items).where(bi.key == row.key).values(status=status))
    elif kind == "amount":
        conn.execute(update(billable_items).where(bi.key == row.key).values(amount=amount))
    elif kind == "fractions":  # a month of a contract's items off the minor unit
        for r in items:
            if r.contract_number == row.contract_number and \
                    r.service_date[:7] == row.service_date[:7]:
                conn.execute(update(billable_items).where(bi.key == r.key).values(
                    amount=r.amount + Decimal("0.004")))
    elif kind == "currency":
        conn.execute(update(billable_items).where(bi.key == row.key).values(currency="JPY"))
    elif kind == "move":
        conn.execute(update(billable_items).where(bi.key == row.key)
                     .values(service_date=on_day))
        return row.contract_number, min(row.service_date[:7], month)
    elif kind == "delete":
        gone = conn.execute(delete(billing_holds).where(billing_holds.c.item_key == row.key))
        conn.execute(delete(billable_items).where(bi.key == row.key))
        if gone.rowcount:
            return row.contract_number, None
    elif kind in ("insert", "adjust"):
        values = {**row._mapping, "key": f"{'adjustment' if kind == 'adjust' else row.source}:"
                  f"late-{no}", "service_date": on_day, "amount": amount, "status": status}
        if kind == "adjust":
            named = [items[(pick + k * 7) % len(items)].key for k in range(1 + pick % 2)]
            values.update(source="adjustment", adjusts=json.dumps(
                named if pick % 5 else [f"time:gone-{no}"]), line_id=None)
        conn.execute(insert(billable_items).values(values))
        return row.contract_number, month
    elif kind == "hold":
        if conn.execute(select(billing_holds.c.item_key).where(
                billing_holds.c.item_key == row.key)).first() is not None:
            return row.contract_number, "9999-99"
        conn.execute(insert(billing_holds).values(
            item_key=row.key, cap_id="cap-late", contract_number=row.contract_number,
            amount=row.amount, currency=row.currency, reason="late", held_in=month,
            status="held"))
        return row.contract_number, None
    elif kind == "release":
        held = conn.execute(select(billing_holds)).all()
        if not held:
            return row.contract_number, "9999-99"
        h = held[pick % len(held)]
        conn.execute(update(billing_holds).where(billing_holds.c.item_key == h.item_key)
                     .values(status="approved" if h.status == "held" else "held"))
        return h.contract_number, None
    else:  # a modification taking effect on any day (read at recognition, no trigger)
        tm = row.line_id or "L1"
        conn.execute(insert(contract_amendments).values(
            amendment_id=f"AMD-late-{no}", contract_number=row.contract_number,
            effective_date=on_day, inbox_id="late", recorded_at="2026-01-01T00:00:00+00:00",
            payload=json.dumps({"reason": "late", "changes": [
                {"action": "change_price", "line_id": tm, "amount": "1"}]})))
        return row.contract_number, "9999-99"
    return row.contract_number, row.service_date[:7]


def expected_after(before: set[tuple[str, str]], touched: str, month: str | None,
                   ) -> set[tuple[str, str]]:
    return {(n, m) for n, m in before if n != touched or (month is not None and m < month)}


@settings(max_examples=examples(10), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(change, min_size=1, max_size=6))
def test_carried_billable_is_the_whole_history(firm_db: Path, steps: list[Any]) -> None:
    with copy_of(firm_db) as system, system.engine.connect() as conn:
        conn.begin()
        for no, step in enumerate(steps):
            now = carried(conn)
            touched, month = apply(conn, step, no)
            assert carried(conn) == expected_after(now, touched, month), step
        same_either_way(conn)
        for period in PERIODS:
            keep(conn, period)
            same_either_way(conn)
        conn.rollback()


def test_the_firm_carries_and_has_something_to_compare(firm_db: Path) -> None:
    """Recognition carried the locked months of the firm's contracts with items; a run from
    them reads fewer rows, and the comparison covers contracts with items in every month."""
    with copy_of(firm_db) as system, system.engine.connect() as conn:
        found = carried(conn)
        assert {m for _n, m in found} == {"2026-01", "2026-02", "2026-03"}, found
        sums = conn.execute(select(revenue_billable_sums)).all()
        assert sums and all(r.amount for r in sums)
        facts = load_facts(conn, sorted({n for n, _m in found}), before="2026-03")
        whole = load_facts(conn, sorted({n for n, _m in found}))
        assert sum(len(f.items) for f in facts.values()) < sum(
            len(f.items) for f in whole.values())
        assert any(f.carried is not None for f in facts.values())
        same_either_way(conn)


def test_recognition_keeps_what_the_whole_history_would(firm_db: Path) -> None:
    """Carries dropped wholesale and kept again by a run equal the ones kept month by month."""
    with copy_of(firm_db) as system, system.engine.connect() as conn:
        conn.begin()
        kept = {tuple(r) for r in conn.execute(select(revenue_billable_sums))}
        months = carried(conn)
        conn.execute(delete(revenue_billable_sums))
        conn.execute(delete(revenue_billable_carries))
        assert keep(conn, "2026-03") == len(months)
        assert carried(conn) == months
        assert {tuple(r) for r in conn.execute(select(revenue_billable_sums))} == kept
        conn.rollback()


def test_an_adjustment_counts_for_the_line_of_the_carried_item_it_names(firm_db: Path) -> None:
    """An adjustment after the carried months naming an item in them goes to that item's own
    time-and-materials line (its source and line are looked up, not read as a row)."""
    with copy_of(firm_db) as system, system.engine.connect() as conn:
        conn.begin()
        bi = billable_items.c
        item = conn.execute(select(billable_items).where(
            (bi.source == "time") & bi.service_date.like("2026-01-%")
            & bi.status.in_(("invoiced", "generated"))).order_by(bi.key)).first()
        assert item is not None
        n = item.contract_number
        conn.execute(insert(contract_amendments).values(
            amendment_id="AMD-second-line", contract_number=n, effective_date="2026-01-01",
            inbox_id="late", recorded_at="2026-01-01T00:00:00+00:00", payload=json.dumps(
                {"reason": "a second T&M line", "changes": [
                    {"action": "add_line", "line_id": "L-late", "kind": "time_and_materials",
                     "distinct": True, "priced_at_ssp": True}]})))
        conn.execute(update(billable_items).where(bi.key == item.key).values(line_id="L-late"))
        keep(conn, "2026-03")
        assert (n, "2026-01") in carried(conn)
        conn.execute(insert(billable_items).values({
            **item._mapping, "key": "adjustment:late", "source": "adjustment",
            "service_date": "2026-03-10", "amount": Decimal("-7.00"), "line_id": None,
            "adjusts": json.dumps([item.key])}))
        assert (n, "2026-01") in carried(conn)
        same_either_way(conn)
        whole = schedules(conn, "2026-03", whole=True)[n]
        assert any(o[0] == "L-late" for o in whole[2]), whole[2]
        conn.rollback()


EVERY_KIND = [("status", 3, "2026-01", 5, Decimal("1.00"), "credited"),
              ("amount", 40, "2026-01", 5, Decimal("12.34"), "generated"),
              ("move", 77, "2026-02", 17, Decimal("1.00"), "generated"),
              ("insert", 5, "2025-12", 9, Decimal("55.00"), "invoiced"),
              ("adjust", 9, "2026-02", 3, Decimal("-5.00"), "generated"),
              ("hold", 11, "2026-01", 2, Decimal("1.00"), "generated"),
              ("release", 0, "2026-01", 2, Decimal("1.00"), "generated"),
              ("delete", 101, "2026-01", 2, Decimal("1.00"), "generated")]


@pytest.mark.postgres
def test_carried_billable_on_postgresql_too() -> None:
    """The triggers (PL/pgSQL) and the schedules from carried months on the local
    PostgreSQL."""
    from syncline.adapters.db.scratch import throwaway_database
    from tests.conftest import pg_admin

    admin = pg_admin()
    try:
        with throwaway_database(admin, "syncline_billable_carried") as url:
            system = closed_firm(url)
            try:
                with system.engine.connect() as conn:
                    conn.begin()
                    assert carried(conn)
                    same_either_way(conn)
                    for no, step in enumerate(EVERY_KIND):
                        now = carried(conn)
                        touched, month = apply(conn, step, no)
                        assert carried(conn) == expected_after(now, touched, month), step
                    same_either_way(conn)
                    keep(conn, "2026-04")
                    same_either_way(conn)
                    conn.rollback()
            finally:
                system.engine.dispose()
    finally:
        admin.dispose()
