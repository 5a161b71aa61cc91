"""Salesforce records → canonical envelopes (or refusals), with ids that survive re-reads.

The event id is the record id with a digest of the *mapped content*, not of
``SystemModstamp``: Syncline's own status write-back bumps ``SystemModstamp``, and the
``>=`` re-read returns boundary rows again; neither must make a second event. A real change to
a mapped field makes a new id (and a later ``sequence``: the modstamp in epoch ms). Refusals
are keyed the same way on the raw record minus its modstamp.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from syncline.connectors.salesforce.amendments import (
    amendment_opportunity,
    change_order,
    is_amendment,
)
from syncline.connectors.salesforce.mapping import deal_data
from syncline.connectors.salesforce.settings import SalesforceSettings
from syncline.connectors.sdk.errors import MappingError
from syncline.connectors.sdk.events import (
    envelope,
    epoch_ms,
    parse_time,
    record_version_id,
    refusal,
)
from syncline.services.messaging.inbox import Refusal

Envelope = dict[str, Any]
_VOLATILE = ("SystemModstamp", "LastModifiedDate", "attributes")


def digest(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:24]


def opportunity_event(opp: dict[str, Any], s: SalesforceSettings, source: str) -> Envelope:
    """``deal.closed_won``, or ``contract.amended`` for an amendment opportunity."""
    if is_amendment(opp, s):
        return _event(opp, "Opportunity", "contract.amended", amendment_opportunity(opp, s),
                      source)
    return _event(opp, "Opportunity", "deal.closed_won", deal_data(opp, s), source)


def change_order_event(record: dict[str, Any], s: SalesforceSettings, source: str) -> Envelope:
    assert s.change_orders is not None
    return _event(record, s.change_orders.object, "contract.amended", change_order(record, s),
                  source)


def refused(record: dict[str, Any], sobject: str, bad: MappingError, source: str,
            etype: str) -> Refusal:
    stable = {k: v for k, v in record.items() if k not in _VOLATILE}
    return refusal(source=source, record=record, reason=str(bad), etype=etype,
                   event_id=record_version_id(sobject, str(record.get("Id")), digest(stable)))


def _event(record: dict[str, Any], sobject: str, etype: str, data: dict[str, Any],
           source: str) -> Envelope:
    stamp = parse_time(str(record["SystemModstamp"]))
    return envelope(source=source, etype=etype, subject=f"deal/{data['deal_id']}",
                    event_id=record_version_id(sobject, str(record["Id"]), digest(data)),
                    time=stamp, sequence=epoch_ms(stamp), data=data,
                    correlation=data["deal_id"])
