"""Charts of accounts per legal entity from the ledger configuration file drive the postings."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from syncline.adapters.db.tables import journal_entries, journal_lines
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from syncline.services.billing.run import run_billing
from syncline.services.ledger.config import LedgerConfigInvalid
from syncline.services.messaging.inbox import receive_many
from tests.builders import deal, time_entry, worker
from tests.conftest import fixed_clock

CONFIG = """
entities:
  US01:
    functional_currency: USD
    overrides:
      accounts_receivable: {code: "11000", name: "Trade receivables"}
      contract_liability: {code: "23500", name: "Customer advances"}
  GB01:
    functional_currency: GBP
"""


def _accounts_by_source(system) -> dict[str, set[str]]:  # type: ignore[no-untyped-def]
    with system.engine.connect() as conn:
        rows = conn.execute(select(journal_entries.c.entity_code, journal_entries.c.source_type,
                                   journal_lines.c.account)
                            .join(journal_lines)).all()
    out: dict[str, set[str]] = {}
    for r in rows:
        out.setdefault(f"{r.entity_code}:{r.source_type}", set()).add(r.account)
    return out


def test_an_entity_posts_into_its_own_configured_accounts(tmp_path: Path) -> None:
    path = tmp_path / "ledger.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 's.db'}",
                                ledger_config=str(path)), clock=fixed_clock, durable=False)
    assert system.charts.of("US01").code("accounts_receivable") == "11000"
    assert system.charts.of("GB01").code("accounts_receivable") == "1100"  # template
    assert system.charts.of("DE01").code("accounts_receivable") == "1100"  # not configured
    with system.engine.begin() as conn:
        receive_many(conn, [deal(), worker(), time_entry("T-1", hours="8")], now=fixed_clock())
    system.process()
    run_billing(system.engine, "2026-01", system.ref, system.charts, fixed_clock(),
                revenue_recognition="engine")
    accounts = _accounts_by_source(system)
    # engine mode: the release is Dr AR (gross) / Cr contract liability (net)
    assert accounts["US01:invoice"] == {"11000", "23500"}
    system.engine.dispose()


def test_a_bad_ledger_configuration_is_refused_with_where_and_why(tmp_path: Path) -> None:
    path = tmp_path / "ledger.yaml"
    path.write_text("entities:\n  US01:\n    functional_currency: XXX\n"
                    "    overrides: {tax_payable: null}\n", encoding="utf-8")
    with pytest.raises(LedgerConfigInvalid) as refused:
        bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 's.db'}",
                           ledger_config=str(path)), clock=fixed_clock, durable=False)
    message = str(refused.value)
    assert "entities.US01.functional_currency" in message
    assert "tax_payable" in message


def test_the_cli_names_each_problem_of_a_bad_ledger_configuration(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from syncline.cli.main import app

    path = tmp_path / "ledger.yaml"
    path.write_text("entities:\n  US01:\n    functional_currency: XXX\n", encoding="utf-8")
    monkeypatch.setenv("SYNCLINE_LEDGER_CONFIG", str(path))
    monkeypatch.setenv("SYNCLINE_DATABASE_URL", f"sqlite:///{tmp_path / 's.db'}")
    result = CliRunner().invoke(app, ["report", "trial-balance", "--period", "2026-01"])
    assert result.exit_code == 2
    assert "entities.US01.functional_currency" in result.output


@pytest.mark.parametrize("policy", ["refuse", "next_open"])
def test_the_configured_closed_period_policy_governs_the_billing_run(
        tmp_path: Path, policy: str) -> None:
    from syncline.services.ledger.periods import change_period
    from syncline.services.messaging.exceptions import list_exceptions

    path = tmp_path / "ledger.yaml"
    path.write_text(f"entities:\n  US01: {{functional_currency: USD}}\n"
                    f"closed_period_policy: {policy}\n", encoding="utf-8")
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 's.db'}",
                                ledger_config=str(path)), clock=fixed_clock, durable=False)
    with system.engine.begin() as conn:
        receive_many(conn, [deal(), worker(), time_entry("T-1", hours="8")], now=fixed_clock())
        change_period(conn, "US01", "2026-01", "close", actor="controller", role="finance",
                      reason="January closed", now=fixed_clock())
    system.process()
    run_billing(system.engine, "2026-01", system.ref, system.charts, fixed_clock(),
                rules=system.ledger.rules,
                closed_period_policy=system.ledger.closed_period_policy)
    with system.engine.connect() as conn:
        dates = conn.execute(select(journal_entries.c.posting_date).where(
            journal_entries.c.source_type == "invoice")).scalars().all()
        refusals = [e for e in list_exceptions(conn) if e.code.startswith("ledger.")]
    if policy == "refuse":  # the invoice release and the labor cost: one exception each
        assert dates == [] and [e.code for e in refusals] == ["ledger.period_closed"] * 2
    else:  # posted on the first day of the next open period, with a reference
        assert dates == ["2026-02-01"] and refusals == []
    system.engine.dispose()
