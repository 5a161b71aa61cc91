"""The QuickBooks Online target's settings (``settings:`` of a ``kind: quickbooks`` connector).

Besides the shared ERP mapping (connectors/erp/mapping.py: entities, accounts, ar_accounts,
tax_codes, dimensions, revenue/deferred account) QBO needs:

- ``realm_id``, ``client_id``, ``client_secret`` (secret), ``refresh_token`` (secret: the seed
  only), ``token_store`` (the JSON file rotated refresh tokens are persisted to; relative to
  the wiring's base dir), ``verifier_token`` (secret, webhooks; optional);
- ``home_currency`` (checked against Preferences), ``minorversion`` (default 75, the lowest
  Intuit still serves), ``environment`` (production | sandbox) or ``base_url``;
- ``items``: Syncline account code → QBO Item id. QBO books an invoice line to the *income
  account of its Item* (SalesItemLineDetail has no account of its own), so the revenue and the
  deferred account each need a service Item whose IncomeAccountRef is the mapped account
  (``validate`` checks that);
- ``tax_model``: ``automated_sales_tax`` (US companies: line TaxCodeRef is ``TAX`` or
  ``NON``) or ``global`` (line TaxCodeRef is a TaxCode id, TxnTaxDetail names it);
- ``dimension_targets``: Syncline dimension → ``Class`` or ``Department`` (default
  ``{service_line: Class}``);
- ``receivable_accounts``: Syncline codes that are accounts receivable (default ["1100"]):
  a journal line on one is refused (QBO needs a customer on A/R lines; documents carry AR);
- ``invoice_prefixes``: DocNumber prefixes that mark a Syncline invoice for the payments
  stream (default: ``<entity>-`` for each mapped entity);
- ``since`` (first payments read), ``cdc_overlap_seconds`` (default 300).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from syncline.connectors.erp.mapping import ErpMapping, parse_mapping
from syncline.connectors.sdk.config import ConnectorConfig, ConnectorConfigInvalid
from syncline.connectors.sdk.secrets import MissingSecret, Secret, resolve
from syncline.connectors.sdk.settings import since_of

HOSTS = {"production": "https://quickbooks.api.intuit.com",
         "sandbox": "https://sandbox-quickbooks.api.intuit.com"}
TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
MIN_MINOR_VERSION = 75
TAX_MODELS = ("automated_sales_tax", "global")
DIMENSION_TARGETS = ("Class", "Department")


@dataclass(frozen=True)
class QboSettings:
    realm_id: str
    client_id: str
    client_secret: Secret
    refresh_token: Secret | None
    token_store: Path
    mapping: ErpMapping
    home_currency: str
    items: dict[str, str]
    base_url: str = HOSTS["production"]
    token_url: str = TOKEN_URL
    minorversion: int = MIN_MINOR_VERSION
    verifier_token: Secret | None = None
    tax_model: str = "automated_sales_tax"
    dimension_targets: dict[str, str] = field(default_factory=lambda: {"service_line": "Class"})
    receivable_accounts: tuple[str, ...] = ("1100",)
    invoice_prefixes: tuple[str, ...] = ()
    since: str | None = None
    cdc_overlap_seconds: int = 300


def parse(config: ConnectorConfig, env: dict[str, str] | None, base_dir: Path) -> QboSettings:
    s, problems = config.settings, []
    at = f"connector {config.name}: settings."
    mapping, mapping_problems = parse_mapping(s, f"connector {config.name}: settings")
    problems += mapping_problems
    if mapping is not None and mapping.status != "posted":
        problems.append(f"{at}status: QuickBooks Online has no draft invoices, credit memos or "
                        "journal entries (every saved transaction posts): use posted")

    def secret(key: str, required: bool) -> Secret | None:
        raw = s.get(key)
        if raw is None and not required:
            return None
        try:
            return resolve(str(raw or ""), env)
        except MissingSecret as missing:
            problems.append(f"{at}{key}: {missing}")
            return None

    def text(key: str) -> str:
        raw = s.get(key)
        if not isinstance(raw, str | int) or not str(raw).strip():
            problems.append(f"{at}{key}: required")
            return ""
        return str(raw).strip()

    def codes(key: str) -> dict[str, str]:
        raw = s.get(key, {})
        if not isinstance(raw, dict):
            problems.append(f"{at}{key}: a mapping of Syncline code → QBO id")
            return {}
        return {str(k): str(v) for k, v in raw.items()}

    realm, client_id = text("realm_id"), text("client_id")
    client_secret = secret("client_secret", True)
    seed = secret("refresh_token", False)
    verifier = secret("verifier_token", False)
    store = Path(text("token_store") or ".")
    home = text("home_currency").upper()
    minor = s.get("minorversion", MIN_MINOR_VERSION)
    if not isinstance(minor, int) or minor < MIN_MINOR_VERSION:
        problems.append(f"{at}minorversion: a whole number ≥ {MIN_MINOR_VERSION} (Intuit "
                        "retired older minor versions in 2025)")
        minor = MIN_MINOR_VERSION
    env_name = s.get("environment", "production")
    if env_name not in HOSTS:
        problems.append(f"{at}environment: production or sandbox (got {env_name!r})")
        env_name = "production"
    tax_model = s.get("tax_model", "automated_sales_tax")
    if tax_model not in TAX_MODELS:
        problems.append(f"{at}tax_model: one of {', '.join(TAX_MODELS)}")
    targets = codes("dimension_targets") or {"service_line": "Class"}
    for dim, target in targets.items():
        if target not in DIMENSION_TARGETS:
            problems.append(f"{at}dimension_targets.{dim}: Class or Department")
    items = codes("items")
    if mapping is not None:
        for code in mapping.invoice_accounts():
            if code not in items:
                problems.append(f"{at}items: no Item for account {code} (invoice lines book "
                                "to an Item's income account)")
    since = since_of(s, at, problems)
    receivable = s.get("receivable_accounts", ["1100"])
    prefixes = s.get("invoice_prefixes")
    if problems:
        raise ConnectorConfigInvalid(problems)
    assert mapping is not None and client_secret is not None
    return QboSettings(
        realm_id=realm, client_id=client_id, client_secret=client_secret, refresh_token=seed,
        token_store=store if store.is_absolute() else base_dir / store, mapping=mapping,
        home_currency=home, items=items,
        base_url=str(s.get("base_url") or HOSTS[str(env_name)]).rstrip("/"),
        token_url=str(s.get("token_url") or TOKEN_URL), minorversion=minor,
        verifier_token=verifier, tax_model=str(tax_model), dimension_targets=targets,
        receivable_accounts=tuple(str(c) for c in receivable),
        invoice_prefixes=tuple(str(p) for p in prefixes) if prefixes
        else tuple(f"{e}-" for e in mapping.entities),
        since=since, cdc_overlap_seconds=int(s.get("cdc_overlap_seconds", 300)))
