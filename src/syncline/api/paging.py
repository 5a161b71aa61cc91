"""Pages of a list by key (ADR 0023): ``limit`` rows at most, ``after`` the last key of the
previous page. The body stays the JSON list it always was; when more rows follow, the answer
carries ``Link: <…?after=KEY&…>; rel="next"`` (RFC 8288) — the same request with ``after`` set
to the page's last key — so a client follows links until there is none.

A page reads ``limit + 1`` rows by the list's ordering index and answers ``limit``: the extra
row only says whether a next page exists (no count of the whole list is made).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Query, Request, Response

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=(
    f"Rows in a page (1..{MAX_LIMIT:,}); a `Link: rel=\"next\"` header names the next page"))]
After = Annotated[str | None, Query(max_length=200, description=(
    "The last key of the previous page (its `Link` header gives it): rows after it"))]


def page(request: Request, response: Response, rows: list[dict[str, Any]], limit: int,
         key: Callable[[dict[str, Any]], str]) -> list[dict[str, Any]]:
    """The first ``limit`` of ``rows`` (read as ``limit + 1``), with a next link on
    ``response`` when there were more."""
    if len(rows) <= limit:
        return rows
    shown = rows[:limit]
    url = request.url.include_query_params(after=key(shown[-1]), limit=limit)
    response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'
    return shown
