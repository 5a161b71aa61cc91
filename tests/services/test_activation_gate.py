"""project.activated gates a project's money flows when the firm requires it (master data
``project_activation: required``): time, expenses and milestones of a project the PSA has
not activated park on ``activation:<code>`` and apply when the activation does; a firm that
does not require it (the default, and the demo) books them as soon as the project exists."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from sqlalchemy import select

from syncline.adapters.db.tables import billable_items, parked
from syncline.bootstrap import Syncline
from syncline.domain.masterdata import reference_from_dict, reference_to_dict
from syncline.domain.reference import DEFAULT_REFERENCE
from syncline.services.masterdata import set_master_data
from syncline.services.messaging.exceptions import list_exceptions
from tests.builders import deal, event, time_entry, worker
from tests.services.test_billing_wiring import expense
from tests.services.test_master_data_events import activation, ingest


def require_activation(system: Syncline) -> None:
    doc = copy.deepcopy(reference_to_dict(DEFAULT_REFERENCE))
    doc["project_activation"] = "required"
    with system.engine.begin() as conn:
        set_master_data(conn, doc, actor="test", source="test", now=system.clock(),
                        seed=DEFAULT_REFERENCE)


def milestone() -> dict[str, object]:
    return event("milestone.completed", "milestone/M-1", {
        "milestone_id": "M-1", "project_code": "P-2", "completed_on": "2026-01-20",
        "evidence": {"accepted_by": "CFO"}}, source="psa/kantata")


def flows(system: Syncline) -> None:
    ingest(system, deal(), worker(),
           deal("D-2", number="C-2", project="P-2", billing_type="fixed_fee", amount="10000",
                milestones=[{"milestone_id": "M-1", "name": "Design", "amount": "4000"}]),
           time_entry("T-1"), expense("EX-1", "120.00"), milestone())


def items(system: Syncline) -> list[str]:
    with system.engine.connect() as conn:
        return sorted(conn.execute(select(billable_items.c.key)).scalars())


def waiting(system: Syncline) -> list[tuple[str, str]]:
    with system.engine.connect() as conn:
        return sorted((p.prerequisite, p.reason.split(" waits")[0]) for p in conn.execute(
            select(parked).where(parked.c.released_at.is_(None))))


def test_nothing_moves_before_activation_then_everything_does(system: Syncline) -> None:
    require_activation(system)
    flows(system)
    assert items(system) == []
    assert waiting(system) == [("activation:P-1", "expense EX-1"),
                               ("activation:P-1", "time entry T-1"),
                               ("activation:P-2", "milestone M-1")]
    ingest(system, activation())  # P-1: billing rule and legal entity approved
    assert items(system) == ["expense:EX-1", "time:T-1"]
    assert waiting(system) == [("activation:P-2", "milestone M-1")]
    ingest(system, activation("P-2", template="implementation", customer_key="ACC-D-2"))
    assert items(system) == ["expense:EX-1", "milestone:M-1", "time:T-1"]
    with system.engine.connect() as conn:
        assert list_exceptions(conn) == []


def test_a_refused_activation_keeps_the_flows_parked_and_the_park_age_tells_pmo(
        system: Syncline) -> None:
    require_activation(system)
    ingest(system, deal(), worker(), time_entry("T-1"), activation(entity="GB01"))
    assert items(system) == []
    system.sweep(as_of=datetime(2026, 3, 1, tzinfo=UTC))  # past the park age
    with system.engine.connect() as conn:
        found = {e.code: e for e in list_exceptions(conn)}
    assert set(found) == {"project.mismatch", "parked.activation_missing"}
    assert found["parked.activation_missing"].domain == "pmo"
    assert "waits for activation P-1" in found["parked.activation_missing"].message


def test_a_firm_that_does_not_require_activation_books_at_once(system: Syncline) -> None:
    flows(system)
    assert items(system) == ["expense:EX-1", "milestone:M-1", "time:T-1"]


def test_the_master_data_flag_round_trips_and_refuses_other_values() -> None:
    doc = reference_to_dict(DEFAULT_REFERENCE)
    assert "project_activation" not in doc  # the default firm's document is unchanged
    required = reference_from_dict(doc | {"project_activation": "required"})
    assert not isinstance(required, tuple) and required.activation_required
    assert reference_to_dict(required)["project_activation"] == "required"
    wrong = reference_from_dict(doc | {"project_activation": "sometimes"})
    assert isinstance(wrong, tuple) and wrong[0].where == "project_activation"


def test_an_activation_stating_another_billing_rule_is_a_mismatch(system: Syncline) -> None:
    require_activation(system)
    stated = activation()
    stated["data"]["billing_type"] = "fixed_fee"  # the deal's contract is time and materials
    ingest(system, deal(), worker(), time_entry("T-1"), stated)
    with system.engine.connect() as conn:
        (exc,) = list_exceptions(conn)
    assert exc.code == "project.mismatch" and "billing type 'fixed_fee'" in exc.message
    assert items(system) == []
    agreed = activation(sequence=2)
    agreed["data"]["billing_type"] = "time_and_materials"
    ingest(system, agreed)
    assert items(system) == ["time:T-1"]


def test_time_and_activation_before_the_deal_apply_once_the_deal_comes(
        system: Syncline) -> None:
    require_activation(system)
    ingest(system, worker(), time_entry("T-1"), activation())  # both wait for project:P-1
    assert items(system) == []
    ingest(system, deal())
    assert items(system) == ["time:T-1"]
    assert waiting(system) == []
