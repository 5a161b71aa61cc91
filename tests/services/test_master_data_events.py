"""customer.upserted and project.activated applied; deals and time that name an unknown or
inactive entity, tax profile, template or dimension refused with one exception each."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select

from syncline.adapters.db.masterdata_tables import (
    customer_profiles,
    project_profiles,
    time_dimensions,
)
from syncline.adapters.db.tables import customers, projects, time_entries
from syncline.bootstrap import Syncline
from syncline.domain.masterdata import reference_to_dict
from syncline.domain.reference import DEFAULT_REFERENCE
from syncline.schemas import validate_event
from syncline.services.masterdata import set_master_data
from syncline.services.messaging.exceptions import list_exceptions
from syncline.services.messaging.inbox import receive_many
from syncline.services.state import summary
from tests.builders import deal, event, time_entry, worker


def customer(key: str = "ACC-D-1", *, entity: str | None = "US01", tax: str | None = "US-EXEMPT",
             name: str = "Acme Corp", sequence: int = 1, active: bool = True) -> dict[str, Any]:
    return event("customer.upserted", f"customer/{key}", {
        "external_id": key, "name": name, "country": "US", "billing_email": "ap@acme.test",
        "legal_entity": entity, "tax_profile": tax, "active": active},
        source="crm/salesforce", sequence=sequence)


def activation(code: str = "P-1", *, template: str = "implementation", entity: str = "US01",
               customer_key: str = "ACC-D-1", dims: dict[str, str] | None = None,
               sequence: int = 1) -> dict[str, Any]:
    return event("project.activated", f"project/{code}", {
        "project_code": code, "name": "ERP rollout (PSA)", "template": template,
        "customer_external_id": customer_key, "legal_entity": entity,
        "start_date": "2026-01-05",
        "dimensions": dims if dims is not None else {"cost_center": "CC-100",
                                                      "service_line": "implementation"}},
        source="psa/kantata", sequence=sequence)


def ingest(system: Syncline, *events: object) -> None:
    with system.engine.begin() as conn:
        receive_many(conn, list(events), now=system.clock())  # type: ignore[arg-type]
    system.process()


def codes(system: Syncline) -> list[str]:
    with system.engine.connect() as conn:
        return sorted(e.code for e in list_exceptions(conn))


def deactivate(system: Syncline, **changes: Any) -> None:
    """Store the built-in firm with some entries inactive (``section=[codes]``)."""
    doc = copy.deepcopy(reference_to_dict(DEFAULT_REFERENCE))
    sections = {"legal_entities": doc["legal_entities"], "tax_profiles": doc["tax_profiles"],
                "cost_centers": doc["dimensions"]["cost_centers"],
                "service_lines": doc["dimensions"]["service_lines"],
                "wbs_templates": doc["wbs_templates"]}
    for section, wanted in changes.items():
        for item in sections[section]:
            if item["code"] in wanted:
                item["active"] = False
    with system.engine.begin() as conn:
        set_master_data(conn, doc, actor="test", source="test", now=system.clock(),
                        seed=DEFAULT_REFERENCE)


def test_the_new_events_are_valid_against_their_schemas() -> None:
    for message in (customer(), activation()):
        assert validate_event(message) == []
    bad = activation(dims={"region": "EMEA"})
    assert [p.path for p in validate_event(bad)] == ["data.dimensions"]


def test_customer_upserted_creates_then_updates_the_customer_and_its_profile(
        system: Syncline) -> None:
    ingest(system, customer(name="Acme"))
    ingest(system, customer(name="Acme Corporation", tax="US-NY-SVC", sequence=2),
           customer(name="Acme (stale)", sequence=1, tax="US-EXEMPT", entity="GB01"))
    ingest(system, deal())  # the deal finds the customer by its external id
    with system.engine.connect() as conn:
        (row,) = conn.execute(select(customers)).all()
        profile = conn.execute(select(customer_profiles)).one()
        assert summary(conn)["customers"] == 1
    assert row.name == "Acme Corporation" and row.external_id == "ACC-D-1"
    assert (profile.tax_profile, profile.entity_code, profile.billing_email,
            profile.active) == ("US-NY-SVC", "US01", "ap@acme.test", True)
    assert codes(system) == []


def test_customer_with_unknown_or_inactive_master_data_is_refused(system: Syncline) -> None:
    deactivate(system, tax_profiles=["EU-REVERSE"])
    ingest(system, customer("A-1", entity="XX01"), customer("A-2", tax="EU-REVERSE"),
           customer("A-3", tax="EU-REVERSE", active=False))  # a closed account may keep it
    assert codes(system) == ["customer.inactive_tax_profile", "customer.unknown_legal_entity"]
    with system.engine.connect() as conn:
        assert [r.external_id for r in conn.execute(select(customers))] == ["A-3"]


def test_project_activated_waits_for_its_deal_then_activates_with_dimensions(
        system: Syncline) -> None:
    ingest(system, activation())
    with system.engine.connect() as conn:
        assert summary(conn)["parked"] == 1
    ingest(system, deal())
    with system.engine.connect() as conn:
        project = conn.execute(select(projects)).one()
        profile = conn.execute(select(project_profiles)).one()
    assert project.status == "active" and project.name == "ERP rollout (PSA)"
    assert (profile.start_date, profile.entity_code, profile.cost_center,
            profile.service_line) == ("2026-01-05", "US01", "CC-100", "implementation")
    assert codes(system) == []


def test_project_activated_that_disagrees_or_names_bad_master_data_is_refused(
        system: Syncline) -> None:
    deactivate(system, cost_centers=["CC-900"])
    ingest(system, deal())
    ingest(system, activation(entity="GB01", sequence=1))
    ingest(system, activation(dims={"cost_center": "CC-900"}, sequence=2))
    ingest(system, activation(template="nope", dims={"service_line": "training"}, sequence=3))
    ingest(system, activation(dims={"service_line": "training"}, sequence=4))
    assert codes(system) == ["project.inactive_dimension", "project.mismatch",
                             "project.unknown_dimension", "project.unknown_template"]
    with system.engine.connect() as conn:
        (exc,) = [e for e in list_exceptions(conn) if e.code == "project.mismatch"]
        assert conn.execute(select(projects.c.status)).scalar() == "provisioning"
    assert "legal entity 'GB01'" in exc.message and "'US01'" in exc.message


def test_deals_naming_inactive_or_unknown_master_data_are_refused(system: Syncline) -> None:
    deactivate(system, legal_entities=["DE01"], tax_profiles=["US-NY-SVC"],
               service_lines=["consulting"], wbs_templates=["advisory"])
    on_line = deal("D-4", number="C-4", project="P-4")
    on_line["data"]["contract"]["service_line"] = "consulting"
    on_template = deal("D-5", number="C-5", project="P-5")
    on_template["data"]["project"]["template"] = "advisory"
    ingest(system, deal("D-1", number="C-1", project="P-1", entity="DE01", tax="DE-VAT-STD",
                        currency="EUR"),
           deal("D-2", number="C-2", project="P-2", tax="US-NY-SVC"),
           deal("D-3", number="C-3", project="P-3", tax="XX-VAT"), on_line, on_template)
    assert codes(system) == ["deal.inactive_dimension", "deal.inactive_legal_entity",
                             "deal.inactive_tax_profile", "deal.inactive_template",
                             "deal.unknown_tax_profile"]
    with system.engine.connect() as conn:
        assert summary(conn)["contracts"] == 0


def test_a_deal_books_to_its_templates_service_line_from_the_master_data(
        system: Syncline) -> None:
    doc = reference_to_dict(DEFAULT_REFERENCE)
    doc["wbs_templates"][0]["service_line"] = "consulting"
    with system.engine.begin() as conn:
        set_master_data(conn, doc, actor="t", source="t", now=system.clock(),
                        seed=DEFAULT_REFERENCE)
    ingest(system, deal())
    from syncline.adapters.db.tables import contracts
    with system.engine.connect() as conn:
        assert conn.execute(select(contracts.c.service_line)).scalar() == "consulting"


def test_time_booked_to_bad_dimensions_is_refused_and_good_ones_kept(system: Syncline) -> None:
    deactivate(system, cost_centers=["CC-200"])
    good, inactive, unknown = (time_entry("T-1"), time_entry("T-2", day="2026-01-06"),
                               time_entry("T-3", day="2026-01-07"))
    good["data"]["dimensions"] = {"cost_center": "CC-100", "service_line": "implementation"}
    inactive["data"]["dimensions"] = {"cost_center": "CC-200"}
    unknown["data"]["dimensions"] = {"service_line": "training"}
    ingest(system, deal(), worker(), good, inactive, unknown)
    assert codes(system) == ["time.inactive_dimension", "time.unknown_dimension"]
    with system.engine.connect() as conn:
        assert [r.time_entry_id for r in conn.execute(select(time_entries))] == ["T-1"]
        assert sorted((r.time_entry_id, r.kind, r.code) for r in conn.execute(
            select(time_dimensions))) == [("T-1", "cost_center", "CC-100"),
                                          ("T-1", "service_line", "implementation")]
