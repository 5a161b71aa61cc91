"""Delivery faults keep the content and break the order; data faults add one defect each."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from syncline.domain.reference import DEFAULT_REFERENCE
from syncline.ledger.money import is_known_currency
from syncline.schemas import validate_event
from syncline.simulator import FAULT_KINDS, Simulation, SimulationConfig, simulate


def _content(sim: Simulation) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for e in sim.events:
        assert isinstance(e, dict)
        text = json.dumps(e, sort_keys=True)
        assert out.setdefault((e["source"], e["id"]), text) == text
    return out


def _first_positions(sim: Simulation) -> dict[str, int]:
    return {e["id"]: i for i, e in reversed(list(enumerate(sim.events))) if isinstance(e, dict)}


def test_delivery_faults_keep_every_event_and_change_none(clean: Simulation,
                                                          delivered: Simulation) -> None:
    assert _content(delivered) == _content(clean)
    assert delivered.faults == ()
    assert delivered.clean_events() != clean.events  # same events, another order
    assert sorted(e["id"] for e in delivered.clean_events()) == sorted(
        e["id"] for e in clean.events if isinstance(e, dict))


def test_delivery_faults_resend_some_events(delivered: Simulation, clean: Simulation) -> None:
    ids = Counter((e["source"], e["id"]) for e in delivered.events if isinstance(e, dict))
    duplicated = sum(n - 1 for n in ids.values())
    assert 0.02 * len(clean.events) < duplicated < 0.1 * len(clean.events)


def test_delivery_faults_break_order_the_ways_a_processor_must_survive(
        delivered: Simulation) -> None:
    first = _first_positions(delivered)
    events = [e for e in delivered.events if isinstance(e, dict)]
    # A subject's later sequence delivered before an earlier one: worker raises and rejections.
    by_subject: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_subject.setdefault(e["subject"], []).append(e)
    inverted = {s for s, es in by_subject.items()
                if any(a["sequence"] > b["sequence"] and first[a["id"]] < first[b["id"]]
                       for a in es for b in es)}
    assert any(s.startswith("worker/") for s in inverted)
    assert any(s.startswith("time/") for s in inverted)
    # Time delivered before its deal, and before its worker.
    deal_at = {e["data"]["deal_id"]: first[e["id"]] for e in events
               if e["type"] == "deal.closed_won"}
    worker_at = {e["data"]["worker_id"]: first[e["id"]] for e in events
                 if e["type"] == "worker.upserted" and e["sequence"] == 1}
    times = [e for e in events if e["type"] == "time.approved"]
    assert any(first[t["id"]] < deal_at[t["correlationid"]] for t in times)
    assert any(first[t["id"]] < worker_at[t["data"]["worker_id"]] for t in times)


def test_data_faults_add_a_manifest_of_every_kind(clean: Simulation, faulty: Simulation) -> None:
    kinds = Counter(f.kind for f in faulty.faults)
    assert set(kinds) == set(FAULT_KINDS)
    assert all(2 <= n <= 3 for n in kinds.values())
    domains = {"missing_legal_entity": "finance", "missing_tax_profile": "finance",
               "unknown_currency": "finance", "unapproved_time": "pmo",
               "unknown_project": "pmo", "terminated_worker_time": "hr",
               "malformed_payload": "it", "malformed_json": "it",
               "expense_without_fx_rate": "finance", "time_on_closed_project": "billing"}
    outcomes = {"unknown_project": "parked_then_exception", "malformed_payload": "rejected",
                "expense_without_fx_rate": "parked_then_exception",
                "malformed_json": "rejected"}
    for f in faulty.faults:
        assert f.domain == domains[f.kind] and f.note
        assert f.outcome == outcomes.get(f.kind, "exception")
        assert (f.event_id is None) == (f.kind == "malformed_json")
    # The clean events are all still there, unchanged.
    good = {e["id"]: e for e in faulty.clean_events()}
    assert good == {e["id"]: e for e in clean.events if isinstance(e, dict)}
    assert len(faulty.events) == len(clean.events) + len(faulty.faults)


def test_each_faulted_event_has_its_defect(clean: Simulation, faulty: Simulation) -> None:
    by_id = {e["id"]: e for e in faulty.events if isinstance(e, dict)}
    projects = {e["data"]["project"]["code"] for e in clean.events
                if isinstance(e, dict) and e["type"] == "deal.closed_won"}
    last_day = {e["data"]["worker_id"]: e["data"]["termination_date"] for e in clean.events
                if isinstance(e, dict) and e["type"] == "worker.terminated"}
    closed_on = {e["data"]["project_code"]: e["data"]["closed_on"] for e in clean.events
                 if isinstance(e, dict) and e["type"] == "project.closed"}
    for f in faulty.faults:
        if f.kind == "malformed_json":
            continue
        assert f.event_id is not None
        e = by_id[f.event_id]
        assert e["subject"] == f.subject
        if f.kind == "malformed_payload":
            assert validate_event(e) != []
            continue
        assert validate_event(e) == [], f  # the schema accepts it; validation must refuse it
        d = e["data"]
        if f.kind == "missing_legal_entity":
            assert not d.get("legal_entity") and d["tax_profile"]
        elif f.kind == "missing_tax_profile":
            assert d["legal_entity"] and not d.get("tax_profile")
        elif f.kind == "unknown_currency":
            assert not is_known_currency(d["currency"])
            assert DEFAULT_REFERENCE.entity(d["legal_entity"]) is not None and d["tax_profile"]
        elif f.kind == "unapproved_time":
            assert d["approval_status"] == "submitted" and d["project_code"] in projects
        elif f.kind == "unknown_project":
            assert d["approval_status"] == "approved" and d["project_code"] not in projects
        elif f.kind == "expense_without_fx_rate":
            assert d["amount"]["currency"] in ("CHF", "JPY", "SEK", "NOK")
            assert d["project_code"] in projects
        elif f.kind == "terminated_worker_time":
            assert d["work_date"] > last_day[d["worker_id"]] and d["project_code"] in projects
        elif f.kind == "time_on_closed_project":
            assert d["work_date"] > closed_on[d["project_code"]]
            assert d["work_date"] <= last_day.get(d["worker_id"], d["work_date"])


def test_raw_lines_are_not_json(faulty: Simulation) -> None:
    raw = [e for e in faulty.events if isinstance(e, str)]
    assert len(raw) == sum(f.kind == "malformed_json" for f in faulty.faults)
    for line in raw:
        assert "\n" not in line
        try:
            json.loads(line)
        except ValueError:
            continue
        raise AssertionError(f"{line!r} parses as JSON")
    jsonl = faulty.to_jsonl().splitlines()
    assert len(jsonl) == len(faulty.events) and set(raw) <= set(jsonl)


def test_fault_deals_have_nothing_booked_against_them(faulty: Simulation) -> None:
    fault_ids = {f.event_id for f in faulty.faults}
    events = [e for e in faulty.events if isinstance(e, dict)]
    bad_deals = {e["data"]["deal_id"] for e in events
                 if e["id"] in fault_ids and e["type"] == "deal.closed_won"}
    assert bad_deals
    assert not [e for e in events if e["correlationid"] in bad_deals
                and e["type"] != "deal.closed_won"]


def test_faults_do_not_change_the_clean_content_and_go_through_delivery(
        faulty: Simulation, both: Simulation) -> None:
    assert both.faults == faulty.faults
    firsts = {e["id"]: e for e in both.clean_events()}
    assert firsts == {e["id"]: e for e in faulty.clean_events()}
    assert Counter(e if isinstance(e, str) else e["id"] for e in both.events) != Counter(
        e if isinstance(e, str) else e["id"] for e in faulty.events)


def test_fault_counts_grow_mildly_with_size() -> None:
    big = simulate(SimulationConfig(customers=60, workers=150, months=2, data_faults=True))
    kinds = Counter(f.kind for f in big.faults)
    # two months are too short for a contract (3 months or more) to end: no project closes
    assert not any(isinstance(e, dict) and e["type"] == "project.closed" for e in big.events)
    assert set(kinds) == set(FAULT_KINDS) - {"time_on_closed_project"}
    assert all(4 <= n <= 7 for n in kinds.values())
