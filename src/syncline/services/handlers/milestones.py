"""milestone.completed: mark the contract milestone with its acceptance evidence (who accepted
it, the evidence documents), and bill it on a fixed-fee contract. A newer message of a
completed milestone (a higher sequence) replaces its evidence, nothing else."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select, update

from syncline.adapters.db.tables import (
    milestones,
)
from syncline.billing.items import milestone_item
from syncline.domain.errors import BusinessDomain, Missing, Problem
from syncline.domain.model import BillingType, EvidenceDocument
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


def evidence_json(accepted_by: str, documents: Iterable[EvidenceDocument]) -> str:
    """The milestone's evidence as stored: who accepted it and its documents, each once, in a
    fixed order (by name, URL, id)."""
    docs = {json.dumps(d.as_dict(), sort_keys=True): d.as_dict() for d in documents}
    ordered = sorted(docs.values(), key=lambda d: (d.get("name", ""), d.get("url", ""),
                                                   d.get("document_id", "")))
    return json.dumps({"accepted_by": accepted_by, "documents": ordered}, sort_keys=True)


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
    evidence = evidence_json(cmd.accepted_by, cmd.documents)
    if row.completed_on:
        # a newer message of the milestone (an older one is stale before it gets here): its
        # evidence is the PSA's current list, kept in place of the one before
        if evidence != row.evidence:
            b.conn.execute(update(milestones).where(milestones.c.id == row.id).values(
                evidence=evidence))
        return Applied(note="milestone already completed")
    b.conn.execute(update(milestones).where(milestones.c.id == row.id).values(
        completed_on=cmd.completed_on.isoformat(), accepted_by=cmd.accepted_by,
        evidence=evidence))
    if proj.billing_type == BillingType.FIXED_FEE.value:
        insert_item(b, milestone_item(cmd.milestone_id, row.name, proj.number,
                                       cmd.completed_on, Money(row.amount, proj.currency)))
    return Applied(provides=(f"milestone:{cmd.milestone_id}",))
