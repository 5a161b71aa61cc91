"""A fake Salesforce org with a JWT-bearer connected app, and a connector built against it.

``FULL`` names a custom field for every Syncline term (the round-trip field map); the clock is
the suite's fixed clock, so tokens, modstamps and JWT ``exp`` agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.connectors.registry import Wiring, build
from syncline.connectors.salesforce import SalesforceConnector
from syncline.connectors.salesforce.fake import FakeOrg
from syncline.connectors.salesforce.settings import SalesforceSettings, parse
from syncline.connectors.sdk.config import ConnectorConfig
from tests.conftest import FIXED_NOW, fixed_clock

INSTANCE = "https://acme.my.salesforce.com"
ORG_ID = "00D5e000000AbCdEAK"
FULL_FIELDS = {
    "deal_id": "Syncline_Deal_Id__c", "billing_email": "Account.Billing_Email__c",
    "legal_entity": "Account.Legal_Entity__c", "tax_profile": "Account.Tax_Profile__c",
    "contract_number": "Contract_Number__c", "start_date": "Contract_Start__c",
    "end_date": "Contract_End__c", "billing_type": "Billing_Type__c",
    "payment_terms_days": "Payment_Terms_Days__c", "service_line": "Service_Line__c",
    "project_code": "Project_Code__c", "project_template": "Project_Template__c",
    "closed_at": "Closed_At__c", "rates": "Rates_JSON__c", "milestones": "Milestones_JSON__c",
    "billing_terms": "Billing_Terms_JSON__c",
}
FULL_LINE_FIELDS = {
    "line_id": "Syncline_Line_Id__c", "kind": "Billing_Type__c",
    "estimated_hours": "Estimated_Hours__c", "estimated_cost": "Estimated_Cost__c",
    "recognition": "Recognition__c",
}


def settings_block(**over: Any) -> dict[str, Any]:
    block: dict[str, Any] = {
        "instance_url": INSTANCE, "org_id": ORG_ID,
        "auth": {"grant": "jwt_bearer", "client_id": "3MVG9fake.consumer",
                 "username": "integration@acme.example",
                 "private_key": "${env:SF_PRIVATE_KEY}"},
        "fields": dict(FULL_FIELDS), "line_fields": dict(FULL_LINE_FIELDS),
        "status_writeback": {"external_id_field": "Syncline_Deal_Id__c",
                             "fields": {"status": "Syncline_Status__c",
                                        "detail": "Syncline_Status_Detail__c"}},
        "relay_secret": "${env:SF_RELAY_SECRET}",
    }
    block.update(over)
    return block


def full_settings(**over: Any) -> SalesforceSettings:
    return parse(ConnectorConfig("crm", "salesforce", settings_block(**over)))


@pytest.fixture(scope="session")
def keypair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@pytest.fixture
def org(keypair: tuple[str, str]) -> FakeOrg:
    fake = FakeOrg(instance_url=INSTANCE, org_id=ORG_ID, public_key=keypair[1],
                   client_secret="cs-secret", clock=lambda: FIXED_NOW.timestamp())
    fake.declare("Opportunity", "Syncline_Status__c", "Syncline_Status_Detail__c",
                 *(f for f in FULL_FIELDS.values() if "." not in f))
    fake.declare("Account", *(f[8:] for f in FULL_FIELDS.values() if f.startswith("Account.")))
    fake.declare("OpportunityLineItem", *FULL_LINE_FIELDS.values())
    return fake


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def connect(org: FakeOrg, keypair: tuple[str, str], sleeps: Sleeps):  # type: ignore[no-untyped-def]
    def make(**over: Any) -> SalesforceConnector:
        wiring = Wiring(transport=httpx.MockTransport(org), sleep=sleeps, clock=fixed_clock,
                        env={"SF_PRIVATE_KEY": keypair[0], "SF_RELAY_SECRET": "relay-s3cret",
                             "SF_CLIENT_SECRET": "cs-secret"})
        built = build(ConnectorConfig("crm", "salesforce", settings_block(**over)), wiring)
        assert isinstance(built, SalesforceConnector)
        return built
    return make


@pytest.fixture
def system(tmp_path: Path) -> Iterator[Syncline]:
    sys_ = bootstrap(Settings(database_url=f"sqlite:///{tmp_path}/t.db"), clock=fixed_clock,
                     durable=False)
    yield sys_
    sys_.engine.dispose()


def simulated(seed: int = 3) -> list[dict[str, Any]]:
    from syncline.simulator.model import SimulationConfig
    from syncline.simulator.stream import simulate

    sim = simulate(SimulationConfig(seed=seed, customers=12, months=3))
    return [e["data"] for e in sim.events
            if isinstance(e, dict) and e.get("type") == "deal.closed_won"]


def load_deals(org: FakeOrg, deals: list[dict[str, Any]], s: SalesforceSettings,
               first_minute: int = 0) -> list[str]:
    """Load deals with one modstamp a minute apart; returns the Opportunity Ids."""
    from syncline.connectors.salesforce.fake import deal_records

    ids = []
    for i, data in enumerate(deals):
        records = deal_records(data, s)
        opp = records["Opportunity"][0]
        opp["SystemModstamp"] = f"2026-07-01T10:{first_minute + i:02d}:00.000+0000"
        org.load(records)
        ids.append(opp["Id"])
    return ids
