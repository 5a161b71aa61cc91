"""NetSuite (REST web services, token-based authentication): the ERP target and payments.

``build(config, wiring)`` makes the connector:

- ``target()``: a ``NetSuiteTarget`` posting customers, invoices, credit memos and journal
  entries by upsert on Syncline's external id (exactly once with ``ErpTarget.deliver``);
- ``streams()``: ``payments`` (customer payments applied to Syncline's invoices, SuiteQL,
  incremental) → ``payment.received`` (source ``netsuite/<name>``);
- ``check()``: signs in (a one-row SuiteQL read) and runs ``validate()``;
- ``validate()``: every mapped subsidiary, currency, account, tax code, item and dimension
  exists at NetSuite and is active.

NetSuite sends no webhooks to an outside receiver (a SuiteScript could; none is assumed): the
payments stream is polled. Reference: docs/connectors/netsuite.md; the fake vendor is
``fake.FakeNetSuite``.
"""

from __future__ import annotations

from syncline.connectors.netsuite import settings as netsuite_settings
from syncline.connectors.netsuite.client import client
from syncline.connectors.netsuite.streams import PaymentsStream
from syncline.connectors.netsuite.target import NetSuiteTarget
from syncline.connectors.netsuite.validate import validate
from syncline.connectors.registry import Wiring
from syncline.connectors.sdk.base import Check, Stream
from syncline.connectors.sdk.config import ConnectorConfig
from syncline.connectors.sdk.errors import VendorError


class NetSuiteConnector:
    kind = "netsuite"

    def __init__(self, config: ConnectorConfig, wiring: Wiring) -> None:
        self.name = config.name
        self.settings = netsuite_settings.parse(config, wiring.env)
        self.client = client(self.settings, wiring)
        self.source = f"{self.kind}/{self.name}"
        self.payments = PaymentsStream(self.client, self.settings, self.source)
        self._target = NetSuiteTarget(self.name, self.client, self.settings)

    def streams(self) -> list[Stream]:
        return [self.payments]

    def target(self) -> NetSuiteTarget:
        return self._target

    def validate(self) -> list[str]:
        return validate(self.client, self.settings)

    def check(self) -> Check:
        try:
            next(iter(self.client.suiteql("SELECT id FROM subsidiary", page_size=1)))
            problems = self.validate()
        except VendorError as err:
            return Check(False, str(err))
        where = f"account {self.settings.account_id}"
        if problems:
            return Check(False, f"{where}: signed in; the mapping does not match NetSuite: "
                         + "; ".join(problems))
        return Check(True, f"{where}: signed in; {len(self.settings.subsidiaries)} "
                           "subsidiaries, accounts, tax codes, items and dimensions exist "
                           "and are active")


def build(config: ConnectorConfig, wiring: Wiring) -> NetSuiteConnector:
    return NetSuiteConnector(config, wiring)
