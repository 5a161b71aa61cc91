"""The cross-reference table (issue 12): browsed by system and type, shown by either id,
repaired by an admin only (audited, before and after), a link to nothing refused, a re-link
moved; a repaired CRM account link is followed by the next deal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from syncline.adapters.db.tables import contracts, customers
from syncline.api.app import create_app
from syncline.bootstrap import Syncline, bootstrap
from syncline.cli.main import app as cli
from syncline.config import Settings
from syncline.services import xref
from syncline.services.governance import audit
from syncline.services.governance.keys import create_key
from syncline.services.messaging.inbox import receive_many
from tests.builders import deal, worker
from tests.conftest import fixed_clock


@pytest.fixture
def firm(tmp_path: Path) -> Iterator[Syncline]:
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}",
                                api_keys="legacy-key", api_key_roles="integration"),
                       clock=fixed_clock, durable=False)
    with system.engine.begin() as conn:
        receive_many(conn, [deal("D-1", number="C-1", project="P-1"),
                            deal("D-2", number="C-2", project="P-2"), worker()],
                     now=fixed_clock())
    system.process()
    yield system
    system.engine.dispose()


def customer_of(system: Syncline, number: str) -> str:
    with system.engine.connect() as conn:
        return str(conn.execute(select(contracts.c.customer_id).where(
            contracts.c.number == number)).scalar_one())


def test_links_are_listed_by_system_and_type_and_shown_by_either_id(firm: Syncline) -> None:
    with firm.engine.connect() as conn:
        every = xref.links(conn)
        accounts = xref.links(conn, system="crm", object_type="account")
        by_external = xref.show(conn, "P-1")
        by_syncline = xref.show(conn, by_external[0].syncline_id)
    assert {(k.system, k.object_type) for k in every} == {
        ("crm", "deal"), ("crm", "account"), ("psa", "project"), ("hris", "worker")}
    assert [(k.external_id, k.label) for k in accounts] == [("ACC-D-1", "Acme Corp"),
                                                            ("ACC-D-2", "Acme Corp")]
    assert [(k.object_type, k.label) for k in by_external] == [("project", "P-1")]
    assert by_syncline == by_external


def test_a_page_of_links_carries_each_target_s_own_label(firm: Syncline) -> None:
    """(Labels read per type for the page, not one query a link: the same labels.)"""
    with firm.engine.connect() as conn:
        every = xref.links(conn)
        one_by_one = [xref._label(conn, k.object_type, k.syncline_id) for k in every]
    assert [k.label for k in every] == one_by_one
    assert sum(label is not None for label in one_by_one) >= 5  # deals have none


def test_link_refuses_a_target_that_is_not_an_object_of_the_type(firm: Syncline) -> None:
    with firm.engine.connect() as conn:
        project_id = xref.links(conn, object_type="project")[0].syncline_id
    for kind, to, problem in (("account", project_id, "not_found"),
                              ("account", "cus_nothing", "not_found"),
                              ("invoice", project_id, "unknown_type")):
        with firm.engine.begin() as conn, pytest.raises(xref.LinkRefused) as refused:
            xref.link(conn, system="crm", object_type=kind, external_id="ACC-9", to=to,
                      reason="r", actor="a", now=fixed_clock())
        assert refused.value.problem == problem
    with firm.engine.connect() as conn:
        assert xref.show(conn, "ACC-9") == [] and audit.entries(conn) == []


def test_relinking_moves_the_link_with_before_and_after_in_the_audit(firm: Syncline) -> None:
    first, second = customer_of(firm, "C-1"), customer_of(firm, "C-2")
    with firm.engine.begin() as conn:
        moved = xref.link(conn, system="crm", object_type="account", external_id="ACC-D-2",
                          to=first, reason="accounts merged in the CRM", actor="ops:alice",
                          now=fixed_clock())
        same = xref.link(conn, system="crm", object_type="account", external_id="ACC-D-2",
                         to=first, reason="again", actor="ops:alice", now=fixed_clock())
    assert moved["changed"] and moved["before"] == second and not same["changed"]
    with firm.engine.connect() as conn:
        (row,) = audit.entries(conn, action="xref.link")
        assert [k.syncline_id for k in xref.show(conn, "ACC-D-2")] == [first]
    assert row["before"]["syncline_id"] == second and row["after"]["syncline_id"] == first
    assert row["reason"] == "accounts merged in the CRM" and row["actor"] == "ops:alice"
    assert row["subject"] == "xref:crm/account/ACC-D-2"


def test_a_repaired_account_link_is_followed_by_the_next_deal(firm: Syncline) -> None:
    first = customer_of(firm, "C-1")
    with firm.engine.begin() as conn:
        xref.link(conn, system="crm", object_type="account", external_id="ACC-NEW", to=first,
                  reason="re-keyed in the CRM", actor="a", now=fixed_clock())
    renamed = deal("D-3", number="C-3", project="P-3")
    renamed["data"]["customer"]["external_id"] = "ACC-NEW"
    with firm.engine.begin() as conn:
        receive_many(conn, [renamed], now=fixed_clock())
    firm.process()
    assert customer_of(firm, "C-3") == first
    with firm.engine.connect() as conn:
        assert len(conn.execute(select(customers)).all()) == 2


def test_over_http_reading_is_for_all_and_linking_for_admins(firm: Syncline) -> None:
    with firm.engine.begin() as conn:
        keys = {r: create_key(conn, f"k-{r}", [r], by="setup", now=fixed_clock())[0]
                for r in ("admin", "billing")}
    first = customer_of(firm, "C-1")
    body = {"system": "crm", "object_type": "account", "external_id": "ACC-D-2", "to": first,
            "reason": "merged"}
    with TestClient(create_app(firm, background=False)) as http:
        listed = http.get("/v1/xref", params={"system": "psa", "type": "project"},
                          headers={"X-API-Key": keys["billing"]})
        assert [k["external_id"] for k in listed.json()] == ["P-1", "P-2"]
        assert http.get("/v1/xref/P-1", headers={"X-API-Key": keys["billing"]}).json()[0][
            "label"] == "P-1"
        assert http.get("/v1/xref/none", headers={"X-API-Key": keys["billing"]}
                        ).status_code == 404
        assert http.post("/v1/xref/links", json=body, headers={
            "X-API-Key": keys["billing"]}).status_code == 403
        assert http.post("/v1/xref/links", json={**body, "to": "cus_none"}, headers={
            "X-API-Key": keys["admin"]}).status_code == 404
        done = http.post("/v1/xref/links", json=body, headers={"X-API-Key": keys["admin"]})
    assert done.status_code == 200 and done.json()["changed"]
    with firm.engine.connect() as conn:
        (row,) = audit.entries(conn, action="xref.link")
    assert row["actor"] == "k-admin"


def test_the_cli_lists_shows_and_links_as_admin(firm: Syncline,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCLINE_DATABASE_URL", firm.settings.database_url)
    monkeypatch.setenv("SYNCLINE_CLI_PRINCIPAL", "ops:bob")
    runner = CliRunner()
    listed = runner.invoke(cli, ["xref", "list", "--system", "hris", "--json"])
    assert listed.exit_code == 0 and '"W-1"' in listed.output
    assert runner.invoke(cli, ["xref", "show", "W-1"]).exit_code == 0
    assert runner.invoke(cli, ["xref", "show", "W-404"]).exit_code == 1
    first = customer_of(firm, "C-1")
    args = ["xref", "link", "--system", "crm", "--type", "account", "--external-id",
            "ACC-D-2", "--to", first, "--reason", "merged"]
    refused = runner.invoke(cli, [*args[:-4], "--to", "cus_none", "--reason", "merged"])
    assert refused.exit_code == 2 and "no customer cus_none" in refused.output
    monkeypatch.setenv("SYNCLINE_CLI_ROLES", "billing")
    assert runner.invoke(cli, args).exit_code == 2
    monkeypatch.setenv("SYNCLINE_CLI_ROLES", "admin")
    moved = runner.invoke(cli, args)
    assert moved.exit_code == 0 and "moved from" in moved.output
    with firm.engine.connect() as conn:
        (row,) = audit.entries(conn, action="xref.link")
    assert row["actor"] == "ops:bob"
