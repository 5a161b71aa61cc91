"""The refresh-token store: one small JSON file, written atomically, read on every refresh.

QuickBooks Online rotates the refresh token: any refresh may answer a new one and the old
one then stops working (connectors.md §6.1: the top QBO failure mode is losing it). So:

- the grant reads the store *each time* it refreshes (a second process, or this one after a
  restart, uses the newest token another refresh persisted);
- the new token is written through ``OAuth2.on_rotate`` *before* the access token is used
  (sdk/auth.py), to a temporary file in the same directory, flushed and fsynced, then
  renamed over the store (``os.replace`` is atomic on POSIX and Windows): a crash leaves the
  old file or the new one, never half of one;
- the file holds ``{"refresh_token": …, "rotated_at": …, "realm_id": …}`` and is created
  with mode 0600. The seed (the token from Intuit's OAuth playground or the connect flow)
  comes from the settings (``refresh_token: ${env:…}``) and is used only while the file does
  not exist yet.

One process refreshes at a time within a process (the SDK's lock); two *processes*
refreshing in the same second could still race — run one syncing process per realm.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from syncline.connectors.sdk.secrets import Secret
from syncline.connectors.sdk.tokens import RefreshTokenStore, TokenStoreError

__all__ = ["TokenStore", "TokenStoreError"]


class TokenStore(RefreshTokenStore):
    """The SDK's store (connectors/sdk/tokens.py), recording the realm and when it rotated."""

    def __init__(self, path: Path, seed: Secret | None, realm_id: str,
                 clock: Callable[[], datetime]) -> None:
        super().__init__(path, seed, label="qbo", extra=lambda: {
            "realm_id": realm_id, "rotated_at": clock().isoformat()})
        self.realm_id, self.clock = realm_id, clock
