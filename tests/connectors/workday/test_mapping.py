"""Workday records → canonical worker events (mapping.py): the rules, one test each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from syncline.connectors.sdk.errors import MappingError
from syncline.connectors.workday.mapping import REST_FIELDS, WorkerRules, map_worker
from syncline.connectors.workday.streams import to_events
from syncline.schemas import validate_event

FIXTURES = Path(__file__).parents[2] / "fixtures" / "workday"
ROLES = {"Senior Consultant": "senior_consultant", "Consultant": "consultant",
         "Engagement Manager": "manager", "Partner": "partner", "Analyst": "analyst"}
RULES = WorkerRules(roles=ROLES)


def rows() -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "raas_workers.json").read_text())["Report_Entry"]


def test_an_active_row_becomes_worker_upserted_with_role_from_the_job_profile() -> None:
    [m] = map_worker(rows()[0], RULES)
    assert m.etype == "worker.upserted" and m.subject == "worker/WD-21001"
    assert m.data == {
        "worker_id": "WD-21001", "name": "Ada Brennan",
        "email": "ada.brennan@northwind.example", "role": "senior_consultant",
        "legal_entity": "US01", "cost_rate": {"amount": "92.50", "currency": "USD"},
        "status": "active", "hire_date": "2023-03-01", "effective_date": "2025-01-01",
        "cost_center": "CC-410", "location": "New York", "skills": ["Data Migration", "SQL"]}
    assert m.sequence == 1735924500000  # the entry moment 2025-01-03T17:15:00Z in ms


def test_a_terminated_row_gives_the_upserted_version_and_worker_terminated_after_it() -> None:
    upserted, terminated = map_worker(rows()[1], RULES)
    assert upserted.data["status"] == "terminated"
    assert upserted.data["cost_rate"] == {"amount": "61.00", "currency": "GBP"}  # JSON number
    assert terminated.etype == "worker.terminated"
    assert terminated.data == {"worker_id": "WD-21002", "termination_date": "2025-05-31",
                               "reason": "Resignation"}
    assert terminated.sequence > upserted.sequence
    assert upserted.sequence == 1748649600000  # no entry moment: the termination date


def test_an_unmapped_job_profile_is_refused_naming_the_worker() -> None:
    with pytest.raises(MappingError) as caught:
        map_worker(rows()[2], RULES)
    assert caught.value.record_id == "WD-21003"
    assert "'Solution Architect' is not mapped" in str(caught.value)


def test_events_validate_and_the_bad_row_is_a_refusal_kept_raw() -> None:
    events, refusals = to_events(rows(), RULES, "workday/hr")
    assert [e["type"] for e in events] == ["worker.upserted", "worker.upserted",
                                           "worker.terminated"]
    assert all(validate_event(e) == [] for e in events)
    [refused] = refusals
    assert "WD-21003" in refused.reason and "Solution Architect" in refused.raw


def test_the_event_id_is_stable_for_unchanged_content_and_new_for_a_change() -> None:
    row = rows()[0]
    first = map_worker(row, RULES)[0].event_id
    assert map_worker(dict(row), RULES)[0].event_id == first
    raised = dict(row, Cost_Rate="95.00")
    assert map_worker(raised, RULES)[0].event_id != first


def test_the_sequence_grows_with_the_effective_date_without_an_entry_moment() -> None:
    row = {k: v for k, v in rows()[0].items() if k != "Last_Updated_Moment"}
    before = map_worker(row, RULES)[0].sequence
    after = map_worker(dict(row, Cost_Rate_Effective_Date="2025-07-01"), RULES)[0].sequence
    assert after > before


@pytest.mark.parametrize(("change", "reason"), [
    ({"Cost_Rate": None}, "missing Cost_Rate"),
    ({"Cost_Rate": "ninety"}, "cost rate 'ninety' is not a number"),
    ({"Worker_Status": "Retired"}, "worker status 'Retired' is not mapped"),
    ({"Hire_Date": "03/01/2023"}, "hire_date '03/01/2023' is not a date"),
    ({"Worker_Status": "Terminated"}, "terminated without a termination date"),
])
def test_bad_values_are_refused_with_the_reason(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(MappingError, match=reason):
        map_worker(dict(rows()[0], **change), RULES)


def test_a_firm_field_map_renames_columns() -> None:
    rules = WorkerRules(roles=ROLES, fields=dict(RULES.fields, worker_id="Worker_ID",
                                                 cost_rate="Hourly_Cost"))
    row = dict(rows()[0], Worker_ID="E-7", Hourly_Cost="100")
    [m] = map_worker(row, rules)
    assert m.data["worker_id"] == "E-7" and m.data["cost_rate"]["amount"] == "100.00"


def test_rest_items_are_read_by_paths_and_refused_without_a_cost_rate() -> None:
    item = json.loads((FIXTURES / "rest_workers_page.json").read_text())["data"][0]
    with pytest.raises(MappingError) as caught:
        map_worker(item, WorkerRules(roles=ROLES, fields=REST_FIELDS))
    assert caught.value.record_id == "3aa5550b7fe348b98d7b5741afc65534"
    assert "Cost_Rate" in caught.value.reason and "Job_Profile" not in caught.value.reason
    enriched = dict(item, Company_Reference_ID="US01", Cost_Rate="92.50",
                    Cost_Rate_Currency="USD", Worker_Status="Active", Hire_Date="2023-03-01")
    [m] = map_worker(enriched, WorkerRules(roles=ROLES, fields=REST_FIELDS))
    assert m.data["role"] == "senior_consultant" and m.data["location"] == "New York"
