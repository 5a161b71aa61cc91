"""Where a rotating refresh token lives between runs: one small JSON file (QBO, Xero).

Vendors that rotate the refresh token (QuickBooks Online, Xero) answer a refresh with a new
one, and the old one stops working. So the new token is written *before* the access token
it came with is used (``OAuth2.on_rotate`` calls ``save``), atomically — a temporary file in
the same directory, flushed, fsynced, mode 0600, renamed over the store (``os.replace``) — so
a crash leaves the old file or the new one, never half of one, and never loses the only
working token. ``current``/``load`` read the file each time (another process's rotation is
seen) and fall back to the configured seed only while no file exists.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from syncline.connectors.sdk.secrets import Secret


class TokenStoreError(RuntimeError):
    pass


class RefreshTokenStore:
    def __init__(self, path: Path, seed: Secret | None = None, *, label: str = "token",
                 extra: Callable[[], dict[str, Any]] | None = None) -> None:
        self.path, self.seed, self.label, self.extra = Path(path), seed, label, extra

    def load(self) -> Secret | None:
        """The stored token, else the seed (None when neither)."""
        if self.path.is_file():
            try:
                stored = json.loads(self.path.read_text())
            except (OSError, ValueError) as err:
                raise TokenStoreError(f"token store {self.path} is unreadable: "
                                      f"{type(err).__name__}") from None
            token = stored.get("refresh_token") if isinstance(stored, dict) else None
            if token:
                return Secret(str(token))
        return self.seed

    def current(self) -> str:
        found = self.load()
        if found is None:
            raise TokenStoreError(f"no refresh token: {self.path} does not exist and the "
                                  "settings give no refresh_token seed")
        return found.reveal()

    def save(self, refresh_token: str) -> None:
        """Persist a rotated token atomically (temp file + fsync + rename, mode 0600)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {"refresh_token": refresh_token, **(self.extra() if self.extra else {})}
        fd, tmp = tempfile.mkstemp(prefix=f".{self.label}-token-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(body, out)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
