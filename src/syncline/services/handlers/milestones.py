"""milestone.completed: mark the contract milestone, and bill it on a fixed-fee contract."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update

from syncline.adapters.db.tables import (
    milestones,
)
from syncline.billing.items import milestone_item
from syncline.domain.errors import BusinessDomain, Missing, Problem
from syncline.domain.model import BillingType
from syncline.domain.parsing import (
    parse_milestone,
)
from syncline.ledger.money import Money
from syncline.services.handlers.common import (
    awaiting_activation,
    insert_item,
)
from syncline.services.messaging.outcomes import Applied, Failed, Outcome, Parked
from syncline.services.messaging.unit_of_work import Batch


def complete_milestone(b: Batch, data: Mapping[str, Any]) -> Outcome:
    cmd = parse_milestone(data)
    found = b.project(cmd.project_code)
    if found is None:
        return Parked(Missing(f"project:{cmd.project_code}",
                              f"project {cmd.project_code} is not provisioned yet"))
    proj, _ = found
    waiting = awaiting_activation(b, proj, f"milestone {cmd.milestone_id}")
    if waiting is not None:
        return Parked(waiting)
    row = b.conn.execute(select(milestones).where(
        (milestones.c.milestone_id == cmd.milestone_id)
        & (milestones.c.contract_id == proj.contract_id))).first()
    if row is None:
        return Failed((Problem(
            "milestone.unknown", BusinessDomain.PMO,
            f"milestone {cmd.milestone_id} is not on contract {proj.number}",
            "Link the PSA milestone to a contract milestone (CPQ) and replay.",
            "data.milestone_id", objects=(("milestone", cmd.milestone_id),)),))
    if row.completed_on:
        return Applied(note="milestone already completed")
    b.conn.execute(update(milestones).where(milestones.c.id == row.id).values(
        completed_on=cmd.completed_on.isoformat(), accepted_by=cmd.accepted_by))
    if proj.billing_type == BillingType.FIXED_FEE.value:
        insert_item(b, milestone_item(cmd.milestone_id, row.name, proj.number,
                                       cmd.completed_on, Money(row.amount, proj.currency)))
    return Applied(provides=(f"milestone:{cmd.milestone_id}",))
