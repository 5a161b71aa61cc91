"""The clean stream: deterministic, schema-valid, and shaped like a real consulting firm."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from syncline.domain.reference import DEFAULT_REFERENCE
from syncline.schemas import validate_event
from syncline.simulator import Simulation, SimulationConfig, end_of_stream, simulate


def _events(sim: Simulation) -> list[dict[str, Any]]:
    return [e for e in sim.events if isinstance(e, dict)]


def _of(sim: Simulation, etype: str) -> list[dict[str, Any]]:
    return [e for e in _events(sim) if e["type"] == etype]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_same_config_gives_the_same_bytes_and_another_seed_does_not(clean: Simulation) -> None:
    assert simulate(SimulationConfig()).to_jsonl() == clean.to_jsonl()
    assert simulate(SimulationConfig(seed=8)).to_jsonl() != clean.to_jsonl()


def test_output_does_not_depend_on_the_interpreter_hash_seed() -> None:
    code = ("import hashlib; from syncline.simulator import simulate, SimulationConfig as C; "
            "print(hashlib.sha256(simulate(C(customers=3, workers=6, months=2, "
            "data_faults=True, delivery_faults=True)).to_jsonl().encode()).hexdigest())")
    digests = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={"PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1


def test_every_clean_event_validates(clean: Simulation) -> None:
    problems = {e["id"]: validate_event(e) for e in _events(clean)}
    assert {k: v for k, v in problems.items() if v} == {}
    assert all(isinstance(e, dict) for e in clean.events)
    assert clean.faults == ()


def test_envelope_conventions(clean: Simulation) -> None:
    sources = {"deal": "crm/salesforce", "worker": "hris/workday", "time": "psa/kantata",
               "milestone": "psa/kantata", "expense": "psa/kantata",
               "rate_card": "psa/kantata", "project": "psa/kantata", "fx": "erp/netsuite"}
    ids = [e["id"] for e in _events(clean)]
    assert len(ids) == len(set(ids))
    for e in _events(clean):
        kind, _, key = e["subject"].partition("/")
        assert e["source"] == sources[kind]
        assert e["time"].endswith("Z") and e["datacontenttype"] == "application/json"
        if kind in ("worker", "rate_card"):
            assert e["correlationid"] == key
        elif kind == "fx":
            assert e["correlationid"] == f"fx/{e['data']['as_of']}"
        else:
            assert e["correlationid"].startswith("OPP-")
    lines = clean.to_jsonl().splitlines()
    assert len(lines) == len(clean.events)
    assert json.loads(lines[0]) == clean.events[0]


def test_stream_is_in_time_order_and_sequences_count_up(clean: Simulation) -> None:
    times = [_at(e["time"]) for e in _events(clean)]
    assert times == sorted(times)
    by_subject: dict[str, list[int]] = defaultdict(list)
    for e in _events(clean):
        by_subject[e["subject"]].append(e["sequence"])
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in by_subject.values())
    assert end_of_stream(clean) == times[-1]


def test_default_size_volumes_and_speed() -> None:
    started = time.perf_counter()
    sim = simulate(SimulationConfig())
    elapsed = time.perf_counter() - started
    counts = Counter(e["type"] for e in _events(sim))
    assert 2000 <= counts["time.approved"] <= 8000
    assert 0 < counts["time.rejected"] < counts["time.approved"] * 0.05
    assert counts["deal.closed_won"] >= 12
    assert counts["worker.upserted"] > 30  # 30 workers, and some raises
    assert 1 <= counts["worker.terminated"] <= 2
    assert counts["milestone.completed"] >= 1
    assert elapsed < 5


def test_workers_pyramid_entities_and_raises(clean: Simulation) -> None:
    start = clean.config.start
    firsts = [e["data"] for e in _of(clean, "worker.upserted") if e["sequence"] == 1]
    roles = Counter(w["role"] for w in firsts)
    assert roles["partner"] < roles["manager"] < roles["analyst"] + roles["consultant"]
    assert Counter(w["legal_entity"] for w in firsts).most_common(1)[0][0] == "US01"
    for w in firsts:
        entity = DEFAULT_REFERENCE.entity(w["legal_entity"])
        assert entity is not None and w["cost_rate"]["currency"] == entity.functional_currency
        assert date.fromisoformat(w["effective_date"]) <= start
    raises = [e for e in _of(clean, "worker.upserted") if e["sequence"] == 2]
    assert raises
    for e in raises:
        effective = date.fromisoformat(e["data"]["effective_date"])
        assert effective.day == 1 and _at(e["time"]).date() < effective


def test_deals_are_consistent_with_their_legal_entity(clean: Simulation) -> None:
    profiles = {"US01": {"US-EXEMPT", "US-NY-SVC"}, "GB01": {"GB-VAT-STD"},
                "DE01": {"DE-VAT-STD", "EU-REVERSE"}}
    kinds: Counter[str] = Counter()
    for e in _of(clean, "deal.closed_won"):
        d = e["data"]
        entity = DEFAULT_REFERENCE.entity(d["legal_entity"])
        assert entity is not None
        # in the entity's currency, or (some time-and-materials deals) the foreign one
        foreign = {"USD": "EUR", "GBP": "USD", "EUR": "USD"}[entity.functional_currency]
        assert d["currency"] == entity.functional_currency or (
            d["currency"] == foreign and d["contract"]["billing_type"] == "time_and_materials")
        assert d["tax_profile"] in profiles[entity.code]
        assert DEFAULT_REFERENCE.template(d["project"]["template"]) is not None
        assert e["time"] == d["closed_at"]
        assert d["contract"]["start_date"] > d["closed_at"][:10]
        kinds[d["contract"]["billing_type"]] += 1
        line = d["lines"][0]
        assert (line.get("amount") is None) == (line["kind"] == "time_and_materials")
    assert set(kinds) == {"time_and_materials", "fixed_fee", "retainer"}


def test_fixed_fee_milestones_sum_to_the_fee(clean: Simulation) -> None:
    fixed = [e["data"] for e in _of(clean, "deal.closed_won")
             if e["data"]["contract"]["billing_type"] == "fixed_fee"]
    assert fixed
    for d in fixed:
        assert 2 <= len(d["milestones"]) <= 4
        total = sum((Decimal(m["amount"]) for m in d["milestones"]), Decimal(0))
        assert total == Decimal(d["lines"][0]["amount"])


def test_milestones_complete_for_known_fixed_fee_projects(clean: Simulation) -> None:
    milestones = {m["milestone_id"]: (e["data"]["project"]["code"], e["time"])
                  for e in _of(clean, "deal.closed_won") for m in e["data"].get("milestones", ())}
    for e in _of(clean, "milestone.completed"):
        project, deal_time = milestones[e["data"]["milestone_id"]]
        assert e["data"]["project_code"] == project
        assert e["data"]["evidence"]["accepted_by"]
        assert e["time"] > deal_time


def test_no_time_before_the_deal_or_outside_the_contract(clean: Simulation) -> None:
    deals = {e["data"]["project"]["code"]: e for e in _of(clean, "deal.closed_won")}
    for e in _of(clean, "time.approved"):
        t = e["data"]
        deal = deals[t["project_code"]]
        contract = deal["data"]["contract"]
        assert t["work_date"] > deal["time"][:10]
        assert e["time"] > deal["time"]
        assert contract["start_date"] <= t["work_date"] <= contract["end_date"]
        assert e["correlationid"] == deal["data"]["deal_id"]


def test_no_time_after_a_workers_termination(clean: Simulation) -> None:
    last_day = {e["data"]["worker_id"]: e["data"]["termination_date"]
                for e in _of(clean, "worker.terminated")}
    assert last_day
    booked = [e["data"] for e in _of(clean, "time.approved")
              if e["data"]["worker_id"] in last_day]
    assert booked
    assert all(t["work_date"] <= last_day[t["worker_id"]] for t in booked)


def test_timesheets_look_like_timesheets(clean: Simulation) -> None:
    workers = {e["data"]["worker_id"]: e["data"]["role"] for e in _of(clean, "worker.upserted")}
    deals = {e["data"]["project"]["code"]: e["data"] for e in _of(clean, "deal.closed_won")}
    per_day: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    projects_per_day: dict[tuple[str, str], set[str]] = defaultdict(set)
    internal = 0
    times = _of(clean, "time.approved")
    for e in times:
        t = e["data"]
        template = DEFAULT_REFERENCE.template(deals[t["project_code"]]["project"]["template"])
        assert template is not None
        task = next(task for task in template.tasks if task.code == t["task_code"])
        assert t["billable"] == task.billable
        internal += not task.billable
        assert t["role"] == workers[t["worker_id"]]
        assert t["approval_status"] == "approved"
        assert e["time"] == t["approved_at"]
        assert date.fromisoformat(t["work_date"]).weekday() < 5
        assert _at(e["time"]).date() > date.fromisoformat(t["work_date"]) or (
            _at(e["time"]).date().weekday() == 4)
        hours = Decimal(t["hours"])
        assert hours % Decimal("0.25") == 0 and hours > 0
        per_day[(t["worker_id"], t["work_date"])] += hours
        projects_per_day[(t["worker_id"], t["work_date"])].add(t["project_code"])
        deal_entity = deals[t["project_code"]]["legal_entity"]
        assert deal_entity is not None
    assert all(Decimal(6) <= h <= Decimal(9) for h in per_day.values())
    assert all(1 <= len(p) <= 2 for p in projects_per_day.values())
    assert 0 < internal < len(times) * 0.1


def test_rejections_follow_their_approval(clean: Simulation) -> None:
    approved = {e["subject"]: e for e in _of(clean, "time.approved")}
    rejected = _of(clean, "time.rejected")
    assert rejected
    for e in rejected:
        assert e["sequence"] == 2 and e["data"]["reason"]
        assert e["time"] > approved[e["subject"]]["time"]


def test_tiny_and_empty_firms_do_not_break() -> None:
    for config in (SimulationConfig(customers=1, workers=1, months=1),
                   SimulationConfig(customers=0, workers=0, months=1, data_faults=True,
                                    delivery_faults=True),
                   SimulationConfig(customers=2, workers=3, months=2, data_faults=True,
                                    delivery_faults=True)):
        sim = simulate(config)
        events = list(sim.clean_events())
        # even an empty firm publishes its rate cards and month-end FX rates
        assert {e["type"] for e in events} >= {"rate_card.published", "fx.rates_published"}
        assert {e["id"]: validate_event(e) for e in events if validate_event(e)} == {}


def test_expenses_and_billing_terms_look_like_an_engagement(clean: Simulation) -> None:
    deals = {e["data"]["project"]["code"]: e["data"] for e in _of(clean, "deal.closed_won")}
    policies = Counter(d["billing_terms"]["expenses"]["policy"] for d in deals.values())
    assert set(policies) <= {"at_cost", "markup", "not_billable"} and len(policies) >= 2
    expenses = [e["data"] for e in _of(clean, "expense.approved")]
    assert {"travel", "lodging", "meals"} <= {x["category"] for x in expenses}
    for x in expenses:
        deal = deals[x["project_code"]]
        assert x["amount"]["currency"] == deal["currency"]  # as converted by the PSA
        assert deal["contract"]["start_date"] <= x["incurred_on"] <= deal["contract"]["end_date"]
    rejected = _of(clean, "expense.rejected")
    assert 0 < len(rejected) < len(expenses) * 0.1
