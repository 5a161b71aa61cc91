"""Posting rules from the ledger configuration drive the system's journals, end to end."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from syncline.adapters.db.tables import exceptions, invoices, journal_entries, journal_lines
from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.ledger.posting import DEFAULT_RULES, rules_from_config
from syncline.services.billing.run import run_billing
from syncline.services.close import steps as close
from syncline.services.ledger.config import LedgerConfigInvalid
from syncline.services.messaging.inbox import receive_many
from tests.builders import deal, time_entry, worker
from tests.conftest import fixed_clock

CONFIG = """
entities:
  US01: {functional_currency: USD}
  GB01:
    functional_currency: GBP
    overrides:
      services_revenue: {code: "41000", name: "Professional services", type: revenue}
posting_rules:
  - event: billing.invoice_released
    entity: GB01
    description: "Invoice {number} ({contract})"
    lines:
      - {role: accounts_receivable, side: debit, amount: total, balancing: true}
      - {role: services_revenue, side: credit, amount: revenue}
      - {role: contract_liability, side: credit, amount: deferred}
      - {role: tax_payable, side: credit, amount: tax}
  - event: billing.labor_cost
    entity: GB01
    lines:
      - {role: wip, side: debit, amount: cost}
      - {role: accrued_payroll, side: credit, amount: cost}
"""


def _system(tmp_path: Path, config: str | None = None) -> Syncline:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "ledger.yaml"
    if config is not None:
        path.write_text(config, encoding="utf-8")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 's.db'}",
                        ledger_config=str(path) if config is not None else None,
                        revenue_recognition="on_invoice")  # revenue credited at invoice
    system = bootstrap(settings, clock=fixed_clock, durable=False)
    with system.engine.begin() as conn:
        receive_many(conn, [
            deal(), worker(), time_entry("T-1", hours="8"),
            deal("D-2", number="C-2", project="P-2", entity="GB01", tax="GB-VAT-STD",
                 currency="GBP"),
            worker("W-2", entity="GB01", currency="GBP", cost="50.00"),
            time_entry("T-2", worker_id="W-2", project="P-2", hours="6"),
        ], now=fixed_clock())
    system.process()
    return system


def _accounts(system: Syncline) -> dict[str, set[str]]:
    with system.engine.connect() as conn:
        rows = conn.execute(select(journal_entries.c.entity_code, journal_entries.c.source_type,
                                   journal_lines.c.account).join(journal_lines)).all()
    out: dict[str, set[str]] = {}
    for r in rows:
        out.setdefault(f"{r.entity_code}:{r.source_type}", set()).add(r.account)
    return out


def _rule_failures(system: Syncline) -> list[dict[str, str]]:
    with system.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(exceptions.c.domain, exceptions.c.message, exceptions.c.remediation,
                   exceptions.c.objects, exceptions.c.status)
            .where(exceptions.c.code == "ledger.posting_rule_failed"))]


def test_a_firm_rule_for_one_entity_changes_only_that_entitys_accounts(tmp_path: Path) -> None:
    default = _system(tmp_path / "a")
    close.billing(default, "2026-01", None)
    configured = _system(tmp_path / "b", CONFIG)
    close.billing(configured, "2026-01", None)  # the close step: rules from system.ledger
    before, after = _accounts(default), _accounts(configured)
    assert before["GB01:invoice"] == {"1100", "4010", "2200"}
    assert before["GB01:labor_cost"] == {"5000", "2100"}
    assert after["GB01:invoice"] == {"1100", "41000", "2200"}  # the firm's revenue account
    assert after["GB01:labor_cost"] == {"1200", "2100"}  # labor cost capitalised to WIP
    for key in ("US01:invoice", "US01:labor_cost"):
        assert after[key] == before[key]  # the other entity: untouched
    with configured.engine.connect() as conn:
        descriptions = set(conn.execute(select(journal_entries.c.description).where(
            journal_entries.c.source_type == "invoice")).scalars())
    assert "Invoice GB01-2026-000001 (C-2)" in descriptions
    default.engine.dispose()
    configured.engine.dispose()


def test_a_rule_naming_a_role_no_chart_maps_is_refused_at_load(tmp_path: Path) -> None:
    bad = CONFIG.replace("role: services_revenue", "role: sales_revenue")
    path = tmp_path / "ledger.yaml"
    path.write_text(bad, encoding="utf-8")
    try:
        bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 's.db'}",
                           ledger_config=str(path)), clock=fixed_clock, durable=False)
    except LedgerConfigInvalid as exc:
        message = str(exc)
    else:
        raise AssertionError("the configuration was accepted")
    assert "posting_rules[billing.invoice_released]" in message
    assert "'sales_revenue'" in message and "GB01" in message


def test_a_rule_that_cannot_post_is_one_finance_exception_and_the_run_goes_on(
        tmp_path: Path) -> None:
    system = _system(tmp_path)
    broken = rules_from_config([{
        "event": "billing.invoice_released", "entity": "US01",
        "lines": [{"role": "accounts_receivable", "side": "debit", "amount": "total"},
                  {"role": "revenue_{contract}", "side": "credit", "amount": "revenue"},
                  {"role": "tax_payable", "side": "credit", "amount": "tax"}]}])
    assert not isinstance(broken, tuple)
    for _ in range(2):  # a second run opens no second exception
        result = run_billing(system.engine, "2026-01", system.ref, system.charts, fixed_clock(),
                             rules=broken)
        assert result.invoices in (["GB01-2026-000001"], [])  # GB01 still invoiced
    (failure,) = _rule_failures(system)
    assert failure["domain"] == "finance" and failure["status"] == "open"
    assert "US01" in failure["remediation"] and "'revenue_C-1'" in failure["remediation"]
    assert "billing.invoice_released" in failure["remediation"]
    assert ["contract", "C-1"] in json.loads(failure["objects"])
    accounts = _accounts(system)
    assert "GB01:invoice" in accounts and "US01:invoice" not in accounts
    assert "US01:labor_cost" in accounts  # the rest of the run completed
    # fixed (the default rules): C-1 is invoiced with the entity's first number, no gap
    fixed = run_billing(system.engine, "2026-01", system.ref, system.charts, fixed_clock(),
                        rules=DEFAULT_RULES)
    assert fixed.invoices == ["US01-2026-000001"]
    with system.engine.connect() as conn:
        assert conn.execute(select(invoices.c.number).where(
            invoices.c.contract_number == "C-1")).scalar() == "US01-2026-000001"
    assert [f["status"] for f in _rule_failures(system)] == ["resolved"]
    system.engine.dispose()
