"""Outbox routing by legal entity, and ERP master data checked before provisioning
(issue 13; connectors/routing.py, connectors/erp/checked.py)."""

from __future__ import annotations

from typing import Any

import pytest

from syncline.connectors.erp.checked import CheckedTarget
from syncline.connectors.erp.mapping import parse_mapping
from syncline.connectors.routing import EntityRouter
from syncline.services.messaging.delivery import Refused


class Recorder:
    def __init__(self, name: str) -> None:
        self.name, self.got = name, []  # type: str, list[tuple[str, str]]

    def deliver(self, kind: str, payload: dict[str, Any], key: str) -> str:
        self.got.append((kind, key))
        return f"{self.name}-{len(self.got)}"

    def compensate(self, kind: str, payload: dict[str, Any], key: str) -> None:
        self.got.append((f"undo {kind}", key))

    def xref_system(self, payload: dict[str, Any]) -> str:
        return f"erp:{self.name}"


def test_each_entity_goes_to_its_erp_and_the_rest_to_the_default() -> None:
    ns, xero, sandbox = Recorder("netsuite"), Recorder("xero"), Recorder("sandbox")
    router = EntityRouter("erp", default=sandbox, by_entity={"US01": ns, "GB01": xero})
    assert router.deliver("erp.invoice.post", {"entity": "US01", "number": "1"}, "k1") \
        == "netsuite-1"
    router.deliver("erp.customer.upsert", {"legal_entity": "GB01"}, "k2")
    router.deliver("erp.journal.post", {"entity": "DE01"}, "k3")
    router.compensate("erp.customer.upsert", {"legal_entity": "GB01"}, "k2")
    assert ns.got == [("erp.invoice.post", "k1")]
    assert xero.got == [("erp.customer.upsert", "k2"), ("undo erp.customer.upsert", "k2")]
    assert sandbox.got == [("erp.journal.post", "k3")]
    assert router.xref_system({"entity": "GB01"}) == "erp:xero"
    assert router.describe() == {"GB01": "xero", "US01": "netsuite"}


def test_provisioning_waits_for_the_erp_master_data_and_the_answer_is_cached() -> None:
    mapping, problems = parse_mapping({"entities": ["US01"], "tax_codes": {"US-EXEMPT": "7"},
                                       "accounts": {"4000": "54", "2300": "25"}}, "s")
    assert mapping is not None and not problems
    reads: list[int] = []
    erp_answers = [["account 4000 → 54 is inactive in NetSuite"], []]

    def validate() -> list[str]:
        reads.append(1)
        return erp_answers[min(len(reads) - 1, 1)]

    now = [0.0]
    checked = CheckedTarget(Recorder("netsuite"), validate, mapping, ttl=900,
                            clock=lambda: now[0])
    customer = {"customer_id": "cus_1", "name": "Acme", "legal_entity": "US01",
                "tax_profile": "US-EXEMPT"}
    with pytest.raises(Refused, match="inactive in NetSuite"):
        checked.deliver("erp.customer.upsert", customer, "k1")
    assert checked.deliver("erp.customer.upsert", customer, "k1") == "netsuite-1"
    checked.deliver("erp.customer.upsert", dict(customer, customer_id="cus_2"), "k2")
    assert len(reads) == 2  # the good answer is kept for the ttl
    with pytest.raises(Refused, match="tax profile US-NY-SVC has no tax code"):
        checked.deliver("erp.customer.upsert", dict(customer, tax_profile="US-NY-SVC"), "k3")
    checked.deliver("erp.invoice.post", {"number": "INV-1"}, "k4")  # not a provisioning step
    now[0] = 901
    checked.deliver("erp.customer.upsert", customer, "k5")
    assert len(reads) >= 3  # looked again after the ttl


def test_the_resolver_builds_a_configured_connector_once_and_finds_a_new_one(
        tmp_path: Any) -> None:
    from syncline.connectors.registry import Wiring, resolver

    config = tmp_path / "connectors.yaml"
    from pathlib import Path

    mapping = Path(__file__).parents[2] / "config/connectors/files/hr-workers.mapping.yaml"
    block = ("  - name: {name}\n    kind: files\n    settings:\n      directory: {d}\n"
             "      streams: [{{name: hr, path: '*.xlsx', mapping: {m}}}]\n")
    config.write_text("connectors:\n" + block.format(name="imports", d=tmp_path, m=mapping))
    resolve = resolver(config, Wiring())
    first = resolve("imports")
    assert first is not None and resolve("imports") is first  # built once, kept
    assert resolve("later") is None
    config.write_text("connectors:\n" + block.format(name="imports", d=tmp_path, m=mapping)
                      + block.format(name="later", d=tmp_path, m=mapping))
    later = resolve("later")
    assert later is not None and later.name == "later"
    assert resolver(None, Wiring())("imports") is None


def test_delivery_polls_and_webhooks_share_one_instance_of_each_connector(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """``configured_targets`` takes each ERP connector from the system's one resolver
    (``Syncline.connectors``), which the worker's polls and the API's webhooks use too: the
    target delivering US01's documents is that connector's own, not a second build."""
    from syncline.api.connectors import configured_connectors
    from syncline.bootstrap import bootstrap
    from syncline.config import Settings

    for name in ("NS_CK", "NS_CS", "NS_TK", "NS_TS"):
        monkeypatch.setenv(name, "x")
    config = tmp_path / "connectors.yaml"
    config.write_text(
        "connectors:\n  - name: netsuite-us\n    kind: netsuite\n    settings:\n"
        "      account_id: '1234567'\n      consumer_key: ${env:NS_CK}\n"
        "      consumer_secret: ${env:NS_CS}\n      token_id: ${env:NS_TK}\n"
        "      token_secret: ${env:NS_TS}\n      entities: [US01]\n"
        "      subsidiaries: {US01: {id: '1', currency: USD}}\n"
        "      currencies: {USD: '1'}\n      items: {'4000': '210', '2300': '211'}\n")
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path}/s.db",
                                connectors_config=str(config)), durable=False)
    system.deliver()  # wires the configured targets (nothing is pending)
    routed = system.targets["erp"].by_entity["US01"]
    shared = system.connectors("netsuite-us")
    assert shared is not None and routed.target is shared.target()
    assert configured_connectors(system)("netsuite-us") is shared
    system.engine.dispose()
