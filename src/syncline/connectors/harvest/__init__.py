"""Harvest API v2 (time tracking): approved time into Syncline.

``build(config, wiring)`` makes the connector: streams ``time_entries`` (incremental by
``updated_since``) and ``approvals`` (a reconcile for deletions), giving ``time.approved``
and ``time.rejected`` (source ``harvest/<name>``). It reads what the inbox already holds
(approvals held, HR's people), so ``wiring.engine`` must be the Syncline database.
``check`` reads ``/v2/users/me``. Reference: docs/connectors/harvest.md; the fake vendor is
``fake.FakeHarvest``.
"""

from __future__ import annotations

from syncline.connectors.harvest import settings as harvest_settings
from syncline.connectors.harvest.client import client
from syncline.connectors.harvest.streams import ApprovalsStream, TimeEntriesStream
from syncline.connectors.registry import Wiring
from syncline.connectors.sdk.base import Check, Stream
from syncline.connectors.sdk.config import ConnectorConfig, ConnectorConfigInvalid
from syncline.connectors.sdk.errors import VendorError


class HarvestConnector:
    kind = "harvest"

    def __init__(self, config: ConnectorConfig, wiring: Wiring) -> None:
        if wiring.engine is None:
            raise ConnectorConfigInvalid([
                f"connector {config.name}: Harvest reads the approvals Syncline holds; build "
                "it with the database (Wiring(engine=…))"])
        self.name = config.name
        self.settings = harvest_settings.parse(config, wiring.env)
        self.client = client(self.settings, wiring)
        self.source = f"{self.kind}/{self.name}"
        args = (self.client, self.settings, self.source, wiring.engine, wiring.clock)
        self.time_entries = TimeEntriesStream(*args)
        self.approvals = ApprovalsStream(*args)

    def streams(self) -> list[Stream]:
        return [self.time_entries, self.approvals]

    def check(self) -> Check:
        try:
            me = self.client.get_json("/v2/users/me")
        except VendorError as err:
            return Check(False, str(err))
        return Check(True, f"account {self.settings.account_id}: signed in as user "
                           f"{me.get('id')} ({me.get('email', '')})")


def build(config: ConnectorConfig, wiring: Wiring) -> HarvestConnector:
    return HarvestConnector(config, wiring)
