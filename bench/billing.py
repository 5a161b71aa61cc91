"""Billing engine benchmark: an invoice run over 1,000,000 approved time entries.

Set-up (timed apart): the simulator's firm (workers, customers, deals with their contract
rates) scaled to many contracts, and a fast deterministic generator of approved time for it
(role, work day, quarter hours) bulk-loaded as generated billable items into a fresh SQLite
file, priced at the contract's rate or the role default like the ingest handler does.

Timed, in the same run and over the same rows:
- the invoice run (`run_billing` for the month: lines aggregated set-based, numbering, tax,
  release journals, items moved to invoiced in bulk; the labor-cost journal is left out);
- a bare SQL aggregation of hours x rate by contract and month in SQLite (the same engine),
  and in DuckDB over the same rows when it is installed.
Goal: the run within 5x of the bare SQLite aggregation.

`SYNCLINE_BENCH_BILLING_ENTRIES` changes the size (default 1,000,000).
"""

from __future__ import annotations

import csv
import os
import random
import sqlite3
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.domain.reference import DEFAULT_REFERENCE
from syncline.services.billing.run import run_billing
from syncline.simulator import SimulationConfig
from syncline.simulator.firm import plan_firm

GOAL = 5.0
PERIOD = "2026-03"
NOW = datetime(2026, 4, 1, 6, 0, tzinfo=UTC)


def _load(db: Path, entries: int, seed: int = 7) -> tuple[int, int]:
    cfg = SimulationConfig(seed=seed, customers=max(12, entries // 2500), workers=200,
                           months=6)
    firm = plan_firm(cfg, random.Random(seed), DEFAULT_REFERENCE)
    defaults = {(r.role, r.rate.currency): r.rate.amount for r in DEFAULT_REFERENCE.role_rates}
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    # the simulator sells some deals in a foreign currency: their invoices need a rate
    con.executemany("INSERT INTO fx_rates (base, quote, as_of, rate, source) VALUES "
                    "(?,?,?,?,?)", [("EUR", "USD", "2026-03-31", "1.0850", "bench"),
                                    ("USD", "GBP", "2026-03-31", "0.7900", "bench"),
                                    ("USD", "EUR", "2026-03-31", "0.9200", "bench")])
    customers = [(f"cus_{c.external_id}", c.external_id, c.name, c.country)
                 for c in firm.customers]
    con.executemany("INSERT INTO customers (id, external_id, name, country) VALUES (?,?,?,?)",
                    customers)
    contracts = []
    rates: dict[str, dict[str, int]] = {}
    for d in firm.deals:
        contracts.append((f"ctr_{d.contract_number}", d.contract_number, d.deal_id,
                          f"cus_{d.customer.external_id}", d.customer.entity,
                          d.customer.tax_profile, d.currency, "2026-01-01", "2026-12-31",
                          "time_and_materials", d.payment_terms_days, "consulting", 1))
        own = dict(d.rates)
        rates[d.contract_number] = {
            role: int(own.get(role, defaults[(role, d.currency)]))
            for role in ("partner", "manager", "senior_consultant", "consultant", "analyst")}
    con.executemany(
        "INSERT INTO contracts (id, number, deal_id, customer_id, entity_code, tax_profile, "
        "currency, start_date, end_date, billing_type, payment_terms_days, service_line, "
        "version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", contracts)
    by_contract = {d.contract_number: d for d in firm.deals}
    numbers = sorted(by_contract)
    workers = [w for w in firm.workers]
    rng = random.Random(f"{seed}:bench")
    days = [date(2026, 3, 1) + timedelta(days=k) for k in range(31)]
    days = [d for d in days if d.weekday() < 5]
    sql = ("INSERT INTO billable_items (key, contract_number, source, service_date, "
           "description, quantity, unit_price, currency, amount, rate_scope, status, role, "
           "deferred) VALUES (?,?,'time',?,?,?,?,?,?,?,'generated',?,0)")
    batch = []
    for i in range(entries):
        number = numbers[i % len(numbers)]
        deal = by_contract[number]
        worker = workers[rng.randrange(len(workers))]
        role = worker.role
        day = days[rng.randrange(len(days))].isoformat()
        quarters = rng.randint(4, 36)
        rate = rates[number][role]
        cents = quarters * rate * 25  # quarters x rate / 4, in cents
        batch.append((f"time:TE-{i + 1:07d}", number, day, f"{role} time {day}",
                      str(Decimal(quarters) / 4), f"{rate}.00", deal.currency,
                      f"{cents // 100}.{cents % 100:02d}", "contract" if role in dict(
                          deal.rates) else "default", role))
        if len(batch) == 50_000:
            con.executemany(sql, batch)
            batch.clear()
    if batch:
        con.executemany(sql, batch)
    con.commit()
    con.execute("ANALYZE")
    con.close()
    return len(firm.deals), len(firm.customers)


def _bare_sqlite(db: Path) -> tuple[float, Decimal]:
    con = sqlite3.connect(db)
    con.execute("PRAGMA cache_size=-262144")  # the same page cache as the run's
    started = time.perf_counter()
    rows = con.execute(
        "SELECT contract_number, substr(service_date, 1, 7) AS month, "
        "SUM(CAST(quantity AS REAL) * CAST(unit_price AS REAL)) FROM billable_items "
        "WHERE source = 'time' GROUP BY contract_number, month").fetchall()
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed, Decimal(str(round(sum(r[2] for r in rows), 2))).quantize(Decimal("0.01"))


def _bare_duckdb(db: Path) -> float | None:
    """The same aggregation in DuckDB (columnar, in memory) over the same rows, copied in
    through a CSV file (not timed)."""
    try:
        import duckdb
    except ImportError:
        return None
    csv_path = db.with_suffix(".csv")
    con = sqlite3.connect(db)
    with csv_path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["contract", "day", "hours", "rate"])
        writer.writerows(con.execute(
            "SELECT contract_number, service_date, quantity, unit_price FROM billable_items"))
    con.close()
    duck = duckdb.connect()
    duck.execute(f"CREATE TABLE t AS SELECT * FROM read_csv_auto('{csv_path}', "
                 "types={'hours': 'DECIMAL(18,4)', 'rate': 'DECIMAL(18,4)'})")
    started = time.perf_counter()
    duck.execute("SELECT contract, date_trunc('month', day) AS month, SUM(hours * rate) FROM t "
                 "GROUP BY contract, month").fetchall()
    elapsed = time.perf_counter() - started
    duck.close()
    return elapsed


