"""Master data (issue 12): seeded from SYNCLINE_MASTER_DATA, read and replaced over HTTP by
an admin only (422 naming the problems, audited before/after), loaded from the CLI, and the
running system applies the firm's master data, not the built-in firm's."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from syncline.api.app import create_app
from syncline.bootstrap import Syncline, bootstrap
from syncline.cli.main import app as cli
from syncline.config import Settings
from syncline.domain.reference import DEFAULT_REFERENCE
from syncline.services.governance import audit
from syncline.services.governance.keys import create_key
from syncline.services.masterdata import MasterDataInvalid
from syncline.services.messaging.exceptions import list_exceptions
from syncline.services.messaging.inbox import receive_many
from syncline.services.state import summary
from syncline.simulator import SimulationConfig, end_of_stream, simulate
from tests.builders import deal
from tests.conftest import fixed_clock

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "master-data.example.yaml"


def example() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    return data


def with_fr01(active: bool = True) -> dict[str, Any]:
    doc = copy.deepcopy(example())
    doc["legal_entities"].append({"code": "FR01", "name": "Northwind Conseil SAS",
                                  "functional_currency": "EUR", "country": "FR",
                                  "active": active})
    doc["tax_profiles"].append({"code": "FR-VAT-STD", "jurisdiction": "FR", "rate": "0.20",
                                "label": "TVA taux normal"})
    return doc


@pytest.fixture
def md(tmp_path: Path) -> Iterator[Syncline]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'md.db'}", api_keys="legacy-key",
                        api_key_roles="integration", master_data=str(EXAMPLE),
                        cli_principal="ops:alice")
    system = bootstrap(settings, clock=fixed_clock, durable=False)
    yield system
    system.engine.dispose()


def tokens(system: Syncline) -> dict[str, str]:
    with system.engine.begin() as conn:
        return {role: create_key(conn, f"k-{role}", [role], by="setup", now=system.clock())[0]
                for role in ("admin", "finance", "auditor")}


def ingest(system: Syncline, *events: object) -> None:
    with system.engine.begin() as conn:
        receive_many(conn, list(events), now=system.clock())  # type: ignore[arg-type]
    system.process()


def test_the_file_seeds_the_system(md: Syncline) -> None:
    assert md.ref == DEFAULT_REFERENCE
    assert md.ledger.functional_currencies["DE01"] == "EUR"


def test_a_bad_file_stops_bootstrap_naming_the_problems(tmp_path: Path) -> None:
    bad = example()
    bad["tax_profiles"][1]["rate"] = 0.08875
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad), encoding="utf-8")
    with pytest.raises(MasterDataInvalid) as raised:
        bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'b.db'}",
                           master_data=str(path)), durable=False)
    assert [p.where for p in raised.value.problems] == ["tax_profiles[1].rate"]


def test_put_is_admin_only_validated_audited_and_applies_to_the_next_messages(
        md: Syncline) -> None:
    keys = tokens(md)
    ingest(md, deal("D-FR", number="C-FR", project="P-FR", entity="FR01", tax="FR-VAT-STD",
                    currency="EUR"))
    with md.engine.connect() as conn:
        (refused,) = list_exceptions(conn)
    assert refused.code == "deal.unknown_legal_entity"

    with TestClient(create_app(md, background=False)) as http:
        seen = http.get("/v1/master-data", headers={"X-API-Key": keys["auditor"]}).json()
        assert seen["version"] is None and seen["source"] == "seed"
        assert [e["code"] for e in seen["master_data"]["legal_entities"]] == [
            "US01", "GB01", "DE01"]
        for role in ("finance", "auditor"):
            assert http.put("/v1/master-data", json=with_fr01(), headers={
                "X-API-Key": keys[role]}).status_code == 403
        bad = with_fr01()
        bad["legal_entities"][3]["functional_currency"] = "FRF"
        bad["dimensions"]["service_lines"].append({"code": "consulting", "name": "Again"})
        answer = http.put("/v1/master-data", json=bad, headers={"X-API-Key": keys["admin"]})
        assert answer.status_code == 422
        assert {p["where"] for p in answer.json()["detail"]["problems"]} == {
            "legal_entities[3].functional_currency", "dimensions.service_lines[3].code"}
        done = http.put("/v1/master-data", json=with_fr01(),
                        headers={"X-API-Key": keys["admin"]})
        assert done.status_code == 200 and done.json()["version"] == 1
        again = http.put("/v1/master-data", json=with_fr01(),
                         headers={"X-API-Key": keys["admin"]}).json()
        assert again["changed"] is False and again["version"] == 1
        versions = http.get("/v1/master-data/versions",
                            headers={"X-API-Key": keys["finance"]}).json()
        assert [(v["version"], v["set_by"], v["source"]) for v in versions] == [
            (1, "k-admin", "api")]

    with md.engine.connect() as conn:
        (row,) = audit.entries(conn, action="master_data.set")
        assert audit.verify(conn).ok
    assert row["actor"] == "k-admin" and row["subject"] == "master_data:1"
    assert [e["code"] for e in row["before"]["legal_entities"]] == ["US01", "GB01", "DE01"]
    assert [e["code"] for e in row["after"]["legal_entities"]] == ["US01", "GB01", "DE01",
                                                                   "FR01"]
    assert md.ref.entity("FR01") is not None
    assert md.ledger.functional_currencies["FR01"] == "EUR"
    # a system wired afresh (another process) reads the stored version, not the file
    other = bootstrap(md.settings, clock=fixed_clock, durable=False)
    assert other.ref.entity("FR01") is not None
    ingest(md, deal("D-FR2", number="C-FR2", project="P-FR2", entity="FR01",
                    tax="FR-VAT-STD", currency="EUR"))
    with md.engine.connect() as conn:
        assert summary(conn)["contracts"] == 1


def test_an_inactive_entity_refuses_new_deals(md: Syncline) -> None:
    with md.engine.begin() as conn:
        from syncline.services.masterdata import set_master_data

        set_master_data(conn, with_fr01(active=False), actor="t", source="test",
                        now=md.clock(), seed=md.master.seed)
    ingest(md, deal("D-FR", number="C-FR", project="P-FR", entity="FR01", tax="FR-VAT-STD",
                    currency="EUR"))
    with md.engine.connect() as conn:
        (refused,) = list_exceptions(conn)
    assert refused.code == "deal.inactive_legal_entity"
    assert refused.domain == "finance" and refused.field == "data.legal_entity"
    assert "FR01" in refused.message and "inactive" in refused.message


def test_a_code_in_use_cannot_be_removed_only_made_inactive(md: Syncline) -> None:
    from syncline.services.masterdata import set_master_data

    ingest(md, deal())  # a contract in US01, US-EXEMPT, template implementation
    doc = example()
    doc["legal_entities"] = doc["legal_entities"][1:]
    doc["tax_profiles"] = doc["tax_profiles"][1:]
    with md.engine.begin() as conn, pytest.raises(MasterDataInvalid) as refused:
        set_master_data(conn, doc, actor="t", source="test", now=md.clock(),
                        seed=md.master.seed)
    assert [(p.where, p.message.split(" is used")[0]) for p in refused.value.problems] == [
        ("legal_entities", "US01"), ("tax_profiles", "US-EXEMPT")]
    doc = example()
    doc["legal_entities"][0]["active"] = False
    with md.engine.begin() as conn:
        assert set_master_data(conn, doc, actor="t", source="test", now=md.clock(),
                               seed=md.master.seed)["version"] == 1


def test_the_cli_shows_and_loads_as_admin_audited(md: Syncline, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCLINE_DATABASE_URL", md.settings.database_url)
    monkeypatch.setenv("SYNCLINE_MASTER_DATA", str(EXAMPLE))
    monkeypatch.setenv("SYNCLINE_CLI_PRINCIPAL", "ops:alice")
    runner = CliRunner()
    shown = runner.invoke(cli, ["master-data", "show", "--json"])
    assert shown.exit_code == 0 and '"US01"' in shown.output
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(yaml.safe_dump(with_fr01()), encoding="utf-8")
    broken = with_fr01()
    broken["wbs_templates"][0]["tasks"][0]["billable"] = "yes"
    bad.write_text(yaml.safe_dump(broken), encoding="utf-8")
    refused = runner.invoke(cli, ["master-data", "load", str(bad)])
    assert refused.exit_code == 2
    assert "wbs_templates[0].tasks[0].billable" in refused.output
    monkeypatch.setenv("SYNCLINE_CLI_ROLES", "finance")
    assert runner.invoke(cli, ["master-data", "load", str(good)]).exit_code == 2
    monkeypatch.setenv("SYNCLINE_CLI_ROLES", "admin")
    loaded = runner.invoke(cli, ["master-data", "load", str(good), "--reason", "FR opening"])
    assert loaded.exit_code == 0, loaded.output
    with md.engine.connect() as conn:
        (row,) = audit.entries(conn, action="master_data.set")
    assert row["actor"] == "ops:alice" and row["reason"] == "FR opening"
    assert md.ref.entity("FR01") is not None


def _small_firm(tmp: Path, name: str, master_data: str | None) -> str:
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp / name}.db",
                                master_data=master_data), clock=fixed_clock, durable=False)
    sim = simulate(SimulationConfig(seed=3, customers=4, workers=8, months=2), system.ref)
    with system.engine.begin() as conn:
        receive_many(conn, sim.to_jsonl().splitlines(), now=fixed_clock())
    system.process()
    system.sweep(as_of=end_of_stream(sim) + timedelta(days=30))
    with system.engine.connect() as conn:
        made = summary(conn)
    system.engine.dispose()
    return str(made["state_fingerprint"])


def test_the_demo_firm_is_unchanged_with_the_example_file_loaded(tmp_path: Path) -> None:
    assert _small_firm(tmp_path, "built-in", None) == _small_firm(tmp_path, "file",
                                                                   str(EXAMPLE))
