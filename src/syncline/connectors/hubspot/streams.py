"""The ``deals`` stream: closed-won deals changed since the cursor, with lines and company.

The read (connectors.md §2.3): ``POST …/deals/search`` filtered on ``hs_lastmodifieddate``
GTE the cursor (epoch ms) and ``dealstage`` IN the configured closed-won stages, sorted by
``hs_lastmodifieddate`` ascending, paged with the opaque ``paging.next.after`` until it is
absent. For each page: the v4 associations deal → line items and deal → companies, then the
line items and companies by batch read, then one ``deal.closed_won`` (or a refusal) per deal.

The cursor is the greatest ``hs_lastmodifieddate`` seen (ISO, milliseconds), stored with the
page it ends; the next read asks for GTE it again (the deal on the boundary comes back as a
duplicate: same deal id and version, same event id).

HubSpot's search returns at most ``window`` results per query (10,000; past it the search
answers 400). Before asking for a page that would cross it, the read starts a new search
from the greatest ``hs_lastmodifieddate`` seen; if a whole window shares one millisecond the
read cannot move and stops with an error rather than loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from syncline.connectors.hubspot.client import HubSpotApi
from syncline.connectors.hubspot.mapping import (
    COMPANY_PROPERTIES,
    PRIMARY_COMPANY_TYPE_ID,
    Terms,
    closed_won_event,
    event_id,
    version_of,
)
from syncline.connectors.sdk.base import Batch
from syncline.connectors.sdk.errors import MappingError, VendorError
from syncline.connectors.sdk.events import content_id, epoch_ms, parse_time, refusal
from syncline.connectors.sdk.paging import cursor_token

WINDOW = 10_000


def next_after(page: dict[str, Any]) -> str | None:
    after = ((page.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after else None


def _set_after(request: dict[str, Any], token: str) -> None:
    request["json"]["after"] = token


def cursor_text(moment: datetime) -> str:
    ms = epoch_ms(moment)
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") \
        + f"{ms % 1000:03d}Z"


class DealsStream:
    name = "deals"
    description = ("closed-won deals changed since the cursor (search on hs_lastmodifieddate), "
                   "with their line items and company → deal.closed_won")

    def __init__(self, api: HubSpotApi, terms: Terms, *, source: str, page_size: int = 100,
                 window: int = WINDOW, sort_form: str = "object", since: str | None = None
                 ) -> None:
        self.api, self.terms, self.source = api, terms, source
        self.page_size, self.window, self.sort_form, self.since = (page_size, window,
                                                                    sort_form, since)
        self.searches = 0  # searches started (a restart at the window counts one more)

    def query(self, low_ms: int) -> dict[str, Any]:
        stages = sorted({s for ids in self.terms.stages.values() for s in ids})
        sort: Any = ({"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}
                     if self.sort_form == "object" else "hs_lastmodifieddate")
        return {"filterGroups": [{"filters": [
                    {"propertyName": "hs_lastmodifieddate", "operator": "GTE",
                     "value": str(low_ms)},
                    {"propertyName": "dealstage", "operator": "IN", "values": stages}]}],
                "sorts": [sort], "properties": self.terms.deal_properties(),
                "limit": self.page_size}

    def read(self, cursor: str | None) -> Iterator[Batch]:
        start = cursor or self.since
        low = epoch_ms(parse_time(start)) if start else 0
        newest: datetime | None = None
        while True:
            self.searches += 1
            received, restart = 0, False
            for page in cursor_token(self.api.client, "POST", self.api.search_path("deals"),
                                     token_of=next_after, set_token=_set_after,
                                     request={"json": self.query(low)}):
                deals = page.get("results") or []
                received += len(deals)
                batch, seen = self.batch(deals)
                if seen is not None and (newest is None or seen > newest):
                    newest = seen
                batch.cursor = cursor_text(newest) if deals and newest else None
                yield batch
                if next_after(page) and received + self.page_size > self.window:
                    restart = True
                    break
            if not restart:
                return
            moved = epoch_ms(newest) if newest else low
            if moved <= low:
                raise VendorError("hubspot", f"more than {self.window} deals share "
                                  f"hs_lastmodifieddate {low}: the search window cannot move")
            low = moved

    def batch(self, deals: list[dict[str, Any]]) -> tuple[Batch, datetime | None]:
        """One page of deals → events and refusals, and the newest version among them."""
        batch = Batch()
        if not deals:
            return batch, None
        ids = [str(d["id"]) for d in deals]
        line_links = self.api.associations("deals", "line_items", ids)
        company_links = self.api.associations("deals", "companies", ids)
        line_ids = [str(t["toObjectId"]) for links in line_links.values() for t in links]
        company_ids = [str(t["toObjectId"]) for links in company_links.values() for t in links]
        lines = (self.api.batch_read("line_items", line_ids, self.terms.line_properties())
                 if line_ids else {})
        companies = (self.api.batch_read("companies", company_ids, list(COMPANY_PROPERTIES))
                     if company_ids else {})
        newest: datetime | None = None
        for deal in deals:
            deal_id = str(deal["id"])
            its_lines = [lines[str(t["toObjectId"])] for t in line_links.get(deal_id, [])
                         if str(t["toObjectId"]) in lines]
            its_companies = [dict(companies[str(t["toObjectId"])], primary=_primary(t))
                             for t in company_links.get(deal_id, [])
                             if str(t["toObjectId"]) in companies]
            try:
                version = version_of(deal)
                newest = version if newest is None or version > newest else newest
                batch.events.append(closed_won_event(deal, its_lines, its_companies,
                                                     self.terms, source=self.source))
            except MappingError as err:
                batch.refusals.append(self._refusal(deal, its_lines, its_companies, err))
        return batch, newest

    def _refusal(self, deal: dict[str, Any], lines: list[dict[str, Any]],
                 companies: list[dict[str, Any]], err: MappingError) -> Any:
        record = {"deal": deal, "line_items": lines, "companies": companies}
        try:
            rid = event_id(deal)
        except MappingError:
            rid = content_id(f"hubspot-deal/{deal.get('id')}", record)
        return refusal(source=self.source, event_id=rid, record=record, reason=str(err),
                       etype="deal.closed_won")


def _primary(link: dict[str, Any]) -> bool:
    return any(t.get("typeId") == PRIMARY_COMPANY_TYPE_ID
               or str(t.get("label") or "").lower() == "primary"
               for t in link.get("associationTypes") or [])
