"""Workday (HR): workers from a RaaS custom report (preferred) or the REST workers resource.

``build(config, wiring)`` makes the connector: one stream, ``workers``, giving
``worker.upserted`` and ``worker.terminated`` (source ``workday/<name>``); ``check`` proves
the credentials by reading the report (RaaS has no cheaper call) or one REST worker.
Reference: docs/connectors/workday.md; the fake vendor is ``fake.FakeWorkday``.
"""

from __future__ import annotations

from syncline.connectors.registry import Wiring
from syncline.connectors.sdk.base import Check, Stream
from syncline.connectors.sdk.config import ConnectorConfig
from syncline.connectors.sdk.errors import VendorError
from syncline.connectors.workday import settings as workday_settings
from syncline.connectors.workday.client import client
from syncline.connectors.workday.streams import WorkersStream


class WorkdayConnector:
    kind = "workday"

    def __init__(self, config: ConnectorConfig, wiring: Wiring) -> None:
        self.name = config.name
        self.settings = workday_settings.parse(config, wiring.env)
        self.client = client(self.settings, wiring)
        self.source = f"{self.kind}/{self.name}"
        self.workers = WorkersStream(self.client, self.settings, self.source, wiring.clock)
        self.clock = wiring.clock

    def streams(self) -> list[Stream]:
        return [self.workers]

    def check(self) -> Check:
        s = self.settings
        try:
            if s.source == "raas":
                body = self.client.get_json(s.report_path, params={
                    "format": "json", s.as_of_prompt: self.clock().date().isoformat(),
                    **s.prompts})
                rows = body.get(s.entries_key) if isinstance(body, dict) else None
                if not isinstance(rows, list):
                    return Check(False, f"report {s.report_name} answered without "
                                        f"{s.entries_key}")
                return Check(True, f"report {s.report_owner}/{s.report_name}: {len(rows)} rows")
            body = self.client.get_json(s.workers_path, params={"limit": 1, "offset": 0})
            return Check(True, f"REST workers: {body.get('total', '?')} in tenant {s.tenant}")
        except VendorError as err:
            return Check(False, str(err))


def build(config: ConnectorConfig, wiring: Wiring) -> WorkdayConnector:
    return WorkdayConnector(config, wiring)
