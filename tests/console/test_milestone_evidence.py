"""Milestone evidence documents: accepted by the schema (additively: the old shape still
passes), kept with the milestone once each whatever the order or repetition of messages, and
shown in lineage (service and console page), where a document's id also finds the chain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from syncline.adapters.db.tables import billable_items, milestones
from syncline.api.app import create_app
from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.schemas import explain_event, is_valid_event
from syncline.services.lineage import find
from syncline.services.messaging.inbox import receive_many
from tests.builders import deal, event
from tests.conftest import fixed_clock
from tests.console.firm import INTEGRATION_KEY, sign_in

SIGNED = {"name": "M-1 acceptance (signed).pdf", "document_id": "DOC-88",
          "url": "https://psa.example.com/files/DOC-88", "media_type": "application/pdf"}
REPORT = {"name": "UAT report", "document_id": "DOC-90"}


def done(documents: list[dict[str, Any]] | None, *, id_: str, legacy: str | None = None,
         sequence: int = 1) -> dict[str, Any]:
    evidence: dict[str, Any] = {"accepted_by": "Jane Roe, CFO"}
    if legacy:
        evidence["document"] = legacy
    if documents is not None:
        evidence["documents"] = documents
    return event("milestone.completed", "milestone/M-1", {
        "milestone_id": "M-1", "project_code": "P-1", "completed_on": "2026-01-20",
        "evidence": evidence}, source="psa/kantata", id_=id_, time="2026-01-20T12:00:00Z",
        sequence=sequence)


def fixed_fee_firm(tmp_path: Path, *messages: dict[str, Any]) -> Syncline:
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'ev.db'}",
                                api_keys=INTEGRATION_KEY, api_key_roles="integration"),
                       clock=fixed_clock, durable=False)
    with system.engine.begin() as conn:
        receive_many(conn, [deal(billing_type="fixed_fee", amount="10000", milestones=[
            {"milestone_id": "M-1", "name": "Design", "amount": "4000"},
            {"milestone_id": "M-2", "name": "Go-live", "amount": "6000"}]), *messages],
            now=fixed_clock())
    system.process()
    return system


def _evidence(system: Syncline) -> str:
    with system.engine.connect() as conn:
        return str(conn.execute(select(milestones.c.evidence).where(
            milestones.c.milestone_id == "M-1")).scalar())


def _valid(message: dict[str, Any]) -> bool:
    """Both validators (the fast one and the reference) give the same answer."""
    fast, reference = is_valid_event(message), not explain_event(message)
    assert fast == reference
    return fast


def test_the_schema_takes_documents_and_still_the_old_shape() -> None:
    assert _valid(done(None, id_="x", legacy="acceptance.pdf"))
    assert _valid(done([SIGNED, REPORT], id_="x"))
    assert not _valid(done([{"name": "where is it?"}], id_="x"))  # no url nor document_id
    assert not _valid(done([{"name": "x", "url": "javascript:alert(1)"}], id_="x"))
    assert not _valid(done([{**REPORT, "size": 3}], id_="x"))


def test_evidence_is_kept_the_newest_wins_in_any_order(tmp_path: Path) -> None:
    """The acceptance (sequence 1) with the legacy `document` and the signed PDF: both kept,
    sorted by name. Its PSA sends the milestone again (sequence 2) with the UAT report added
    and the PDF twice: the newer list replaces the older, each document once; the same two
    messages in the other order (the older then arrives stale) store the same text, and a
    duplicate changes nothing. The milestone bills once."""
    first = done([SIGNED], id_="m1", legacy="C-1-M-1-acceptance.pdf")
    second = done([REPORT, SIGNED, SIGNED], id_="m2", legacy="C-1-M-1-acceptance.pdf",
                  sequence=2)
    alone = fixed_fee_firm(tmp_path / "0", first)
    kept = json.loads(_evidence(alone))
    assert kept == {"accepted_by": "Jane Roe, CFO", "documents": [
        {"name": "C-1-M-1-acceptance.pdf"}, SIGNED]}
    one = fixed_fee_firm(tmp_path / "a", first, second, first)
    other = fixed_fee_firm(tmp_path / "b", second, first)
    stored = _evidence(one)
    assert stored == _evidence(other)
    assert [d["name"] for d in json.loads(stored)["documents"]] == [
        "C-1-M-1-acceptance.pdf", "M-1 acceptance (signed).pdf", "UAT report"]
    with one.engine.connect() as conn:
        items = conn.execute(select(billable_items.c.key, billable_items.c.amount).where(
            billable_items.c.key.like("milestone:%"))).all()
    assert [(k, str(a)) for k, a in items] == [("milestone:M-1", "4000.00")]


def test_lineage_shows_the_evidence_and_a_document_finds_the_chain(tmp_path: Path) -> None:
    system = fixed_fee_firm(tmp_path, done([SIGNED], id_="m1"))
    with system.engine.connect() as conn:
        chain = find(conn, "DOC-88")
        assert chain is not None and chain.contract["number"] == "C-1"
        by_id = {m["milestone_id"]: m for m in chain.milestones}
        assert by_id["M-1"]["documents"] == [SIGNED] and by_id["M-2"]["documents"] == []
        assert any(m["subject"] == "milestone/M-1" for m in chain.messages)
        assert find(conn, "DOC-nope") is None
    with TestClient(create_app(system, background=False)) as http:
        sign_in(http, INTEGRATION_KEY)
        page = http.get("/console/lineage", params={"q": "M-1"}).text
    table = page.split('id="milestones"')[1].split("</table>")[0]
    assert 'href="https://psa.example.com/files/DOC-88"' in table
    assert "<code>DOC-88</code>" in table and "Jane Roe, CFO" in table
