"""Billable items in the database: rows to ``BillableItem`` and back, and step 3 of the run,
**select** — the open items (generated / released) of the entity's contracts dated in or
before the cycle (deferred advance months included), aggregated *set-based* in SQL into
invoice lines (``group_lines``'s rule), amounts and hours summed as exact integers of
1/10 000; items in another currency than their contract's are a problem, left out. After
invoicing, the aggregated items move to ``invoiced`` in bulk with the same predicate."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, bindparam, or_, text, update

from syncline.adapters.db.tables import billable_items, contracts
from syncline.billing.fx import FxSnapshot
from syncline.billing.invoicing import InvoiceLine, line_label
from syncline.billing.items import OPEN_STATUSES, BillableItem, ItemSource, ItemStatus
from syncline.ledger.money import Money
from syncline.services.billing.run.cycle import Run, billing_problem

__all__ = ["OPEN", "SCALE", "Lines", "aggregate_lines", "insert_items", "item_from_row",
           "item_row", "mark_invoiced", "open_items"]

OPEN = tuple(s.value for s in OPEN_STATUSES)
SCALE = 10_000  # amounts and quantities are summed as exact integers of 1/10 000


def item_from_row(r: Any) -> BillableItem:
    fx = None
    if r.fx_rate is not None and r.fx_base and r.fx_as_of:
        fx = FxSnapshot(r.fx_base, r.currency, r.fx_rate, r.fx_source or "",
                        date.fromisoformat(r.fx_as_of))
    return BillableItem(
        key=r.key, contract_number=r.contract_number, source=ItemSource(r.source),
        service_date=date.fromisoformat(r.service_date), description=r.description,
        quantity=r.quantity, unit_price=Money(r.unit_price, r.currency),
        amount=Money(r.amount, r.currency), rate_scope=r.rate_scope,
        status=ItemStatus(r.status), origin=r.origin or "", split_of=r.split_of,
        line_id=r.line_id or "", budget_id=r.budget_id or "", role=r.role or "", fx=fx,
        deferred=bool(r.deferred), adjusts=tuple(json.loads(r.adjusts or "[]")),
        invoice_number=r.invoice_number, rate_card=r.rate_card or "")


def item_row(item: BillableItem) -> dict[str, Any]:
    fx = item.fx
    return {
        "key": item.key, "contract_number": item.contract_number, "source": item.source.value,
        "service_date": item.service_date.isoformat(), "description": item.description,
        "quantity": item.quantity, "unit_price": item.unit_price.amount,
        "currency": item.amount.currency, "amount": item.amount.amount,
        "rate_scope": item.rate_scope, "status": item.status.value,
        "invoice_number": item.invoice_number, "origin": item.origin or None,
        "split_of": item.split_of, "line_id": item.line_id or None,
        "budget_id": item.budget_id or None, "role": item.role or None,
        "deferred": item.deferred, "adjusts": json.dumps(list(item.adjusts)) if item.adjusts
        else None, "rate_card": item.rate_card or None,
        "fx_base": fx.base if fx else None, "fx_rate": fx.rate if fx else None,
        "fx_source": fx.source if fx else None,
        "fx_as_of": fx.as_of.isoformat() if fx else None, "credit_note_number": None,
    }


def insert_items(conn: Connection, items: Iterable[BillableItem]) -> int:
    rows = [item_row(i) for i in items]
    if rows:
        conn.execute(billable_items.insert(), rows)
    return len(rows)


def open_items(entity: str, end: date) -> Any:
    return and_(billable_items.c.status.in_(OPEN),
                or_(billable_items.c.service_date <= end.isoformat(),
                    billable_items.c.deferred.is_(True)),
                billable_items.c.contract_number == contracts.c.number,
                billable_items.c.currency == contracts.c.currency,
                contracts.c.entity_code == entity)


def _plain(value: Decimal) -> Decimal:
    value = value.normalize()
    return value.quantize(Decimal(1)) if value.as_tuple().exponent > 0 else value  # type: ignore[operator]


_LINES_SQL = """
SELECT c, s, l, p, d, cur, SUM(q) AS q, SUM(a) AS a, {keys} AS keys FROM (
  SELECT b.contract_number AS c, b.source AS s,
         CASE WHEN b.source = 'time'
              THEN substr(b.description, 1, {find}(b.description, ' time ') - 1)
              ELSE b.description END AS l,
         b.unit_price AS p,
         b.deferred AS d, b.currency AS cur,
         {scaled_quantity} AS q, {scaled_amount} AS a, b.key AS k
  FROM billable_items AS b {not_indexed}
  WHERE b.status IN ('generated', 'released') AND (b.service_date <= :end OR b.deferred)
  {entity}) AS items
