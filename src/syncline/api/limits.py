"""Rate limits per principal (issue 11): one moving window per caller, not per address.

``SYNCLINE_RATE_LIMIT`` is a `limits` expression (``600/minute``, ``50/second;2000/hour``;
empty or ``off`` disables), counted per principal name, so one integration's flood cannot
starve the console or another integration, and a new key for the same principal does not
reset it. ``SYNCLINE_RATE_LIMIT_STORAGE`` is ``memory://`` (per API process, the default) or
``redis://host:6379`` (shared by every API process). Over the limit the answer is 429 with
``Retry-After`` (whole seconds until the window frees a request) and ``RateLimit-*``
headers; the health route is never limited, and vendors' webhooks (no principal) are
bounded by the body limit and their signature instead.
"""

from __future__ import annotations

import math
import time

from fastapi import HTTPException
from limits import RateLimitItem, parse_many, storage, strategies


class InvalidRateLimit(ValueError):
    pass


class PrincipalLimiter:
    def __init__(self, expression: str, storage_uri: str = "memory://") -> None:
        text = expression.strip()
        self.items: list[RateLimitItem] = []
        if text and text.lower() not in ("off", "0", "none"):
            try:
                self.items = parse_many(text)
            except ValueError as bad:
                raise InvalidRateLimit(
                    f"SYNCLINE_RATE_LIMIT {expression!r} is not a rate (e.g. 600/minute): "
                    f"{bad}") from None
        self.limiter = strategies.MovingWindowRateLimiter(
            storage.storage_from_string(storage_uri))
        self.local = not self.items or storage_uri.startswith("memory://")  # no I/O to check

    def check(self, principal: str) -> None:
        """Count one request of ``principal``; 429 when any of its windows is full."""
        for item in self.items:
            if not self.limiter.hit(item, "principal", principal):
                stats = self.limiter.get_window_stats(item, "principal", principal)
                wait = max(1, math.ceil(stats.reset_time - time.time()))
                raise HTTPException(429, f"rate limit {item} for {principal} exceeded; "
                                    f"retry in {wait} s", headers={
                                        "Retry-After": str(wait),
                                        "RateLimit-Limit": str(item.amount),
                                        "RateLimit-Remaining": "0",
                                        "RateLimit-Reset": str(wait)})
