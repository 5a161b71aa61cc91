"""The BI feed (`syncline bi export`, services/bi): the canonical facts as Parquet that DuckDB
reads, money as DECIMAL(20,4), the ledger's sums intact, and incremental — a run with
nothing new writes nothing, a run after new events writes only the new and changed rows.

The firm: one deal (contract C-1, consultant rate 200.00 USD), one worker, two approved
days of 8 h in January (T-1 on 2026-01-05, T-2 on 2026-01-06), billed: one invoice of
2 × 8 h × 200.00 = 3,200.00 subtotal. Then the PSA rejects T-2 after approval and February's
run credits it: one credit note of 8 h × 200.00 = −1,600.00 subtotal (credits are negative).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
from sqlalchemy import func, select

from syncline.adapters.db.tables import journal_entries
from syncline.bootstrap import Syncline
from syncline.services.bi.export import export
from syncline.services.billing.run import run_billing
from syncline.services.messaging.inbox import receive_many
from syncline.services.state import ledger_trial_balance
from tests.builders import deal, rejection, time_entry, worker


def ingest(system: Syncline, *events: Any) -> None:
    with system.engine.begin() as conn:
        receive_many(conn, list(events), now=system.clock())
    system.process()


def bill(system: Syncline, period: str) -> Any:
    return run_billing(system.engine, period, system.ref, system.charts, system.clock())


def feed(folder: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB with the feed's own views.sql, as a data team would open it."""
    db = duckdb.connect()
    db.execute(f"SET file_search_path = '{folder}'")
    db.execute((folder / "views.sql").read_text(encoding="utf-8"))
    return db


def written(summary: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {t["table"]: (t["rows"], t["deleted"]) for t in summary["tables"]
            if t["file"] is not None}


def parts(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.glob("*/part-*.parquet")}


def duck_trial_balance(db: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, str], Decimal]:
    return {(e, a, c): b for e, a, c, b in db.sql(
        "SELECT entity_code, account, currency, "
        "sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) "
        "FROM journal_lines GROUP BY ALL").fetchall()}


def ledger_balances(system: Syncline) -> dict[tuple[str, str, str], Decimal]:
    with system.engine.connect() as conn:
        tb = ledger_trial_balance(conn)
    assert tb.rows
    return {(r.entity_id, r.account, r.currency): r.balance for r in tb.rows}


def test_the_feed_is_read_by_duckdb_with_the_ledgers_sums_and_exact_decimals(
        system: Syncline, tmp_path: Path) -> None:
    ingest(system, deal(), worker(), time_entry("T-1"), time_entry("T-2", day="2026-01-06"))
    assert bill(system, "2026-01").invoices == ["US01-2026-000001"]
    folder = tmp_path / "feed"

    first = export(system.engine, folder, now=system.clock())
    assert first["run"] == 1
    # every table gets a part in the first run (empty ones too, so the views always resolve)
    assert len(parts(folder)) == len(first["tables"]) == 14

    db = feed(folder)
    assert db.sql("SELECT invoice_number, subtotal, currency FROM invoices").fetchall() == [
        ("US01-2026-000001", Decimal("3200.0000"), "USD")]
    types = {r[0]: r[1] for r in db.sql("DESCRIBE invoices").fetchall()}
    assert types["total"] == types["subtotal"] == "DECIMAL(20,4)"
    assert db.sql("SELECT sum(hours) FROM time_entries").fetchall() == [(Decimal("16.0000"),)]
    # the ledger's trial balance, account by account, equals the feed's journal lines
    assert duck_trial_balance(db) == ledger_balances(system)
    # invoice lines add up to their invoice
    assert db.sql("SELECT i.subtotal = sum(l.amount) FROM invoices i JOIN invoice_lines l "
                  "USING (invoice_number) GROUP BY i.subtotal").fetchall() == [(True,)]
    # Parquet's own type, read without DuckDB: decimal128 with scale 4, never a float
    schema = pq.read_schema(folder / "invoices" / "part-000001.parquet")
    assert str(schema.field("total").type) == "decimal128(20, 4)"


def test_a_second_run_writes_nothing_and_after_new_events_only_what_changed(
        system: Syncline, tmp_path: Path) -> None:
    ingest(system, deal(), worker(), time_entry("T-1"), time_entry("T-2", day="2026-01-06"))
    bill(system, "2026-01")
    folder = tmp_path / "feed"
    export(system.engine, folder, now=system.clock())
    files = parts(folder)

    again = export(system.engine, folder, now=system.clock())
    assert again["run"] == 2 and written(again) == {}
    assert parts(folder) == files  # no new file

    with system.engine.connect() as conn:
        entries_before = conn.execute(select(func.count()).select_from(journal_entries)
                                      ).scalar_one()
    ingest(system, rejection("T-2"))
    assert bill(system, "2026-02").credit_notes == ["US01-CN-2026-000001"]
    with system.engine.connect() as conn:
        new_entries = conn.execute(select(func.count()).select_from(journal_entries)
                                   ).scalar_one() - entries_before
    assert new_entries > 0

    third = export(system.engine, folder, now=system.clock())
    changed = written(third)
    # T-2 reversed (one changed row), the credit note and its line, the new entries only
    assert changed["time_entries"] == (1, 0)
    assert changed["credit_notes"] == (1, 0) and changed["credit_note_lines"] == (1, 0)
    assert changed["journal_entries"] == (new_entries, 0)
    assert "customers" not in changed and "contracts" not in changed
    assert parts(folder) - files == {f"{t}/part-000003.parquet" for t in changed}

    db = feed(folder)
    # the views show the latest version of each row: T-2 reversed, both entries still there
    assert db.sql("SELECT time_entry_id, status FROM time_entries ORDER BY 1").fetchall() == [
        ("T-1", "approved"), ("T-2", "reversed")]
    assert db.sql("SELECT subtotal FROM credit_notes").fetchall() == [
        (Decimal("-1600.0000"),)]  # 8 h × 200.00, stored negative
    assert duck_trial_balance(db) == ledger_balances(system)


def test_a_row_gone_from_the_database_is_a_tombstone_and_leaves_the_view(
        system: Syncline, tmp_path: Path) -> None:
    """Revenue schedules are recomputed when a contract changes, and a period no longer
    scheduled disappears: the feed records the key of a row gone as deleted."""
    from syncline.adapters.db.tables import time_entries

    ingest(system, deal(), worker(), time_entry("T-1"), time_entry("T-2", day="2026-01-06"))
    folder = tmp_path / "feed"
    export(system.engine, folder, now=system.clock())
    with system.engine.begin() as conn:  # stands in for a row a recomputation dropped
        conn.execute(time_entries.delete().where(time_entries.c.time_entry_id == "T-2"))
    run = export(system.engine, folder, now=system.clock())
    assert written(run) == {"time_entries": (0, 1)}
    db = feed(folder)
    assert db.sql("SELECT time_entry_id FROM time_entries").fetchall() == [("T-1",)]
    tomb = pq.read_table(folder / "time_entries" / "part-000002.parquet").to_pylist()
    assert [(r["time_entry_id"], r["_deleted"], r["hours"]) for r in tomb] == [
        ("T-2", True, None)]
