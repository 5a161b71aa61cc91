"""The one place that chooses real or fake parts. Tests call the same `bootstrap`."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from syncline.adapters.db.engine import make_engine, migrate
from syncline.config import Settings
from syncline.connectors.sandbox import sandbox_targets
from syncline.domain.reference import DEFAULT_REFERENCE, ReferenceData
from syncline.ledger.accounts import Charts
from syncline.services.clock import Clock, system_clock
from syncline.services.ledger.config import (
    LedgerConfig,
    default_ledger_config,
    ledger_config_for,
)
from syncline.services.masterdata import CurrentReference, master_data_for
from syncline.services.messaging import delivery
from syncline.services.messaging.drain import process_leased, process_pending
from syncline.services.messaging.outcomes import Stats
from syncline.services.messaging.replay import sweep_parked


@dataclass
class Syncline:
    settings: Settings
    engine: Engine
    master: CurrentReference = field(
        default_factory=lambda: CurrentReference(DEFAULT_REFERENCE))
    ledger_config: LedgerConfig = field(default_factory=default_ledger_config)
    clock: Clock = system_clock
    targets: dict[str, Any] = field(default_factory=dict)
    durable: bool = True  # deliver through DBOS workflows; False = inline (tests)
    # the configured connectors' targets (connectors/routing.py) replace the sandboxes the
    # first time delivery runs; False when the caller gave its own targets
    connector_targets: bool = True
    _connectors: Any = field(default=None, init=False, repr=False)

    @property
    def connectors(self) -> Any:
        """The configured connectors by name (``connectors/registry.resolver``), each built
        once for this system: the ERP delivery targets, the worker's polls and the API's
        webhooks all use the same instance (one HTTP client, one token cache, one cache of
        vendor ids)."""
        if self._connectors is None:
            from syncline.connectors.registry import Wiring, resolver

            self._connectors = resolver(self.settings.connectors_config,
                                        Wiring(engine=self.engine, clock=self.clock))
        return self._connectors

    @property
    def ref(self) -> ReferenceData:
        """The firm's master data now (services/masterdata: the newest version stored
        through the API or CLI, else the SYNCLINE_MASTER_DATA file, else the built-in firm)."""
        return self.master.get(self.engine)

    @property
    def ledger(self) -> LedgerConfig:
        """The ledger configuration; an entity the file does not list takes its functional
        currency from the current master data."""
        made = self.ledger_config
        return replace(made, functional_currencies={
            **{e.code: e.functional_currency for e in self.ref.entities},
            **made.functional_currencies})

    @ledger.setter
    def ledger(self, value: LedgerConfig) -> None:
        self.ledger_config = value

    @property
    def charts(self) -> Charts:
        """The chart of accounts of each legal entity (``charts.of("US01")``)."""
        return self.ledger.chart_set

    def process(self, progress: Any = None) -> Stats:
        return process_pending(self.engine, self.ref, self.clock,
                               batch_size=self.settings.batch_size, progress=progress)

    def process_leased(self, progress: Any = None, *, lease_seconds: int = 60,
                       patience: float | None = 1.0, stop: Any = None,
                       yield_when: Any = None) -> Stats:
        """Apply beside other workers (PostgreSQL: leased partitions and barriers, see
        services/messaging/leases.py); on SQLite the same as `process`, ending a batch early
        when ``yield_when()`` says a request waits for the write lock."""
        return process_leased(self.engine, self.ref, self.clock,
                              batch_size=self.settings.batch_size, progress=progress,
                              lease_seconds=lease_seconds, patience=patience, stop=stop,
                              yield_when=yield_when,
                              yield_after=self.settings.yield_after_ms / 1000)

    def _wire_connector_targets(self) -> None:
        if self.connector_targets and self.settings.connectors_config:
            from syncline.connectors.routing import configured_targets

            self.targets = configured_targets(self.settings.connectors_config, self.targets,
                                              self.connectors)
        self.connector_targets = False

    @property
    def export_vendors(self) -> dict[str, Any]:
        """The ERP file export formats (their vendors' builders), for ``export_books``."""
        from syncline.connectors.erp.formats import formats

        return formats()

    def sweep(self, as_of: datetime | None = None) -> int:
        return sweep_parked(self.engine, as_of=as_of or self.clock(),
                            max_age=timedelta(hours=self.settings.park_max_age_hours),
                            clock=self.clock)

    def deliver(self, progress: Any = None) -> dict[str, int]:
        self._wire_connector_targets()
        if self.durable:
            from syncline.workflows import close as close_wf
            from syncline.workflows import delivery as wf

            close_wf.wire(self)  # a close resumed under this version may run here
            wf.launch(self.engine, self.targets, self.settings.workflow_db_url(), self.clock,
                      app_version=self.settings.workflow_version())
            return wf.deliver_pending(self.engine, progress=progress)
        counts = {"delivered": 0, "failed": 0}
        for _, ids in delivery.groups(delivery.pending(self.engine)):
            ok = delivery.deliver_group_inline(self.engine, self.targets, ids, self.clock)
            counts["delivered" if ok else "failed"] += len(ids)
        return counts


def bootstrap(settings: Settings | None = None, *, clock: Clock = system_clock,
              durable: bool = True, targets: dict[str, Any] | None = None) -> Syncline:
    settings = settings or Settings()
    seed = master_data_for(settings.master_data)  # a bad file: MasterDataInvalid
    ledger = ledger_config_for(settings.ledger_config, seed)  # a bad file: LedgerConfigInvalid
    engine = make_engine(settings.database_url)
    migrate(engine)
    return Syncline(settings=settings, engine=engine, master=CurrentReference(seed),
                    clock=clock, ledger_config=ledger,
                    targets=targets if targets is not None else sandbox_targets(engine),
                    durable=durable, connector_targets=targets is None)


_SETTLED: list[bool] = []


def settle_process() -> None:
    """Once a process, when its long-lived objects are built (a command's wired system, the
    API's app): what exists then — modules, tables, compiled schemas and statements, a few
    hundred thousand objects that live as long as the process — is set apart from the cyclic
    garbage collector (`gc.freeze`), after one collection so that no garbage is kept. Else every
    full collection, which a batch's new objects trigger, walks all of it again to find
    nothing: an eighth of an HTTP batch's CPU (bench/http.py), 40 ms of a 13,000-event
    `syncline ingest` (bench/ingest.py)."""
    if not _SETTLED:
        _SETTLED.append(True)
        gc.collect()
        gc.freeze()
