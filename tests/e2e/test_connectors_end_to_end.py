"""Issue 12's end-to-end evidence: a simulated firm whose deals live in (fake) Salesforce, whose
workers live in (fake) Workday and whose time lives in (fake) Harvest, read by the three
connectors as a firm would run them — a sync of each every simulated day — gives the same
contracts, billable items, invoices, credit notes, revenue schedules and journals as the same
firm fed as canonical events.

What the vendors do not hold goes in as canonical events in both runs (milestones, expenses,
rate cards, FX rates, amendments, project closes): the connectors are for what they read.
Harvest keeps no approver, so ``time_entries.approved_by`` is the one stored difference, and
it is not part of the business state compared here (services/state.canonical_state).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.connectors.harvest.fake import FakeHarvest
from syncline.connectors.harvest.mapping import TimeRules
from syncline.connectors.harvest.simulated import HarvestLoader
from syncline.connectors.registry import Wiring, build
from syncline.connectors.runs import run_stream
from syncline.connectors.salesforce.fake import FakeOrg, deal_records
from syncline.connectors.sdk.config import ConnectorConfig
from syncline.connectors.workday.fake import FakeWorkday
from syncline.connectors.workday.mapping import WorkerRules
from syncline.connectors.workday.simulated import worker_record
from syncline.services.billing.run import run_billing
from syncline.services.messaging.inbox import receive_many
from syncline.services.revenue.sync import recognize
from syncline.services.state import canonical_state
from syncline.simulator import SimulationConfig, end_of_stream, simulate
from tests.conftest import fixed_clock
from tests.connectors.salesforce.conftest import (
    FULL_FIELDS,
    FULL_LINE_FIELDS,
    INSTANCE,
    ORG_ID,
    full_settings,
    settings_block,
)
from tests.connectors.workday.test_roundtrip import JOB_PROFILES

pytestmark = pytest.mark.slow

VENDOR_TYPES = {"deal.closed_won", "worker.upserted", "worker.terminated", "time.approved",
                "time.rejected"}
CONFIG = SimulationConfig(seed=5, customers=4, workers=8, months=3)


def _system(path: Path) -> Syncline:
    return bootstrap(Settings(database_url=f"sqlite:///{path}"), clock=fixed_clock,
                     durable=False)


def _close_months(system: Syncline, sim: Any) -> dict[str, list[list[str]]]:
    system.process()
    system.sweep(as_of=end_of_stream(sim) + timedelta(hours=72))
    for month in range(1, CONFIG.months + 1):
        period = f"2026-{month:02d}"
        ledger = system.ledger  # as `syncline demo` runs a month
        run_billing(system.engine, period, system.ref, system.charts, fixed_clock(),
                    revenue_recognition="engine", rules=ledger.rules,
                    closed_period_policy=ledger.closed_period_policy)
        recognize(system.engine, period, system.charts, fixed_clock(), post_journals=True,
                  rules=ledger.rules, closed_period_policy=ledger.closed_period_policy,
                  functional=ledger.functional_currencies)
    with system.engine.connect() as conn:
        return canonical_state(conn)


class Vendors:
    """The three fakes, loaded as the firm works, and the three connectors reading them."""

    def __init__(self, system: Syncline, keypair: tuple[str, str]) -> None:
        self.system, self.now = system, datetime(2025, 12, 1, tzinfo=UTC)
        self.org = FakeOrg(instance_url=INSTANCE, org_id=ORG_ID, public_key=keypair[1],
                           client_secret="cs-secret", clock=lambda: self.now.timestamp())
        self.org.declare("Opportunity", "Syncline_Status__c", "Syncline_Status_Detail__c",
                         *(f for f in FULL_FIELDS.values() if "." not in f))
        self.org.declare("Account",
                         *(f[8:] for f in FULL_FIELDS.values() if f.startswith("Account.")))
        self.org.declare("OpportunityLineItem", *FULL_LINE_FIELDS.values())
        self.workday, self.harvest = FakeWorkday(), FakeHarvest()
        self.rules = WorkerRules(roles=JOB_PROFILES)
        self.latest: dict[str, dict[str, Any]] = {}
        self.loader = HarvestLoader(self.harvest, TimeRules(entry_prefix="TE-"))
        self.sf_settings = full_settings()
        env = {"SF_PRIVATE_KEY": keypair[0], "SF_RELAY_SECRET": "relay",
               "WD_PASS": "isu-pass", "HV": "pat-harvest"}

        def wiring(fake: Any) -> Wiring:
            return Wiring(transport=httpx.MockTransport(fake), sleep=lambda s: None,
                          clock=lambda: self.now, env=env, engine=system.engine)

        self.crm = build(ConnectorConfig("crm", "salesforce", settings_block()),
                         wiring(self.org))
        self.hr = build(ConnectorConfig("hr", "workday", {
            "host": "wd5-services1.workday.com", "tenant": "acme",
            "report_owner": "ISU_Syncline", "report_name": "Syncline_Workers",
            "username": "ISU_Syncline@acme", "password": "${env:WD_PASS}",
            "roles": JOB_PROFILES}), wiring(self.workday))
        self.time = build(ConnectorConfig("time", "harvest", {
            "account_id": "1234567", "token": "${env:HV}",
            "user_agent": "Syncline (qa@example.test)", "hr_source": "workday/hr",
            "entry_prefix": "TE-", "per_page": 50}), wiring(self.harvest))

    def put(self, event: dict[str, Any]) -> None:
        kind, data = event["type"], event["data"]
        if kind == "deal.closed_won":
            records = deal_records(data, self.sf_settings)
            stamp = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
            records["Opportunity"][0]["SystemModstamp"] = \
                stamp.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
            self.org.load(records)
        elif kind == "worker.upserted":
            self.latest[data["worker_id"]] = data
            self.workday.put(data["worker_id"], date.fromisoformat(data["effective_date"]),
                             worker_record(data, self.rules, entry_moment=event["time"]))
            self.loader.load([event])  # Harvest users are matched by the workers' e-mails
        elif kind == "worker.terminated":
            self.workday.put(data["worker_id"], date.fromisoformat(data["termination_date"]),
                             worker_record(self.latest[data["worker_id"]], self.rules,
                                           ending=data, entry_moment=event["time"]))
        else:
            self.loader.load([event])

    def sync(self, now: datetime) -> None:
        self.now = now
        for name, connector in (("crm", self.crm), ("hr", self.hr), ("time", self.time)):
            for stream in connector.streams():
                result = run_stream(self.system.engine, name, stream, clock=lambda: now)
                assert result.ok, result.error
                assert result.rejected == 0, result.rejected_reasons


@pytest.fixture(scope="module")
def keypair() -> tuple[str, str]:
    from tests.connectors.salesforce.conftest import keypair as make

    return make.__wrapped__()  # type: ignore[attr-defined, no-any-return]


def test_three_vendors_through_connectors_equal_the_canonical_feed(
        tmp_path: Path, keypair: tuple[str, str]) -> None:
    sim = simulate(CONFIG)
    events = sorted((e for e in sim.events if isinstance(e, dict)), key=lambda e: e["time"])

    canonical = _system(tmp_path / "canonical.db")
    with canonical.engine.begin() as conn:
        receive_many(conn, events, now=fixed_clock())
    want = _close_months(canonical, sim)

    through = _system(tmp_path / "connectors.db")
    vendors = Vendors(through, keypair)
    day: str | None = None
    for event in events:
        if day is not None and event["time"][:10] != day:  # a new day: yesterday's syncs
            vendors.sync(datetime.fromisoformat(day).replace(hour=23, minute=59, tzinfo=UTC))
        day = event["time"][:10]
        if event["type"] in VENDOR_TYPES:
            vendors.put(event)
        else:
            with through.engine.begin() as conn:
                receive_many(conn, [event], now=fixed_clock())
    vendors.sync(datetime.fromisoformat(day or "2026-06-30").replace(hour=23, minute=59,
                                                                      tzinfo=UTC))
    got = _close_months(through, sim)

    assert len(want["invoices"]) > 5 and len(want["revenue_schedules"]) > 5
    time_items = [i for i in want["billable_items"] if i[2] == "time"]
    assert len(time_items) > 100 and len(want["journal_lines"]) > 50
    print(f"connectors end to end: {len(want['invoices'])} invoices, "
          f"{len(want['billable_items'])} billable items, {len(want['revenue_schedules'])} "
          f"schedule rows, {len(want['journal_lines'])} journal lines, equal")
    for table in want:
        assert got[table] == want[table], f"{table} differs"
