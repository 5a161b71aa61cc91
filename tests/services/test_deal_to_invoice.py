"""Service-layer tests: the processing model on a real SQLite file, sandbox targets inline."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import select

from syncline.adapters.db.connector_tables import sandbox_received
from syncline.adapters.db.tables import (
    billable_items,
    inbox,
    invoice_lines,
    invoices,
    outbox,
    projects,
)
from syncline.bootstrap import Syncline
from syncline.services.billing.run import run_billing
from syncline.services.messaging.exceptions import list_exceptions
from syncline.services.messaging.inbox import receive_many
from syncline.services.messaging.replay import replay
from syncline.services.state import fingerprint, ledger_trial_balance, summary
from tests.builders import deal, rejection, time_entry, worker


def ingest(system: Syncline, *events: object) -> list:
    with system.engine.begin() as conn:
        receipts = receive_many(conn, list(events), now=system.clock())  # type: ignore[arg-type]
    system.process()
    return receipts


def test_closed_won_deal_provisions_customer_contract_project_and_saga(system: Syncline) -> None:
    ingest(system, deal())
    system.deliver()
    with system.engine.connect() as conn:
        project = conn.execute(select(projects)).one()
        assert project.code == "P-1" and project.status == "active"
        kinds = [r.kind for r in conn.execute(select(outbox).order_by(outbox.c.seq))]
        assert kinds == ["erp.customer.upsert", "psa.project.provision", "psa.budget.update",
                         "crm.status.update"]
        received = conn.execute(select(sandbox_received.c.target, sandbox_received.c.kind)
                                .order_by(sandbox_received.c.received_at)).all()
        assert {(r.target, r.kind) for r in received} == {
            ("erp", "erp.customer.upsert"), ("psa", "psa.project.provision"),
            ("psa", "psa.budget.update"), ("crm", "crm.status.update")}


def test_time_to_invoice_with_contract_rate_and_balanced_journal(system: Syncline) -> None:
    ingest(system, deal(), worker(), time_entry("T-1", hours="7.5"),
           time_entry("T-2", hours="8", day="2026-01-06"),
           time_entry("T-3", hours="2", role="analyst", day="2026-01-07"))
    result = run_billing(system.engine, "2026-01", system.ref, system.charts, system.clock())
    assert result.invoices == ["US01-2026-000001"]
    with system.engine.connect() as conn:
        inv = conn.execute(select(invoices)).one()
        # 15.5 h consultant at the contract's 200.00 + 2 h analyst at the default 110
        assert inv.subtotal == Decimal("3320.00")
        assert inv.tax == Decimal("0.00") and inv.total == Decimal("3320.00")
        lines = conn.execute(select(invoice_lines).order_by(invoice_lines.c.line_no)).all()
        assert [(ln.description, ln.quantity, ln.amount) for ln in lines] == [
            ("Analyst time", Decimal("2"), Decimal("220.00")),
            ("Consultant time", Decimal("15.5"), Decimal("3100.00")),
        ]
        assert sum(json.loads(ln.item_keys).__len__() for ln in lines) == 3
        tb = ledger_trial_balance(conn)
        assert tb.balanced
        by_account = {r.account: r.balance for r in tb.rows}
        assert by_account["1100"] == Decimal("3320.00")  # AR
        assert by_account["4010"] == Decimal("-3320.00")  # implementation revenue
        assert by_account["5000"] == Decimal("1400.00")  # 17.5 h × 80 labor cost


def test_billing_run_is_idempotent(system: Syncline) -> None:
    ingest(system, deal(), worker(), time_entry("T-1"))
    run_billing(system.engine, "2026-01", system.ref, system.charts, system.clock())
    with system.engine.connect() as conn:
        before = fingerprint(conn)
    again = run_billing(system.engine, "2026-01", system.ref, system.charts, system.clock())
    assert again.invoices == [] and again.journal_entries == 0
    with system.engine.connect() as conn:
        assert fingerprint(conn) == before


def test_duplicates_are_acknowledged_and_ignored(system: Syncline) -> None:
    d = deal()
    receipts = ingest(system, d, d, dict(d))
    assert [r.status for r in receipts] == ["accepted", "duplicate", "duplicate"]
    with system.engine.connect() as conn:
        s = summary(conn)
    assert s["events_received"] == 3 and s["duplicates_ignored"] == 2 and s["contracts"] == 1


def test_time_before_its_project_is_parked_then_released(system: Syncline) -> None:
    ingest(system, worker(), time_entry("T-1"))
    with system.engine.connect() as conn:
        assert conn.execute(select(inbox.c.status).where(inbox.c.type == "time.approved")
                            ).scalar() == "parked"
    ingest(system, deal())
    with system.engine.connect() as conn:
        assert conn.execute(select(inbox.c.status).where(inbox.c.type == "time.approved")
                            ).scalar() == "applied"
        assert conn.execute(select(billable_items.c.key)).scalar() == "time:T-1"
        s = summary(conn)
    assert s["parked"] == 1 and s["released"] == 1


def test_parked_too_long_opens_one_exception_that_resolves_when_released(system: Syncline
                                                                         ) -> None:
    from datetime import datetime, timedelta

    ingest(system, worker(), time_entry("T-1", project="P-404"))
    later = datetime(2026, 3, 1, tzinfo=system.clock().tzinfo)
    assert system.sweep(as_of=later) == 1
    assert system.sweep(as_of=later + timedelta(days=5)) == 0  # once only
    with system.engine.connect() as conn:
        (exc,) = list_exceptions(conn)
    assert exc.domain == "pmo" and "P-404" in exc.message
    ingest(system, deal(project="P-404"))
    with system.engine.connect() as conn:
        assert list_exceptions(conn) == []


def test_rejection_before_approval_waits_and_reverses(system: Syncline) -> None:
    ingest(system, deal(), worker(), rejection("T-1"))
    ingest(system, time_entry("T-1"))
    with system.engine.connect() as conn:
        assert conn.execute(select(billable_items.c.status)).scalar() == "reversed"


def test_older_worker_version_is_history_not_state(system: Syncline) -> None:
    from syncline.adapters.db.tables import workers

    ingest(system, worker(role="manager", sequence=2, effective="2026-03-01", cost="120"))
    ingest(system, worker(role="consultant", sequence=1))
    with system.engine.connect() as conn:
        assert conn.execute(select(workers.c.role)).scalar() == "manager"


def test_malformed_messages_are_kept_rejected_with_the_field_named(system: Syncline) -> None:
    bad = time_entry("T-9", hours="seven")
    receipts = ingest(system, bad, "{not json")
    assert [r.status for r in receipts] == ["rejected", "rejected"]
    assert receipts[0].problems[0].path == "data.hours"
    with system.engine.connect() as conn:
        rows = conn.execute(select(inbox.c.status, inbox.c.raw)).all()
        assert {r.status for r in rows} == {"rejected"}
        assert any(r.raw == "{not json" for r in rows)
        assert [e.domain for e in list_exceptions(conn)] == ["it", "it"]


def test_deal_without_legal_entity_is_one_finance_exception_and_no_project(system: Syncline
                                                                           ) -> None:
    ingest(system, deal(entity=None))
    with system.engine.connect() as conn:
        (exc,) = list_exceptions(conn)
        assert conn.execute(select(projects)).first() is None
    assert exc.domain == "finance" and exc.code == "deal.missing_legal_entity"
    assert exc.field == "data.legal_entity" and "CRM" in exc.remediation


def test_replay_after_fix_applies_and_resolves(system: Syncline) -> None:
    (receipt,) = ingest(system, time_entry("T-1", status="submitted"))
    with system.engine.connect() as conn:
        (exc,) = list_exceptions(conn)
    assert exc.code == "time.not_approved"
    status, _ = replay(system.engine, receipt.inbox_id, system.ref, system.clock)
    assert status == "failed"  # still not approved: replay is safe and says so
    with system.engine.connect() as conn:
        assert len(list_exceptions(conn)) == 1


def test_time_by_terminated_worker_is_refused(system: Syncline) -> None:
    from tests.builders import event

    ingest(system, deal(), worker(),
           event("worker.terminated", "worker/W-1", {"worker_id": "W-1",
                                                     "termination_date": "2026-01-04"},
                 sequence=2))
    ingest(system, time_entry("T-1", day="2026-01-05"))
    with system.engine.connect() as conn:
        (exc,) = list_exceptions(conn)
    assert exc.domain == "hr" and exc.code == "time.after_termination"


def test_time_applied_before_termination_arrives_is_reversed(system: Syncline) -> None:
    from tests.builders import event

    ingest(system, deal(), worker(), time_entry("T-1", day="2026-01-05"))
    ingest(system, event("worker.terminated", "worker/W-1",
                         {"worker_id": "W-1", "termination_date": "2026-01-04"}, sequence=2))
    with system.engine.connect() as conn:
        assert conn.execute(select(billable_items.c.status)).scalar() == "reversed"
        assert [e.code for e in list_exceptions(conn)] == ["time.after_termination"]


def test_missing_rate_waits_then_is_a_billing_exception(system: Syncline) -> None:
    from datetime import UTC, datetime

    ingest(system, deal(rates=[]), worker(role="intern"),
           time_entry("T-1", role="intern"))
    with system.engine.connect() as conn:
        assert list_exceptions(conn) == []  # waiting for a rate card (rate_card:C-1)
    system.sweep(as_of=datetime(2026, 2, 1, tzinfo=UTC))  # past the park age
    with system.engine.connect() as conn:
        (exc,) = list_exceptions(conn)
    assert exc.domain == "billing" and "intern" in exc.message


def test_fixed_fee_milestone_and_retainer_are_billed(system: Syncline) -> None:
    from tests.builders import event

    ingest(system,
           deal("D-2", number="C-2", project="P-2", billing_type="fixed_fee", amount="10000",
                milestones=[{"milestone_id": "M-1", "name": "Design signed", "amount": "4000"},
                            {"milestone_id": "M-2", "name": "Go-live", "amount": "6000"}]),
           deal("D-3", number="C-3", project="P-3", billing_type="retainer", amount="2500"),
           event("milestone.completed", "milestone/M-1", {
               "milestone_id": "M-1", "project_code": "P-2", "completed_on": "2026-01-20",
               "evidence": {"accepted_by": "CFO"}}))
    run_billing(system.engine, "2026-01", system.ref, system.charts, system.clock())
    with system.engine.connect() as conn:
        totals = dict(conn.execute(select(invoices.c.contract_number, invoices.c.total)).all())
    assert totals == {"C-2": Decimal("4000.00"), "C-3": Decimal("2500.00")}


def test_a_refused_provisioning_step_compensates_earlier_steps(system: Syncline) -> None:
    from syncline.connectors.sandbox import sandbox_targets

    system.targets = sandbox_targets(system.engine, refuse=frozenset({"psa.budget.update"}))
    ingest(system, deal())
    counts = system.deliver()
    assert counts["failed"] == 3
    with system.engine.connect() as conn:
        statuses = [r.status for r in conn.execute(select(outbox).order_by(outbox.c.seq))]
        # the saga is undone; the CRM status row is not part of it (it reports the booking)
        assert statuses == ["compensated", "compensated", "failed", "delivered"]
        kinds = {r.kind for r in conn.execute(select(sandbox_received.c.kind))}
        assert kinds == {"erp.customer.upsert (undone)", "psa.project.provision (undone)",
                         "crm.status.update"}
        (exc,) = list_exceptions(conn)
    assert exc.domain == "it" and exc.outbox_id


def test_edit_and_replay_fixes_a_deal_and_keeps_the_original(system: Syncline) -> None:
    from syncline.adapters.db.tables import inbox_revisions
    from syncline.services.messaging.replay import EditRefused, edit_message

    bad = deal(entity=None)
    (receipt,) = ingest(system, bad)
    fixed = dict(bad["data"], legal_entity="US01")
    edit_message(system.engine, receipt.inbox_id, fixed, actor="ana@finance",
                 reason="entity confirmed by deal desk", clock=system.clock)
    status, _ = replay(system.engine, receipt.inbox_id, system.ref, system.clock,
                       actor="ana@finance")
    assert status == "applied"
    with system.engine.connect() as conn:
        assert conn.execute(select(projects.c.code)).scalar() == "P-1"
        (rev,) = conn.execute(select(inbox_revisions)).all()
        assert json.loads(rev.raw)["data"]["legal_entity"] is None and rev.actor == "ana@finance"
        assert list_exceptions(conn) == []
        (resolved,) = list_exceptions(conn, status="resolved")
        assert "applied" in (resolved.resolution or "")
    try:
        edit_message(system.engine, receipt.inbox_id, fixed, actor="x", reason="y",
                     clock=system.clock)
    except EditRefused as refused:
        assert "applied" in str(refused)
    else:
        raise AssertionError("an applied message must not be editable")


def test_invoiced_time_after_a_late_termination_is_credited(system: Syncline) -> None:
    """HR sends the termination after the time was invoiced: the entry is reversed through
    the same mechanism as a rejection, so the next run credits exactly its item."""
    from syncline.adapters.db.billing_tables import credit_note_lines, credit_requests
    from tests.builders import event

    ingest(system, deal(), worker(), time_entry("T-1", day="2026-01-05"),
           time_entry("T-2", day="2026-01-20"))
    (number,) = run_billing(system.engine, "2026-01", system.ref, system.charts,
                            system.clock()).invoices
    ingest(system, event("worker.terminated", "worker/W-1",
                         {"worker_id": "W-1", "termination_date": "2026-01-10"}, sequence=2))
    with system.engine.connect() as conn:
        (req,) = conn.execute(select(credit_requests)).all()
        assert (req.invoice_number, json.loads(req.item_keys)) == (number, ["time:T-2"])
        assert [e.code for e in list_exceptions(conn)] == ["time.after_termination"]
    run_billing(system.engine, "2026-02", system.ref, system.charts, system.clock())
    with system.engine.connect() as conn:
        (line,) = conn.execute(select(credit_note_lines)).all()
        assert json.loads(line.item_keys) == ["time:T-2"]
        assert conn.execute(select(billable_items.c.status).where(
            billable_items.c.key == "time:T-2")).scalar() == "credited"
        assert ledger_trial_balance(conn).balanced
