"""Paginators: follow what the server hands out, never build page URLs (connectors.md §0).

Each yields the decoded JSON body of every page, in order, and stops on the vendor's terminal
marker. Streams stay declarative: *what* to fetch (path, params, where the records are) is
the stream's; *how to page* is one of these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from syncline.connectors.sdk.http import VendorClient, json_decimal

Body = Any


def follow_next_url(client: VendorClient, url: str, next_url: Callable[[Body], str | None],
                    **kwargs: Any) -> Iterator[Body]:
    """A next link in the body (Salesforce ``nextRecordsUrl`` while ``done`` is false,
    Harvest ``links.next``): the first request carries ``kwargs``, the rest only the link."""
    body = client.get_json(url, **kwargs)
    yield body
    while (link := next_url(body)):
        body = client.get_json(link)
        yield body


def cursor_token(client: VendorClient, method: str, url: str, *, token_of: Callable[[Body],
                 str | None], set_token: Callable[[dict[str, Any], str], None],
                 request: dict[str, Any]) -> Iterator[Body]:
    """An opaque token in the body (HubSpot ``paging.next.after``) passed back on the next
    request through ``set_token`` (into the query or the JSON body); stops when absent."""
    body = json_decimal(client.request(method, url, **request))
    yield body
    while (token := token_of(body)):
        request = {k: (dict(v) if isinstance(v, dict) else v) for k, v in request.items()}
        set_token(request, token)
        body = json_decimal(client.request(method, url, **request))
        yield body


def offset_pages(client: VendorClient, url: str, *, limit: int, records_of: Callable[[Body],
                 list[Any]], params: dict[str, Any] | None = None, limit_param: str = "limit",
                 offset_param: str = "offset", total_of: Callable[[Body], int | None] | None
                 = None) -> Iterator[Body]:
    """``limit``/``offset`` (Workday REST, NetSuite): stops on a short page or at ``total``."""
    offset = 0
    while True:
        query = dict(params or {}, **{limit_param: limit, offset_param: offset})
        body = client.get_json(url, params=query)
        yield body
        count = len(records_of(body))
        offset += count
        total = total_of(body) if total_of else None
        if count < limit or count == 0 or (total is not None and offset >= total):
            return
