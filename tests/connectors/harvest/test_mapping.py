"""Harvest time entries → canonical time events (mapping.py): the rules, one test each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from syncline.connectors.harvest.mapping import (
    Person,
    TimeRules,
    directory,
    hours,
    is_approved,
    map_approved,
)
from syncline.connectors.sdk.errors import MappingError

FIXTURES = Path(__file__).parents[2] / "fixtures" / "harvest"
HR = {"WD-1": Person("WD-1", "consultant", "worker WD-1"),
      "email:kim.allen@northwind.example": Person("WD-1", "consultant", "worker WD-1")}
PROJECTS = {"14307913": "P-1001", "14308069": ""}


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def entries() -> list[dict[str, Any]]:
    return load("time_entries")["time_entries"]


def people(**kw: Any) -> dict[str, Person]:
    args: dict[str, Any] = {"rule": "email", "hr": HR, "user_workers": {}, "user_roles": {}}
    return directory(load("users")["users"], **(args | kw))


def test_an_approved_entry_becomes_time_approved_data() -> None:
    data = map_approved(entries()[0], TimeRules(), people=people(), projects=PROJECTS)
    assert data == {
        "time_entry_id": "636709355", "worker_id": "WD-1", "project_code": "P-1001",
        "task_code": "Graphic Design", "work_date": "2024-06-03", "hours": "2.50",
        "approval_status": "approved", "billable": True, "role": "consultant",
        "approved_at": "2024-06-04T09:12:00Z", "notes": "Workshop"}


def test_hours_go_through_str_and_round_half_up_to_two_places() -> None:
    assert hours(1.005) == "1.01"  # float arithmetic would give 1.0 (1.00499999…)
    assert hours(2.675) == "2.68" and hours(8) == "8.00" and hours(0.1) == "0.10"
    with pytest.raises(ValueError):
        hours(None)


@pytest.mark.parametrize(("flags", "rule", "approved"), [
    ({"is_closed": True, "is_locked": True}, "is_closed", True),
    ({"is_closed": False, "is_locked": True}, "is_closed", False),  # locked: invoiced, say
    ({"is_closed": False, "is_locked": True}, "is_locked", True),
    ({"is_closed": True, "is_locked": False}, "is_locked", False),
    ({"is_closed": False, "is_locked": True}, "either", True),
    ({"is_closed": True, "is_locked": True, "is_running": True}, "either", False),
])
def test_which_flag_means_approved_is_configured(flags: dict[str, bool], rule: str,
                                                 approved: bool) -> None:
    assert is_approved(dict(entries()[0], **flags), TimeRules(approved_when=rule)) is approved


def test_a_user_unknown_to_hr_is_refused_naming_the_entry_and_the_user() -> None:
    with pytest.raises(MappingError) as caught:
        map_approved(entries()[0], TimeRules(), people=people(hr={}), projects=PROJECTS)
    assert caught.value.record_id == "636709355"
    assert "user 1782959 (Kim Allen) maps to no worker: a worker unknown to HR" in str(
        caught.value)


def test_a_project_without_a_code_is_refused() -> None:
    entry = dict(entries()[0], project={"id": 14308069, "name": "Internal"})
    with pytest.raises(MappingError, match=r"project 14308069 \(Internal\) has no code"):
        map_approved(entry, TimeRules(), people=people(), projects=PROJECTS)


def test_configured_user_mapping_and_role_win_over_hr() -> None:
    found = people(user_workers={"1782959": "WD-9"}, user_roles={"1782959": "manager"})
    assert found["1782959"] == Person("WD-9", "manager", "user 1782959 (Kim Allen)")
    with_id = directory([dict(load("users")["users"][0], employee_id="WD-1")],
                        rule="employee_id", hr=HR, user_workers={}, user_roles={})
    assert with_id["1782959"].worker_id == "WD-1" and with_id["1782959"].role == "consultant"


def test_a_worker_without_a_role_is_refused() -> None:
    p = {"1782959": Person("WD-7", None, "user 1782959 (Kim Allen)")}
    with pytest.raises(MappingError, match=r"worker WD-7 .* has no role"):
        map_approved(entries()[0], TimeRules(), people=p, projects=PROJECTS)


def test_prefix_and_task_codes_and_rounded_hours_are_configured() -> None:
    rules = TimeRules(entry_prefix="TE-", task_codes={"Graphic Design": "DES"},
                      hours_field="rounded_hours")
    data = map_approved(dict(entries()[0], rounded_hours=2.75), rules, people=people(),
                        projects=PROJECTS)
    assert (data["time_entry_id"], data["task_code"], data["hours"]) == ("TE-636709355",
                                                                         "DES", "2.75")
