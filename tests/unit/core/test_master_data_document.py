"""The master-data document (domain/masterdata.py): the example file is the built-in firm,
exactly; a document reads back to what wrote it; every problem is named with its place."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from syncline.domain.master_checks import dimensions_problems, entity_problem
from syncline.domain.masterdata import reference_from_dict, reference_to_dict
from syncline.domain.reference import DEFAULT_REFERENCE, ReferenceData

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "master-data.example.yaml"


def example() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    return data


def problems(doc: object) -> dict[str, str]:
    made = reference_from_dict(doc)
    assert isinstance(made, tuple), "the document was accepted"
    return {p.where: p.message for p in made}


def test_the_example_file_is_the_built_in_firm_exactly() -> None:
    made = reference_from_dict(example())
    assert made == DEFAULT_REFERENCE
    assert isinstance(made, ReferenceData)
    assert made.tax_profile("US-NY-SVC").rate == Decimal("0.08875")  # type: ignore[union-attr]
    assert [t.code for t in made.template("implementation").tasks] == [  # type: ignore[union-attr]
        "1", "2", "3", "4", "5", "9"]


def test_a_document_reads_back_to_what_wrote_it() -> None:
    assert reference_from_dict(reference_to_dict(DEFAULT_REFERENCE)) == DEFAULT_REFERENCE
    doc = example()
    doc["legal_entities"].append({"code": "FR01", "name": "Northwind Conseil SAS",
                                  "functional_currency": "EUR", "country": "FR",
                                  "active": False})
    made = reference_from_dict(doc)
    assert isinstance(made, ReferenceData)
    assert made.entity("FR01") is not None and not made.entity("FR01").active  # type: ignore[union-attr]
    assert reference_from_dict(reference_to_dict(made)) == made


@pytest.mark.parametrize(("where", "change", "says"), [
    ("tax_profiles[2].rate", lambda d: d["tax_profiles"][2].update(rate=0.2), "as text"),
    ("tax_profiles[0].rate", lambda d: d["tax_profiles"][0].update(rate="1.5"), "up to 1"),
    ("legal_entities[1].functional_currency",
     lambda d: d["legal_entities"][1].update(functional_currency="EURO"), "ISO 4217"),
    ("legal_entities[0].country", lambda d: d["legal_entities"][0].update(country="usa"),
     "two-letter"),
    ("legal_entities[2].code", lambda d: d["legal_entities"][2].update(code="US01"),
     "listed twice"),
    ("legal_entities", lambda d: d.update(legal_entities=[]), "at least one"),
    ("role_rates.USD.intern", lambda d: d["role_rates"]["USD"].update(intern="50"),
     "not a listed role"),
    ("role_rates.GBP.partner", lambda d: d["role_rates"]["GBP"].update(partner="-1"),
     "positive"),
    ("role_rates.XXX", lambda d: d["role_rates"].update(XXX={}), "ISO 4217"),
    ("wbs_templates[1].service_line",
     lambda d: d["wbs_templates"][1].update(service_line="training"), "not a listed"),
    ("wbs_templates[0].tasks[5].code",
     lambda d: d["wbs_templates"][0]["tasks"][5].update(code="1"), "listed twice"),
    ("wbs_templates[2].tasks", lambda d: d["wbs_templates"][2].update(tasks=[]),
     "at least one task"),
    ("dimensions.cost_centers[1].active",
     lambda d: d["dimensions"]["cost_centers"][1].update(active="no"), "true or false"),
    ("dimensions.regions", lambda d: d["dimensions"].update(regions=[]),
     "not a master-data field"),
    ("tax_code", lambda d: d.update(tax_code=[]), "not a master-data field"),
    ("roles", lambda d: d.pop("roles"), "must be a list"),
])
def test_every_problem_is_named_with_its_place(where: str, change: Any, says: str) -> None:
    doc = copy.deepcopy(example())
    change(doc)
    found = problems(doc)
    assert where in found, found
    assert says in found[where]


def test_all_problems_are_reported_at_once_and_nothing_half_loads() -> None:
    doc = example()
    doc["tax_profiles"][0]["rate"] = 0.1
    doc["legal_entities"][0]["functional_currency"] = "usd"
    doc["wbs_templates"][0]["service_line"] = "nope"
    assert set(problems(doc)) == {"tax_profiles[0].rate", "legal_entities[0].functional_currency",
                                  "wbs_templates[0].service_line"}
    assert problems([1, 2]) == {"(document)": problems([1, 2])["(document)"]}


def test_inactive_and_unknown_codes_are_problems_of_the_flow() -> None:
    doc = example()
    doc["legal_entities"][2]["active"] = False
    doc["dimensions"]["cost_centers"][0]["active"] = False
    ref = reference_from_dict(doc)
    assert isinstance(ref, ReferenceData)
    objects = (("deal", "D-1"),)
    assert entity_problem(ref, "US01", flow="deal", field="f", objects=objects) is None
    inactive = entity_problem(ref, "DE01", flow="deal", field="data.legal_entity",
                              objects=objects)
    assert inactive is not None and inactive.code == "deal.inactive_legal_entity"
    unknown = entity_problem(ref, "XX01", flow="deal", field="f", objects=objects)
    assert unknown is not None and unknown.code == "deal.unknown_legal_entity"
    codes = [p.code for p in dimensions_problems(
        ref, {"cost_center": "CC-100", "service_line": "training"}, flow="time",
        field="data.dimensions", objects=objects)]
    assert codes == ["time.inactive_dimension", "time.unknown_dimension"]
    assert dimensions_problems(ref, {"cost_center": "CC-200"}, flow="time", field="d",
                               objects=objects) == []
