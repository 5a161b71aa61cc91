"""The Xero target's settings (docs/connectors/xero.md), checked when it is built.

Besides the shared ERP mapping (``connectors/erp/mapping.py``: entities, status, accounts,
tax codes, dimensions, revenue and deferred accounts) a Xero target names:

- ``tenants``: legal entity → ``xero-tenant-id`` (one Xero organisation per entity; every
  Accounting call carries the header of the entity's tenant). ``entities`` defaults to them.
- ``client_id`` / ``client_secret`` and either ``grant: refresh_token`` (a standard app: the
  first ``refresh_token`` and a ``token_store`` file where each rotated one is persisted) or
  ``grant: client_credentials`` (a Custom Connection: no refresh token).
- ``webhook_key`` (the key Xero shows for the webhook), ``tracking`` (dimension → the name
  of the Xero tracking category its options belong to), ``payments_since`` (the first
  ``If-Modified-Since`` of the payments stream), ``page_size`` (1-1000, default 100),
  ``max_in_flight`` (1-5: Xero allows 5 concurrent calls per tenant),
  ``currency_rate_form`` (how Xero writes ``CurrencyRate``, see mapping.py; unconfirmed).

Secrets are ``${env:…}``/``${file:…}`` references only; every problem is reported at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncline.connectors.erp.mapping import ErpMapping, parse_mapping
from syncline.connectors.sdk.config import ConnectorConfig, ConnectorConfigInvalid
from syncline.connectors.sdk.events import parse_time
from syncline.connectors.sdk.secrets import MissingSecret, Secret, resolve

BASE_URL = "https://api.xero.com/api.xro/2.0"
TOKEN_URL = "https://identity.xero.com/connect/token"
MAX_IN_FLIGHT = 5  # Xero: 5 concurrent calls per tenant [doc: developer.xero.com/faq/limits]
RATE_FORMS = ("foreign_per_base", "base_per_foreign")
MAPPING_KEYS = {"entities", "status", "accounts", "ar_accounts", "tax_codes", "dimensions",
                "revenue_account", "deferred_account", "revenue_accounts",
                "deferred_accounts"}
KEYS = MAPPING_KEYS | {"tenants", "client_id", "client_secret", "grant", "refresh_token",
                       "token_store", "webhook_key", "tracking", "payments_since", "page_size",
                       "max_in_flight", "currency_rate_form", "base_url", "token_url"}


@dataclass(frozen=True)
class XeroSettings:
    mapping: ErpMapping
    tenants: dict[str, str]  # legal entity → xero-tenant-id
    client_id: str
    client_secret: Secret
    grant: str = "refresh_token"
    refresh_token: Secret | None = None
    token_store: Path | None = None
    webhook_key: Secret | None = None
    tracking: dict[str, str] = field(default_factory=dict)
    payments_since: str | None = None
    page_size: int = 100
    max_in_flight: int = MAX_IN_FLIGHT
    currency_rate_form: str = "foreign_per_base"
    base_url: str = BASE_URL
    token_url: str = TOKEN_URL

    @property
    def status(self) -> str:
        """Xero's status for new documents: ``AUTHORISED`` (posted) or ``DRAFT``."""
        return "DRAFT" if self.mapping.status == "draft" else "AUTHORISED"

    @property
    def journal_status(self) -> str:
        return "DRAFT" if self.mapping.status == "draft" else "POSTED"


def parse(config: ConnectorConfig, env: dict[str, str] | None,
          base_dir: Path | None = None) -> XeroSettings:
    s, problems = dict(config.settings), []
    at = f"connector {config.name}: settings"
    unknown = set(s) - KEYS
    if unknown:
        problems.append(f"{at}: unknown keys {', '.join(sorted(unknown))}")

    def secret(key: str) -> Secret | None:
        if s.get(key) is None:
            return None
        try:
            return resolve(str(s[key]), env)
        except MissingSecret as err:
            problems.append(f"{at}.{key}: {err}")
            return None

    tenants = s.get("tenants")
    if not isinstance(tenants, dict) or not tenants:
        problems.append(f"{at}.tenants: a mapping of legal entity → xero-tenant-id")
        tenants = {}
    tenants = {str(k): str(v) for k, v in tenants.items()}
    s.setdefault("entities", sorted(tenants))
    mapping, mapping_problems = parse_mapping({k: s[k] for k in MAPPING_KEYS if k in s}, at)
    problems += mapping_problems
    if mapping is not None:
        problems += [f"{at}.tenants: entity {e} has no Xero tenant"
                     for e in mapping.entities if e not in tenants]
    if not s.get("client_id"):
        problems.append(f"{at}.client_id: the app's client id")
    client_secret = secret("client_secret")
    if client_secret is None and "client_secret" not in s:
        problems.append(f"{at}.client_secret: a ${{env:…}} or ${{file:…}} reference")
    grant = s.get("grant", "refresh_token")
    refresh_token = secret("refresh_token")
    store = s.get("token_store")
    if grant == "refresh_token":
        if not store:
            problems.append(f"{at}.token_store: a file where the rotated refresh token is "
                            "kept (Xero rotates it on every refresh)")
        if "refresh_token" not in s and not (store and _resolve(store, base_dir).is_file()):
            problems.append(f"{at}.refresh_token: the first refresh token (from the consent "
                            "flow), until token_store holds a rotated one")
    elif grant != "client_credentials":
        problems.append(f"{at}.grant: refresh_token or client_credentials (got {grant!r})")
    tracking = s.get("tracking") or {}
    if not isinstance(tracking, dict):
        problems.append(f"{at}.tracking: dimension → Xero tracking category name")
        tracking = {}
    page_size, in_flight = s.get("page_size", 100), s.get("max_in_flight", MAX_IN_FLIGHT)
    if not isinstance(page_size, int) or not 1 <= page_size <= 1000:
        problems.append(f"{at}.page_size: 1 to 1000")
    if not isinstance(in_flight, int) or not 1 <= in_flight <= MAX_IN_FLIGHT:
        problems.append(f"{at}.max_in_flight: 1 to {MAX_IN_FLIGHT} (Xero's limit per tenant)")
    form = s.get("currency_rate_form", "foreign_per_base")
    if form not in RATE_FORMS:
        problems.append(f"{at}.currency_rate_form: one of {', '.join(RATE_FORMS)}")
    since = s.get("payments_since")
    if since is not None:
        try:
            parse_time(str(since))
        except ValueError:
            problems.append(f"{at}.payments_since: an ISO 8601 date-time")
    if problems:
        raise ConnectorConfigInvalid(problems)
    assert mapping is not None and client_secret is not None
    return XeroSettings(
        mapping=mapping, tenants=tenants, client_id=str(s["client_id"]),
        client_secret=client_secret, grant=str(grant), refresh_token=refresh_token,
        token_store=_resolve(store, base_dir) if store else None,
        webhook_key=secret("webhook_key"),
        tracking={str(k): str(v) for k, v in tracking.items()},
        payments_since=str(since) if since else None, page_size=page_size,
        max_in_flight=in_flight, currency_rate_form=str(form),
        base_url=str(s.get("base_url") or BASE_URL).rstrip("/"),
        token_url=str(s.get("token_url") or TOKEN_URL))


def _resolve(path: Any, base_dir: Path | None) -> Path:
    p = Path(str(path))
    return p if p.is_absolute() or base_dir is None else base_dir / p
