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

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from syncline.connectors.sdk.secrets import Secret


class TokenStoreError(RuntimeError):
    pass


@dataclass
class TokenStore:
    path: Path
    seed: Secret | None
    realm_id: str
    clock: Callable[[], datetime]

    def current(self) -> str:
        """The refresh token to use now: the stored one, else the configured seed."""
        if self.path.is_file():
            try:
                stored = json.loads(self.path.read_text())
            except (OSError, ValueError) as err:
                raise TokenStoreError(f"token store {self.path} is unreadable: "
                                      f"{type(err).__name__}") from None
            token = stored.get("refresh_token") if isinstance(stored, dict) else None
            if token:
                return str(token)
        if self.seed is None:
            raise TokenStoreError(f"no refresh token: {self.path} does not exist and the "
                                  "settings give no refresh_token seed")
        return self.seed.reveal()

    def save(self, refresh_token: str) -> None:
        """Persist a rotated token atomically (temp file + fsync + rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"refresh_token": refresh_token, "realm_id": self.realm_id,
                           "rotated_at": self.clock().isoformat()})
        fd, tmp = tempfile.mkstemp(prefix=".qbo-token-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(body)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