GROUP BY c, s, l, p, d, cur
"""

Lines = dict[str, list[tuple[tuple[str, str, bool, Decimal], InvoiceLine]]]


def aggregate_lines(run: Run, entity: str | None, currency_of: dict[str, str]) -> Lines:
    """Open items grouped into invoice lines (``group_lines``'s rule) in one SQL pass over
    the item table: one scan for the whole run, not one per contract or entity. Items in
    another currency than their contract's are problems, left out."""
    conn = run.conn
    sqlite = conn.dialect.name == "sqlite"
    sql = _LINES_SQL.format(
        keys="json_group_array(k)" if sqlite else "json_agg(k)::text",
        find="instr" if sqlite else "strpos", not_indexed="NOT INDEXED" if sqlite else "",
        **{f"scaled_{c}": (f"CAST(ROUND(b.{c} * 10000) AS INTEGER)" if sqlite else
                           f"CAST(ROUND(CAST(b.{c} AS NUMERIC) * 10000) AS BIGINT)")
           for c in ("quantity", "amount")},
        entity="AND b.contract_number IN (SELECT number FROM contracts "
               "WHERE entity_code = :entity)" if entity else "")
    params: dict[str, Any] = {"end": run.end.isoformat()}
    if entity:
        params["entity"] = entity
    merged: dict[str, dict[tuple[str, str, bool, Decimal], list[Any]]] = defaultdict(dict)
    wrong: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in conn.execute(text(sql), params):
        if r.c not in currency_of:
            continue  # a contract of no legal entity in this run
        if r.cur != currency_of[r.c]:
            wrong[(r.c, r.cur)].extend(json.loads(r.keys))
            continue
        lbl = line_label(r.s, r.l if r.s != ItemSource.TIME.value else f"{r.l} time ")
        price = Decimal(str(r.p))
        k = (r.s, lbl, bool(r.d), price.normalize())
        item_keys = json.loads(r.keys)
        if k in merged[r.c]:  # same line: labels differing by case, prices by zeros
            prev = merged[r.c][k]
            prev[1] += int(r.q)
            prev[2] += int(r.a)
            prev[3] += item_keys
        else:
            merged[r.c][k] = [price, int(r.q), int(r.a), item_keys, r.cur]
    for (contract, cur), keys in sorted(wrong.items()):
        run.problem(billing_problem(
            "billing.item_currency", f"{len(keys)} item(s) of contract {contract} are in "
            f"{cur}, the contract bills in {currency_of[contract]} (first: {min(keys)})",
            "Correct the items' source records (rate card or expense), then re-run the cycle.",
            ("contract", contract), ("item", min(keys))))
    out: Lines = {}
    for contract, groups in merged.items():
        lines = []
        for k, (price, q, a, item_keys, cur) in sorted(groups.items()):
            amount = Money(Decimal(a) / SCALE, cur).rounded()
            lines.append((k, InvoiceLine(k[1], _plain(Decimal(q) / SCALE), Money(price, cur),
                                         amount, tuple(sorted(item_keys)), k[2])))
        out[contract] = lines
    return out


def mark_invoiced(run: Run, done: Sequence[tuple[str, str, str]]) -> None:
    """Items of the aggregated contracts move to invoiced in bulk, with the aggregation's
    predicate. SQLite: one UPDATE scanning the item table once, the invoice number looked
    up per row in a temporary map; elsewhere one UPDATE per contract, as a batch."""
    if not done:
        return
    conn = run.conn
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS billing_run_map (contract TEXT, "
                             "cur TEXT, inv TEXT, PRIMARY KEY (contract, cur))")
        conn.exec_driver_sql("DELETE FROM billing_run_map")
        conn.execute(text("INSERT INTO billing_run_map VALUES (:c, :cur, :inv)"),
                     [{"c": c, "inv": inv, "cur": cur} for c, inv, cur in done])
        conn.execute(text(
            "UPDATE billable_items NOT INDEXED SET status = 'invoiced', invoice_number = m.inv"
            " FROM billing_run_map AS m WHERE m.contract = billable_items.contract_number"
            " AND m.cur = billable_items.currency AND billable_items.status IN"
            " ('generated', 'released') AND (billable_items.service_date <= :end"
            " OR billable_items.deferred)"), {"end": run.end.isoformat()})
        conn.exec_driver_sql("DELETE FROM billing_run_map")
        return
    conn.execute(
        update(billable_items)
        .where((billable_items.c.contract_number == bindparam("c"))
               & or_(*(billable_items.c.status == s for s in OPEN))
               & or_(billable_items.c.service_date <= run.end.isoformat(),
                     billable_items.c.deferred.is_(True))
               & (billable_items.c.currency == bindparam("cur")))
        .values(status=ItemStatus.INVOICED.value, invoice_number=bindparam("inv")),
        [{"c": c, "inv": inv, "cur": cur} for c, inv, cur in done])