def main() -> None:
    entries = int(os.environ.get("SYNCLINE_BENCH_BILLING_ENTRIES", "1000000"))
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench-billing.db"
        t0 = time.perf_counter()
        system = bootstrap(Settings(database_url=f"sqlite:///{db}"), clock=lambda: NOW,
                           durable=False)
        n_contracts, n_customers = _load(db, entries)
        setup = time.perf_counter() - t0
        print(f"set-up: {entries:,} approved time entries as billable items for "
              f"{n_contracts:,} contracts of {n_customers:,} customers in {setup:.1f} s")
        bare_before, bare_total = _bare_sqlite(db)
        t1 = time.perf_counter()
        result = run_billing(system.engine, PERIOD, system.ref, system.charts, NOW,
                             labor_cost=False)
        run = time.perf_counter() - t1
        bare_after, _ = _bare_sqlite(db)
        bare = (bare_before + bare_after) / 2  # measured before and after the run
        con = sqlite3.connect(db)
        billed = con.execute("SELECT COUNT(*) FROM billable_items WHERE status = 'invoiced'"
                             ).fetchone()[0]
        subtotal = con.execute("SELECT SUM(CAST(subtotal AS REAL)) FROM invoices").fetchone()[0]
        con.close()
        again = time.perf_counter()
        second = run_billing(system.engine, PERIOD, system.ref, system.charts, NOW,
                             labor_cost=False)
        rerun = time.perf_counter() - again
        print(f"invoice run: {len(result.invoices):,} invoices, {billed:,} items invoiced, "
              f"{result.journal_entries:,} journals in {run:.2f} s = {entries / run:,.0f} "
              f"entries/s" + (f"; {len(result.problems)} problem(s): "
                              f"{result.problems[0].message}" if result.problems else ""))
        print(f"bare SQLite aggregation (hours x rate by contract and month): {bare:.2f} s "
              f"(before the run {bare_before:.2f} s, after {bare_after:.2f} s) = "
              f"{entries / bare:,.0f} rows/s")
        ratio = run / bare
        print(f"ratio run / bare SQLite aggregation: {ratio:.1f}x (goal within {GOAL:.0f}x: "
              f"{'met' if ratio <= GOAL else 'NOT met'})")
        duck = _bare_duckdb(db)
        if duck is not None:
            print(f"bare DuckDB aggregation (in memory, columnar): {duck:.3f} s; "
                  f"ratio {run / duck:.0f}x")
        invoiced = Decimal(str(round(subtotal, 2))).quantize(Decimal("0.01"))
        print(f"totals agree: invoices {invoiced:,} = aggregation {bare_total:,}: "
              f"{abs(invoiced - bare_total) < 1}")
        print(f"second run of the same cycle: {len(second.invoices)} invoices, "
              f"{second.items_invoiced} items in {rerun:.2f} s (idempotent)")
        system.engine.dispose()


if __name__ == "__main__":
    main()
