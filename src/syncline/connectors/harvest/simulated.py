"""Canonical time data → the Harvest records the mapping reads back (a round trip).

For end-to-end tests and demos: a simulated firm's ``time.approved`` / ``time.rejected``
events (syncline.simulator) are applied to ``FakeHarvest`` in stream order — an approval
closes and locks the entry (``updated_at`` = ``approved_at``), a rejection reopens it
(``updated_at`` = ``rejected_at``) — creating the Harvest users (matched by the workers'
emails, or carrying the HR id as ``employee_id``), projects (``code`` = project_code) and
tasks (named by the task code) they need. Reading back gives the same data, except what
Harvest does not hold: ``approved_by``, and a rejection's own reason and ``rejected_by``.
Canonical entry ids must be ``entry_prefix`` + digits (the Harvest id).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from syncline.connectors.harvest.fake import FakeHarvest
from syncline.connectors.harvest.mapping import TimeRules


class HarvestLoader:
    def __init__(self, fake: FakeHarvest, rules: TimeRules, *, worker_rule: str = "email",
                 emails: Mapping[str, str] | None = None) -> None:
        self.fake, self.rules, self.worker_rule = fake, rules, worker_rule
        self.emails = dict(emails or {})
        self.users: dict[str, dict[str, Any]] = {}
        self.projects: dict[str, dict[str, Any]] = {}
        self.tasks: dict[str, int] = {}

    def load(self, events: Iterable[Mapping[str, Any]]) -> int:
        """Apply the time events (and learn emails from worker events); returns how many
        time events were applied."""
        count = 0
        for event in events:
            data = event.get("data") or {}
            if event.get("type") == "worker.upserted" and data.get("email"):
                self.emails[data["worker_id"]] = data["email"]
            elif event.get("type") == "time.approved":
                self.approved(data)
                count += 1
            elif event.get("type") == "time.rejected":
                self.rejected(data)
                count += 1
        return count

    def approved(self, data: Mapping[str, Any]) -> dict[str, Any]:
        user, project = self._user(data["worker_id"]), self._project(data["project_code"])
        entry = {
            "id": self.harvest_id(data["time_entry_id"]), "spent_date": data["work_date"],
            "hours": float(Decimal(data["hours"])),  # Harvest's wire format is a JSON float
            "rounded_hours": float(Decimal(data["hours"])), "notes": data.get("notes"),
            "is_locked": True, "locked_reason": "Item Approved and Locked for this Time Period",
            "is_closed": True, "is_billed": False, "is_running": False,
            "billable": bool(data.get("billable", True)),
            "user": {"id": user["id"], "name": f"{user['first_name']} {user['last_name']}"},
            "client": {"id": 5735776, "name": "Simulated clients"},
            "project": {"id": project["id"], "name": project["name"]},
            "task": {"id": self._task(data["task_code"]), "name": data["task_code"]},
            "created_at": data["approved_at"], "updated_at": data["approved_at"],
        }
        self.fake.put("time_entries", entry)
        return entry

    def rejected(self, data: Mapping[str, Any]) -> None:
        hid = self.harvest_id(data["time_entry_id"])
        entry = self.fake.records["time_entries"].get(hid)
        if entry is None:
            return  # never approved in Harvest: nothing to reopen
        entry |= {"is_closed": False, "is_locked": False, "locked_reason": None,
                  "updated_at": data["rejected_at"]}

    def harvest_id(self, time_entry_id: str) -> int:
        prefix = self.rules.entry_prefix
        digits = time_entry_id[len(prefix):]
        if not time_entry_id.startswith(prefix) or not digits.isdigit():
            raise ValueError(f"{time_entry_id!r} is not {prefix!r} + a Harvest id")
        return int(digits)

    def _user(self, worker_id: str) -> dict[str, Any]:
        if worker_id not in self.users:
            first, _, last = (self.emails.get(worker_id, worker_id).split("@")[0]
                              .replace(".", " ").title().partition(" "))
            user: dict[str, Any] = {
                "id": 1782000 + len(self.users), "first_name": first, "last_name": last,
                "email": self.emails.get(worker_id, f"{worker_id.lower()}@example.invalid"),
                "is_active": True, "is_contractor": False, "roles": [],
                "updated_at": "2026-01-01T00:00:00Z"}
            if self.worker_rule == "employee_id":
                user["employee_id"] = worker_id  # unconfirmed in the v2 API: see the docs
            self.users[worker_id] = user
            self.fake.put("users", user)
        return self.users[worker_id]

    def _project(self, code: str) -> dict[str, Any]:
        if code not in self.projects:
            project = {"id": 14307000 + len(self.projects), "name": f"Project {code}",
                       "code": code, "is_active": True, "is_billable": True,
                       "client": {"id": 5735776, "name": "Simulated clients"},
                       "updated_at": "2026-01-01T00:00:00Z"}
            self.projects[code] = project
            self.fake.put("projects", project)
        return self.projects[code]

    def _task(self, code: str) -> int:
        return self.tasks.setdefault(code, 8083000 + len(self.tasks))
