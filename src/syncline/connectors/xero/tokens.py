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

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from syncline.connectors.sdk.secrets import Secret


@dataclass
class FileTokenStore:
    path: Path
    first: Secret | None = None  # the refresh token from the settings, used until a rotation

    def load(self) -> Secret | None:
        if self.path.is_file():
            token = json.loads(self.path.read_text()).get("refresh_token")
            if token:
                return Secret(str(token))
        return self.first

    def save(self, token: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".xero-token-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as out:
                json.dump({"refresh_token": token}, out)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
