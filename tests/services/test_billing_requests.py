"""Hand-made billing requests: a held item released by approval, manual adjustments that
enter through the inbox like any other message."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from syncline.adapters.db.tables import billable_items, inbox, invoice_lines, invoices
from syncline.bootstrap import Syncline
from syncline.services.billing.requests import release_held_item, request_adjustment
from syncline.services.billing.run import run_billing
from syncline.services.messaging.inbox import receive_many
from tests.builders import deal, time_entry, worker


def ingest(system: Syncline, *events: object) -> None:
    with system.engine.begin() as conn:
        receive_many(conn, list(events), now=system.clock())  # type: ignore[arg-type]
    system.process()


def run(system: Syncline, period: str) -> Any:
    return run_billing(system.engine, period, system.ref, system.charts, system.clock())


def lines(system: Syncline, number: str) -> list[tuple[str, Decimal]]:
    with system.engine.connect() as conn:
        return [(r.description, r.amount) for r in conn.execute(
            select(invoice_lines).where(invoice_lines.c.invoice_number == number)
            .order_by(invoice_lines.c.line_no))]


def test_a_manual_discount_is_its_own_line_and_is_kept_raw(system: Syncline) -> None:
    ingest(system, deal(), worker(), time_entry("T-1", hours="8"))  # 8 h x 200.00
    made = request_adjustment(system, contract="C-1", amount="-250.00",
                              description="Goodwill discount", reason="late kick-off",
                              by="billing.lead", on="2026-01-20", adjustment_id="ADJ-1")
    assert made == {"status": "applied", "adjustment_id": "ADJ-1",
                    "item": "adjustment:ADJ-1", "problems": []}
    again = request_adjustment(system, contract="C-1", amount="-250.00",
                               description="Goodwill discount", reason="late kick-off",
                               by="billing.lead", on="2026-01-20", adjustment_id="ADJ-1")
    assert again["status"] == "applied"  # the same id again: a duplicate, nothing new
    (number,) = run(system, "2026-01").invoices
    assert sorted(lines(system, number)) == [("Consultant time", Decimal("1600.00")),
                                             ("Goodwill discount", Decimal("-250.00"))]
    with system.engine.connect() as conn:
        assert conn.execute(select(invoices.c.subtotal)).scalar_one() == Decimal("1350.00")
        raw = conn.execute(select(inbox.c.raw).where(
            inbox.c.type == "billing.adjustment.requested")).scalars().all()
        item = conn.execute(select(billable_items).where(
            billable_items.c.key == "adjustment:ADJ-1")).one()
    assert len(raw) == 1 and "late kick-off" in raw[0]
    assert item.status == "invoiced" and item.rate_scope == "manual: billing.lead"


def test_an_adjustment_in_another_currency_is_a_billing_exception(system: Syncline) -> None:
    ingest(system, deal(), worker())
    made = request_adjustment(system, contract="C-1", amount="100", currency="EUR",
                              description="Fee", reason="one-off set-up", by="ops")
    assert made["status"] == "failed"
    assert "bills in USD" in made["problems"][0]
    unknown = request_adjustment(system, contract="C-404", amount="100", description="Fee",
                                 reason="one-off", by="ops")
    assert unknown["status"] == "rejected" and "C-404" in unknown["problems"][0]
    bad = request_adjustment(system, contract="C-1", amount="ten", description="Fee",
                             reason="one-off", by="ops")
    assert bad["status"] == "rejected"


def test_an_adjustment_names_only_open_items_of_its_contract(system: Syncline) -> None:
    ingest(system, deal(), worker(), time_entry("T-1", hours="8"))
    made = request_adjustment(system, contract="C-1", amount="-100", description="Rework",
                              reason="defect fixed at no charge", by="pm",
                              adjusts=["time:T-1", "time:T-404"])
    assert made["status"] == "failed" and "time:T-404" in made["problems"][0]


def test_approving_a_hard_cap_hold_releases_the_item(system: Syncline) -> None:
    capped = deal()
    capped["data"]["billing_terms"] = {"caps": [{"cap_id": "NTE-1", "limit": "2000",
                                                 "kind": "hard", "tolerance": "0"}]}
    ingest(system, capped, worker(), time_entry("T-1"), time_entry("T-2", day="2026-01-06"))
    (held,) = run(system, "2026-01").held
    with system.engine.begin() as conn:
        assert release_held_item(conn, held, by="cfo", now=system.clock())
        assert not release_held_item(conn, held, by="cfo", now=system.clock())  # not held now
        status = conn.execute(select(billable_items.c.status).where(
            billable_items.c.key == held)).scalar_one()
    assert status == "released"
    (number,) = run(system, "2026-02").invoices
    with system.engine.connect() as conn:
        assert conn.execute(select(billable_items.c.status, billable_items.c.invoice_number)
                            .where(billable_items.c.key == held)).one() == ("invoiced", number)


def test_the_cli_adjusts_and_says_what_went_wrong(tmp_path: Any, monkeypatch: Any) -> None:
    from typer.testing import CliRunner

    from syncline.bootstrap import bootstrap
    from syncline.cli.main import app
    from syncline.config import Settings
    from tests.conftest import fixed_clock

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setattr("syncline.cli.common.bootstrap", lambda settings: bootstrap(
        settings, clock=fixed_clock, durable=False))
    system = bootstrap(Settings(database_url=url), clock=fixed_clock, durable=False)
    ingest(system, deal(), worker())
    runner = CliRunner()
    monkeypatch.setenv("SYNCLINE_CLI_PRINCIPAL", "am")
    asked = runner.invoke(app, ["billing", "adjust", "--contract", "C-1", "--amount", "-50",
                                "--description", "Discount", "--reason", "agreed in QBR",
                                "--database-url", url])
    assert asked.exit_code == 0, asked.output
    said = " ".join(asked.output.split())
    assert "requested as apr_" in said  # maker-checker: waits for another principal
    approval = said.split("requested as ")[1].split(":")[0]
    own = runner.invoke(app, ["billing", "approve", approval, "--database-url", url])
    assert own.exit_code == 2 and "another principal" in " ".join(own.output.split())
    monkeypatch.setenv("SYNCLINE_CLI_PRINCIPAL", "cfo")
    ok = runner.invoke(app, ["billing", "approve", approval, "--database-url", url])
    assert ok.exit_code == 0, ok.output
    said = " ".join(ok.output.split())
    assert "approved by cfo (requested by am)" in said and "applied" in said
    monkeypatch.setenv("SYNCLINE_APPROVAL_THRESHOLD", "10")  # below it: no approval needed
    wrong = runner.invoke(app, ["billing", "adjust", "--contract", "C-1", "--amount", "5",
                                "--currency", "GBP", "--description", "Fee", "--reason",
                                "typo", "--database-url", url])
    assert wrong.exit_code == 1 and "bills in USD" in wrong.output
    system.engine.dispose()


def adjustment_event(source: str, amount: str = "-60000") -> dict[str, Any]:
    return {"specversion": "1.0", "id": "ADJ-EXT-1", "source": source,
            "type": "billing.adjustment.requested", "subject": "adjustment/ADJ-EXT-1",
            "time": "2026-01-20T10:00:00Z",
            "data": {"adjustment_id": "ADJ-EXT-1", "contract_number": "C-1",
                     "service_date": "2026-01-20", "description": "Release",
                     "amount": {"amount": amount, "currency": "USD"},
                     "requested_by": "cfo", "reason": "trust me"}}


def test_an_adjustment_sent_as_an_event_waits_for_a_checker(system: Syncline) -> None:
    """Issue 11's attack: an integration key posts a -60,000 adjustment. It is kept and
    becomes a pending maker-checker request, not a billable item; only a finance or
    controller principal's approval carries it out."""
    from syncline.services.billing import maker_checker as mc
    from syncline.services.governance.approvals import list_approvals
    from syncline.services.governance.roles import Principal

    ingest(system, deal(), worker())
    ingest(system, adjustment_event("erp/netsuite"))
    with system.engine.connect() as conn:
        assert conn.execute(select(billable_items.c.key).where(
            billable_items.c.key == "adjustment:ADJ-EXT-1")).first() is None
        [pending] = list_approvals(conn, "pending")
    assert pending.kind == "adjustment" and pending.requested_by == "erp/netsuite (cfo)"
    assert pending.payload["amount"] == "-60000"
    done = mc.approve(system, pending.id, by=Principal("controller.kim", frozenset(
        {"controller"})), reason="checked the contract")
    assert done["status"] == "applied", done
    with system.engine.connect() as conn:
        item = conn.execute(select(billable_items.c.amount).where(
            billable_items.c.key == "adjustment:ADJ-EXT-1")).scalar_one()
    assert Decimal(item) == Decimal("-60000")


def test_outside_senders_cannot_use_syncline_sources(system: Syncline) -> None:
    ingest(system, deal(), worker())
    with system.engine.begin() as conn:
        [receipt] = receive_many(conn, [adjustment_event("syncline/billing-team")],
                                 now=system.clock())
    assert receipt.status == "rejected"
    assert receipt.problems[0].path == "source" and receipt.problems[0].rule == "reserved"
    system.process()
    with system.engine.connect() as conn:
        assert conn.execute(select(billable_items.c.key).where(
            billable_items.c.key == "adjustment:ADJ-EXT-1")).first() is None
