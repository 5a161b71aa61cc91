"""milestone.completed: mark the contract milestone with its acceptance evidence (who accepted
it, the evidence documents), and bill it on a fixed-fee contract. A newer message of a
completed milestone (a higher sequence) replaces its evidence, nothing else."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import bindparam, select, update

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

# Built once (a milestone message runs them).
_MILESTONE = select(milestones).where((milestones.c.milestone_id == bindparam("b_milestone"))
                                      & (milestones.c.contract_id == bindparam("b_contract")))
_EVIDENCE = update(milestones).where(milestones.c.id == bindparam("b_id")).values(
    evidence=bindparam("b_evidence"))
_COMPLETED = _EVIDENCE.values(completed_on=bindparam("b_on"),
                              accepted_by=bindparam("b_accepted_by"))


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
    row = b.conn.execute(_MILESTONE, {"b_milestone": cmd.milestone_id,
                                      "b_contract": proj.contract_id}).first()
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
            b.conn.execute(_EVIDENCE, {"b_id": row.id, "b_evidence": evidence})
        return Applied(note="milestone already completed")
    b.conn.execute(_COMPLETED, {"b_id": row.id, "b_on": cmd.completed_on.isoformat(),
                                "b_accepted_by": cmd.accepted_by, "b_evidence": evidence})
    if proj.billing_type == BillingType.FIXED_FEE.value:
        insert_item(b, milestone_item(cmd.milestone_id, row.name, proj.number,
                                       cmd.completed_on, Money(row.amount, proj.currency)))
    return Applied(provides=(f"milestone:{cmd.milestone_id}",))
