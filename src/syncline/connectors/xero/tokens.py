"""Where Xero's rotating refresh token lives between runs: a small JSON file.

Xero hands out a new refresh token with every refresh and the old one stops working (after
a short grace period, unconfirmed), so the new one must be written down *before* the access
token it came with is used: ``OAuth2.on_rotate`` calls ``save`` first, and a crash after the
refresh cannot lose the only working token. The file is written atomically (a temporary file
in the same directory, flushed, fsynced and renamed over the old one) and readable by its
owner only. ``load`` prefers the file to the configured first token: once a refresh has
happened, the configured token is spent.
"""

from __future__ import annotations

from pathlib import Path

from syncline.connectors.sdk.secrets import Secret
from syncline.connectors.sdk.tokens import RefreshTokenStore


class FileTokenStore(RefreshTokenStore):
    """The SDK's store (connectors/sdk/tokens.py); ``first``: the configured first token."""

    def __init__(self, path: Path, first: Secret | None = None) -> None:
        super().__init__(path, first, label="xero")
