"""project.activated: the PSA activated the project of a won deal; the project becomes
active and keeps its start date, legal entity and dimensions (``project_profiles``). It is
the approval of the project's billing rule and legal entity: a firm whose master data says
``project_activation: required`` holds the project's time, expenses and milestones until it
applies (handlers/common.awaiting_activation; released on ``activation:<code>``).

The project is opened by its deal (deals.py, with its WBS from the template): an activation
that arrives first waits, parked on ``project:<code>``, and is released when the deal is
applied. Template, legal entity and dimensions must be the firm's and active
(master_checks); the template, legal entity, customer and (when stated) billing type must
be the deal's (``project.mismatch``: the PSA and the CRM disagree, a person decides which is
right).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update

from syncline.adapters.db.masterdata_tables import project_profiles
from syncline.adapters.db.tables import contracts, customers, projects
from syncline.domain.errors import BusinessDomain, Missing, Problem
from syncline.domain.master_checks import ActivateProject, parse_project_activation
from syncline.services.clock import iso
from syncline.services.messaging.outcomes import Applied, Failed, Outcome, Parked
from syncline.services.messaging.unit_of_work import Batch

_PROJECT = (select(projects.c.id, projects.c.template, contracts.c.entity_code,
                   contracts.c.number, contracts.c.billing_type,
                   customers.c.external_id.label("customer_key"))
            .join(contracts, contracts.c.id == projects.c.contract_id)
            .join(customers, customers.c.id == contracts.c.customer_id))


def _mismatch(cmd: ActivateProject, row: Any) -> Problem | None:
    differ = [f"{what} {said!r} (the deal's contract {row.number} has {has!r})"
              for what, said, has in (("template", cmd.template, row.template),
                                      ("legal entity", cmd.entity_code, row.entity_code),
                                      ("customer", cmd.customer_external_id, row.customer_key),
                                      ("billing type", cmd.billing_type or row.billing_type,
                                       row.billing_type))
              if said != has]
    if not differ:
        return None
    return Problem("project.mismatch", BusinessDomain.PMO,
                   f"project {cmd.code} activated with " + "; ".join(differ),
                   "Correct the project in the PSA (or amend the deal in the CRM) so both "
                   "agree, then replay this message.", "data",
                   objects=(("project", cmd.code), ("contract", row.number)))


def activate_project(b: Batch, data: Mapping[str, Any]) -> Outcome:
    cmd = parse_project_activation(data, b.ref)
    if isinstance(cmd, list):
        return Failed(tuple(cmd))
    row = b.conn.execute(_PROJECT.where(projects.c.code == cmd.code)).first()
    if row is None:
        return Parked(Missing(f"project:{cmd.code}", f"project {cmd.code} is not opened yet "
                              "(its deal has not been applied)"))
    problem = _mismatch(cmd, row)
    if problem is not None:
        return Failed((problem,))
    b.conn.execute(update(projects).where(projects.c.id == row.id).values(
        name=cmd.name, status="active"))
    profile = {"start_date": cmd.start_date.isoformat(), "entity_code": cmd.entity_code,
               "cost_center": cmd.cost_center, "service_line": cmd.service_line,
               "activated_at": iso(b.now)}
    known = b.conn.execute(select(project_profiles.c.project_id).where(
        project_profiles.c.project_id == row.id)).first()
    if known is None:
        b.conn.execute(project_profiles.insert().values(project_id=row.id, **profile))
    else:
        b.conn.execute(update(project_profiles).where(
            project_profiles.c.project_id == row.id).values(**profile))
    b._projects.pop(cmd.code, None)  # its cached row predates the activation
    return Applied(provides=(f"activation:{cmd.code}",))
