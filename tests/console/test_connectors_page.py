"""The connector health page: configured connectors, their streams' cursors, last runs and
errors, webhook receipts, deliveries per target with the dead letters; retry and skip of a
dead letter for finance or admin (audited), 403 for others."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from syncline.api.app import create_app
from syncline.services.governance.audit import entries
from syncline.services.messaging import deliveries as d
from syncline.workflows import delivery
from tests.console.firm import Firm, RefusingErp, connected_firm, csrf_of, sign_in


@pytest.fixture
def firm(tmp_path: Path) -> Iterator[tuple[Firm, RefusingErp]]:
    yield connected_firm(tmp_path)
    delivery.shutdown()


def _dead(firm: Firm) -> str:
    with firm.system.engine.connect() as conn:
        found = d.deliveries(conn, status="failed")
    assert len(found) == 1, found
    return found[0].id


def test_the_page_shows_streams_webhooks_deliveries_and_dead_letters(
        firm: tuple[Firm, RefusingErp]) -> None:
    made, _ = firm
    dead = _dead(made)
    with TestClient(create_app(made.system, background=False)) as http:
        sign_in(http, made.keys["pmo"])
        page = http.get("/console/connectors").text
    imports = page.split('id="connector-imports"')[1].split("</section>")[0]
    assert "<td>hr</td>" in imports and "a.xlsx" in imports
    assert '<td class="num">3</td>' in imports
    time = page.split('id="connector-time"')[1].split("</section>")[0]
    assert "cannot start" in time and "SYNCLINE_TEST_UNSET_TOKEN" in time
    assert "<td>time_entries</td>" in time and "429 Too Many Requests" in time
    assert '<b class="bad">1</b> refused' in time and "bad signature" in time
    targets = page.split('id="targets"')[1].split("</table>")[0]
    assert "<td>erp</td><td>US01</td><td>acme-erp</td>" in targets
    dead_rows = page.split('id="dead"')[1].split("</table>")[0]
    assert f'id="dead-{dead}"' in dead_rows and "the subsidiary is inactive" in dead_rows
    assert 'class="secondary retry" disabled' in dead_rows  # pmo reads only


def test_retry_and_skip_for_finance_only_audited(firm: tuple[Firm, RefusingErp]) -> None:
    made, erp = firm
    dead = _dead(made)
    with TestClient(create_app(made.system, background=False)) as http:
        sign_in(http, made.keys["pmo"])
        token = csrf_of(http.get("/console/connectors").text)
        denied = http.post(f"/console/connectors/deliveries/{dead}/retry",
                           data={"csrf": token})
        assert denied.status_code == 403 and "needs the role finance or admin" in denied.text
        sign_in(http, made.keys["finance"])
        page = http.get("/console/connectors").text
        token = csrf_of(page)
        still = http.post(f"/console/connectors/deliveries/{dead}/retry", data={"csrf": token})
        assert f"Delivery {dead} retried: failed" in still.text  # the ERP still refuses
        erp.refusing = False
        done = http.post(f"/console/connectors/deliveries/{dead}/retry", data={"csrf": token})
        assert f"Delivery {dead} retried: delivered" in done.text
        assert "No dead letters." in done.text
        assert http.post(f"/console/connectors/deliveries/{dead}/skip",
                         data={"csrf": token, "reason": "x"}).text.count("Refused:") == 1
    with made.system.engine.connect() as conn:
        after = d.delivery(conn, dead)
        logged = [(e["actor"], e["action"]) for e in entries(conn, action="delivery.retry")]
    assert after is not None and after.status == "delivered" and after.reference == "V-1"
    assert erp.received[0] == dead  # sent with its own id as the idempotency key
    assert logged == [("finance-user", "delivery.retry"), ("finance-user", "delivery.retry")]
