"""Assigning exceptions (console, CLI, API), the "assigned to me" and "unassigned" filters,
and the business columns of the inbox (customer, contract, project, amount, source record)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from syncline.api.app import create_app
from syncline.services.governance.audit import entries
from syncline.services.messaging.exception_context import business_context
from syncline.services.messaging.exceptions import UNASSIGNED, get_exception, list_exceptions
from syncline.services.messaging.inbox import receive_many
from tests.builders import event
from tests.conftest import fixed_clock
from tests.console.firm import Firm, csrf_of, sign_in


def _only(firm: Firm) -> str:
    with firm.system.engine.connect() as conn:
        found = list_exceptions(conn)
    assert len(found) == 1, found
    return found[0].id


def test_the_rows_carry_the_business_context(firm: Firm) -> None:
    """T-2 (hours "seven") was refused by its schema: its project P-1 belongs to contract C-1
    of Acme Corp (the deal); the hours are not a number, so the amount is the hours as sent.
    An expense X-1 of 42.50 EUR on P-1, refused by its schema (no category), shows its
    money as receipted."""
    with firm.system.engine.begin() as conn:
        receive_many(conn, [event("expense.approved", "expense/X-1", {
            "expense_id": "X-1", "worker_id": "W-1", "project_code": "P-1",
            "incurred_on": "2026-01-06", "amount": {"amount": "42.50", "currency": "EUR"}},
            source="psa/kantata")], now=fixed_clock())
    firm.system.process()
    with firm.system.engine.connect() as conn:
        views = list_exceptions(conn)
        context = business_context(conn, views)
    by_record = {context[v.id].record: context[v.id] for v in views}
    t2 = by_record["T-2"]
    assert (t2.customer, t2.contract, t2.project, t2.amount, t2.vendor) == (
        "Acme Corp", "C-1", "P-1", "seven h", "psa/kantata")
    x1 = by_record["X-1"]
    assert (x1.customer, x1.contract, x1.project, x1.amount) == (
        "Acme Corp", "C-1", "P-1", "42.50 EUR")


def test_hours_at_the_contracts_rate_make_the_amount(firm: Firm) -> None:
    """A time entry refused for an unknown task code keeps valid hours: 7.5 h × the deal's
    consultant rate 200.00 USD = 1500.00 USD."""
    from syncline.services.messaging.exception_context import _hours_amount, _Lookup

    with firm.system.engine.connect() as conn:
        look = _Lookup(conn)
        contract_id = look.project["P-1"][0]
        said = _hours_amount(look, contract_id, {"hours": "7.5", "role": "consultant"})
        assert said == "1500.00 USD (7.5 h)"
        assert _hours_amount(look, contract_id, {"hours": "7.5", "role": "partner"}) == "7.5 h"


def test_assign_in_the_console_filters_and_audits(http: TestClient, firm: Firm) -> None:
    exc_id = _only(firm)
    sign_in(http, firm.keys["auditor"])
    page = http.get(f"/console/exceptions/{exc_id}").text
    assert 'id="assign-button" disabled' in page  # a reader cannot assign
    denied = http.post(f"/console/exceptions/{exc_id}/assign",
                       data={"csrf": csrf_of(page), "to": "pmo-user"})
    assert denied.status_code == 403
    sign_in(http, firm.keys["pmo"])
    inbox = http.get("/console/exceptions").text
    assert "Acme Corp" in inbox and "seven h" in inbox and "psa/kantata" in inbox
    token = csrf_of(inbox)
    assert "No exceptions match." in http.get("/console/exceptions?owner=me").text
    assert "1 exception(s)" in http.get("/console/exceptions?owner=none").text
    r = http.post(f"/console/exceptions/{exc_id}/assign",
                  data={"csrf": token, "to": "finance-user", "reason": "a billing question"})
    assert r.status_code == 200 and "assigned to finance-user" in r.text
    assert "No exceptions match." in http.get("/console/exceptions?owner=none").text
    assert "No exceptions match." in http.get("/console/exceptions?owner=me").text
    r = http.post("/console/exceptions/bulk", data={
        "csrf": token, "action": "assign", "ids": [exc_id],
        "back": "/console/exceptions?owner=me"})
    assert "1 exception(s) assigned to pmo-user" in r.text and "1 exception(s)</p>" in r.text
    assert 'class="assignee">pmo-user<' in r.text
    with firm.system.engine.connect() as conn:
        logged = entries(conn, action="exception.assign")
        found = get_exception(conn, exc_id)
        assert [e.id for e in list_exceptions(conn, assignee="pmo-user")] == [exc_id]
        assert list_exceptions(conn, assignee=UNASSIGNED) == []
    assert found is not None
    assert [(a["actor"], a["before"], a["after"], a["reason"]) for a in logged] == [
        ("pmo-user", {"assigned_to": None}, {"assigned_to": "finance-user"},
         "a billing question"),
        ("pmo-user", {"assigned_to": "finance-user"}, {"assigned_to": "pmo-user"},
         "assigned to pmo-user")]
    assert [a["action"] for a in found[1]["actions"]] == ["assign", "assign"]
    http.post(f"/console/exceptions/{exc_id}/assign", data={"csrf": token, "to": ""})
    assert "1 exception(s)" in http.get("/console/exceptions?owner=none").text


def test_cli_and_api_parity(firm: Firm, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    from syncline.cli.main import app

    exc_id = _only(firm)
    url = firm.system.settings.database_url
    monkeypatch.setenv("SYNCLINE_CLI_PRINCIPAL", "ops-lead")
    runner = CliRunner()
    done = runner.invoke(app, ["exceptions", "assign", exc_id, "--to", "pmo-user",
                               "--database-url", url])
    assert done.exit_code == 0, done.output
    assert f"{exc_id}: assigned to pmo-user" in done.output
    listed = runner.invoke(app, ["exceptions", "list", "--assigned-to", "pmo-user",
                                 "--database-url", url])
    assert exc_id in listed.output and "customer Acme Corp" in listed.output
    none = runner.invoke(app, ["exceptions", "list", "--unassigned", "--database-url", url])
    assert exc_id not in none.output
    assert runner.invoke(app, ["exceptions", "assign", exc_id, "--database-url",
                               url]).exit_code == 2  # neither --to nor --unassign
    assert runner.invoke(app, ["exceptions", "assign", "exc_nope", "--to", "x",
                               "--database-url", url]).exit_code == 1
    with TestClient(create_app(firm.system, background=False)) as http:
        keys = {"X-API-Key": firm.keys["finance"]}
        r = http.post(f"/v1/exceptions/{exc_id}/assign", json={"to": None}, headers=keys)
        assert r.status_code == 200 and r.json()["assigned_to"] is None
        rows = http.get("/v1/exceptions", params={"unassigned": True}, headers=keys).json()
        assert [x["id"] for x in rows] == [exc_id]
        assert rows[0]["context"]["contract"] == "C-1"
        assert http.post(f"/v1/exceptions/{exc_id}/assign", json={"to": "a"}, headers={
            "X-API-Key": firm.keys["auditor"]}).status_code == 403
        assert http.post("/v1/exceptions/exc_nope/assign", json={"to": "a"},
                         headers=keys).status_code == 404
    with firm.system.engine.connect() as conn:
        logged = entries(conn, action="exception.assign")
    assert [(a["actor"], a["after"]) for a in logged] == [
        ("ops-lead", {"assigned_to": "pmo-user"}), ("finance-user", {"assigned_to": None})]


def test_revoked_and_expired_keys_are_neither_suggested_nor_assignable(
        http: TestClient, firm: Firm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Beside the firm's four live keys: ``gone-user`` (revoked), ``lapsed-user`` (expired a
    day before the clock) and ``later-user`` (expires a day after it, so still live). The
    assign suggestions list the live ones only; assigning to a revoked or an expired key is
    refused (console: a flash, API: 409, CLI: exit 1) and records nothing, while a live key
    and a name no key has (an OIDC user's) are taken. A key revoked after it was given an
    exception is shown as unable to act."""
    from datetime import timedelta

    from syncline.cli.main import app
    from syncline.services.governance.keys import create_key, revoke_key

    now = fixed_clock()
    with firm.system.engine.begin() as conn:
        create_key(conn, "gone-user", ["finance"], by="test", now=now)
        revoke_key(conn, "gone-user", by="test", now=now, reason="left the firm")
        create_key(conn, "lapsed-user", ["finance"], by="test", now=now - timedelta(days=30),
                   expires=now - timedelta(days=1))
        create_key(conn, "later-user", ["finance"], by="test", now=now,
                   expires=now + timedelta(days=1))
    exc_id = _only(firm)
    sign_in(http, firm.keys["pmo"])
    page = http.get(f"/console/exceptions/{exc_id}").text
    suggested = page.split('<datalist id="people">')[1].split("</datalist>")[0]
    assert suggested == "".join(f'<option value="{name}">' for name in (
        "auditor-user", "controller-user", "finance-user", "later-user", "pmo-user"))
    token = csrf_of(page)
    for name, said in (("gone-user", "was revoked at"), ("lapsed-user", "expired at")):
        r = http.post(f"/console/exceptions/{exc_id}/assign", data={"csrf": token, "to": name})
        assert r.status_code == 200 and f"Not assigned: the key &#39;{name}&#39; {said}" in r.text
        api = http.post(f"/v1/exceptions/{exc_id}/assign", json={"to": name},
                        headers={"X-API-Key": firm.keys["finance"]})
        assert api.status_code == 409 and "can no longer act" in api.json()["detail"]
    monkeypatch.setenv("SYNCLINE_CLI_PRINCIPAL", "ops-lead")
    refused = CliRunner().invoke(app, ["exceptions", "assign", exc_id, "--to", "gone-user",
                                       "--database-url", firm.system.settings.database_url])
    assert refused.exit_code == 1 and "was revoked at" in refused.output
    with firm.system.engine.connect() as conn:
        assert entries(conn, action="exception.assign") == []
    for name in ("later-user", "oidc:ada"):
        r = http.post(f"/v1/exceptions/{exc_id}/assign", json={"to": name},
                      headers={"X-API-Key": firm.keys["finance"]})
        assert r.status_code == 200 and r.json()["assigned_to"] == name
    http.post(f"/v1/exceptions/{exc_id}/assign", json={"to": "finance-user"},
              headers={"X-API-Key": firm.keys["finance"]})
    assert 'id="assignee-lapsed"' not in http.get(f"/console/exceptions/{exc_id}").text
    with firm.system.engine.begin() as conn:
        revoke_key(conn, "finance-user", by="test", now=now)
    page = http.get(f"/console/exceptions/{exc_id}").text
    assert 'id="assignee-lapsed">key revoked: cannot act<' in page
    assert '<option value="finance-user">' not in page
