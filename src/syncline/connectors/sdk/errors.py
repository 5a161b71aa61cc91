"""What can go wrong talking to a vendor, typed so the retry policy and the exceptions agree.

``retryable`` is the contract: the client retries a retryable error with backoff (bounded),
a permanent one is raised at once. A sync that meets a permanent error stops *before* its
cursor moves, so the next run starts from the last record that was stored.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class VendorError(Exception):
    """A vendor answered with an error (or could not be reached)."""

    vendor: str
    message: str
    status: int | None = None
    code: str | None = None
    retryable: bool = False
    url: str | None = None

    def __str__(self) -> str:
        head = f"{self.vendor}"
        if self.status is not None:
            head += f" HTTP {self.status}"
        if self.code:
            head += f" {self.code}"
        policy = "retryable" if self.retryable else "permanent"
        return f"{head}: {self.message} ({policy})"


class AuthError(VendorError):
    """401/403 that a token refresh did not cure: the credentials or scopes are wrong."""


class RateLimited(VendorError):
    """The vendor throttled us and the bounded retries ran out."""


@dataclass
class MappingError(Exception):
    """A vendor record that cannot become a canonical event: named by the vendor's id."""

    vendor: str
    record_type: str
    record_id: str
    reason: str
    link: str | None = None

    def __str__(self) -> str:
        where = f" ({self.link})" if self.link else ""
        return f"{self.vendor} {self.record_type} {self.record_id}{where}: {self.reason}"


@dataclass
class SignatureError(Exception):
    """A webhook whose signature, timestamp or shape is wrong: answered 401, never stored
    as a business message (its raw body is logged by the receiver as refused)."""

    reason: str

    def __str__(self) -> str:
        return self.reason
