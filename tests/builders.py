"""Builders of CloudEvents that read like the business: a deal, a worker, a timesheet line."""

from __future__ import annotations

import itertools
from typing import Any

_ids = itertools.count(1)


def event(type_: str, subject: str, data: dict[str, Any], *, source: str = "test/suite",
          sequence: int = 1, time: str = "2026-01-05T10:00:00Z", id_: str | None = None
          ) -> dict[str, Any]:
    return {"specversion": "1.0", "id": id_ or f"evt-{next(_ids)}", "source": source,
            "type": type_, "subject": subject, "time": time, "sequence": sequence,
            "datacontenttype": "application/json", "correlationid": subject, "data": data}


def deal(deal_id: str = "D-1", *, number: str = "C-1", project: str = "P-1",
         billing_type: str = "time_and_materials", entity: str | None = "US01",
         tax: str | None = "US-EXEMPT", currency: str = "USD", rates: list[Any] | None = None,
         milestones: list[Any] | None = None, amount: str | None = None,
         time: str = "2026-01-02T09:00:00Z") -> dict[str, Any]:
    line: dict[str, Any] = {"line_id": "L1", "kind": billing_type, "description": "Services"}
    if amount:
        line["amount"] = amount
    data: dict[str, Any] = {
        "deal_id": deal_id, "customer": {"external_id": f"ACC-{deal_id}", "name": "Acme Corp",
                                         "country": "US"},
        "legal_entity": entity, "tax_profile": tax, "currency": currency,
        "contract": {"number": number, "start_date": "2026-01-01", "end_date": "2026-12-31",
                     "billing_type": billing_type, "payment_terms_days": 30},
        "lines": [line], "rates": rates if rates is not None else [
            {"role": "consultant", "rate": "200.00"}],
        "milestones": milestones or [],
        "project": {"code": project, "name": "ERP rollout", "template": "implementation"},
    }
    return event("deal.closed_won", f"deal/{deal_id}", data, source="crm/salesforce", time=time)


def worker(worker_id: str = "W-1", *, role: str = "consultant", cost: str = "80.00",
           sequence: int = 1, effective: str = "2025-01-01", entity: str = "US01",
           currency: str = "USD") -> dict[str, Any]:
    return event("worker.upserted", f"worker/{worker_id}", {
        "worker_id": worker_id, "name": "Ada Lovelace", "role": role, "legal_entity": entity,
        "cost_rate": {"amount": cost, "currency": currency}, "status": "active",
        "effective_date": effective}, source="hris/workday", sequence=sequence)


def time_entry(entry_id: str, *, worker_id: str = "W-1", project: str = "P-1",
               hours: str = "8", day: str = "2026-01-05", role: str = "consultant",
               status: str = "approved", task: str = "1") -> dict[str, Any]:
    return event("time.approved", f"time/{entry_id}", {
        "time_entry_id": entry_id, "worker_id": worker_id, "project_code": project,
        "task_code": task, "work_date": day, "hours": hours, "role": role,
        "approval_status": status}, source="psa/kantata", time=f"{day}T18:00:00Z")


def rejection(entry_id: str, *, sequence: int = 2) -> dict[str, Any]:
    return event("time.rejected", f"time/{entry_id}", {"time_entry_id": entry_id,
                                                       "reason": "wrong project"},
                 source="psa/kantata", sequence=sequence, time="2026-01-09T10:00:00Z")
