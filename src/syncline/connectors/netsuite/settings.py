"""The NetSuite target's settings (``settings:`` of a ``kind: netsuite`` connector).

Besides the shared ERP mapping (``connectors/erp/mapping.py``: entities, status, accounts,
ar_accounts, tax_codes, dimensions, revenue/deferred account) NetSuite needs:

- ``account_id``: the realm (``1234567`` or ``1234567_SB1``); the host is derived from it
  (lower-case, ``_`` → ``-``) unless ``base_url`` is given;
- the four TBA secrets as references: ``consumer_key``, ``consumer_secret``, ``token_id``,
  ``token_secret``;
- ``subsidiaries``: legal entity → ``{id, currency}`` (the subsidiary's internal id and its
  base currency: a document in another currency is foreign and carries its rate);
- ``currencies``: ISO code → NetSuite currency internal id;
- ``items``: Syncline account → the internal id of the service item whose income account is
  that account (NetSuite invoice lines post through items, not accounts);
- ``dimension_fields``: Syncline dimension → NetSuite segment (``class``, ``department``,
  ``location``; default ``service_line: class``);
- ``concurrency`` (default 2: NetSuite limits concurrent requests per account), ``page_size``
  (SuiteQL, 1-1000, default 1000), ``since`` (the payments stream's first cursor),
  ``timezone`` (how SuiteQL's dates are read; default UTC).

Every problem is reported at once, by key. See docs/connectors/netsuite.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from syncline.connectors.erp.mapping import ErpMapping, parse_mapping
from syncline.connectors.sdk.config import ConnectorConfig, ConnectorConfigInvalid
from syncline.connectors.sdk.secrets import MissingSecret, Secret, resolve

SEGMENTS = ("class", "department", "location")
SECRETS = ("consumer_key", "consumer_secret", "token_id", "token_secret")


@dataclass(frozen=True)
class Subsidiary:
    id: str
    currency: str  # ISO code of its base currency


@dataclass(frozen=True)
class NetSuiteSettings:
    account_id: str
    secrets: dict[str, Secret]
    mapping: ErpMapping
    subsidiaries: dict[str, Subsidiary]
    currencies: dict[str, str]
    items: dict[str, str]
    dimension_fields: dict[str, str] = field(default_factory=lambda: {"service_line": "class"})
    base_url: str = ""
    concurrency: int = 2
    page_size: int = 1000
    since: str = "1970-01-01T00:00:00"
    timezone: str = "UTC"

    @property
    def ui_url(self) -> str:
        return f"https://{host_id(self.account_id)}.app.netsuite.com"


def host_id(account_id: str) -> str:
    """``1234567_SB1`` → ``1234567-sb1`` (the host part; the realm keeps ``_SB1``)."""
    return account_id.lower().replace("_", "-")


def parse(config: ConnectorConfig, env: dict[str, str] | None) -> NetSuiteSettings:
    s, problems = config.settings, []
    at = f"connector {config.name}: settings"
    mapping, mapping_problems = parse_mapping(s, at)
    problems += mapping_problems

    secrets: dict[str, Secret] = {}
    for key in SECRETS:
        try:
            secrets[key] = resolve(str(s.get(key, "")), env)
        except MissingSecret as missing:
            problems.append(f"{at}.{key}: {missing}")
    account = str(s.get("account_id", "")).strip()
    if not account or not account.replace("_", "").isalnum():
        problems.append(f"{at}.account_id: the NetSuite account id (e.g. 1234567 or "
                        "1234567_SB1)")

    def mapping_of(key: str) -> dict[str, str]:
        raw = s.get(key, {})
        if not isinstance(raw, dict):
            problems.append(f"{at}.{key}: a mapping")
            return {}
        return {str(k): str(v) for k, v in raw.items()}

    subsidiaries: dict[str, Subsidiary] = {}
    raw_subs = s.get("subsidiaries", {})
    if not isinstance(raw_subs, dict):
        raw_subs = {}
        problems.append(f"{at}.subsidiaries: legal entity → {{id, currency}}")
    for entity, sub in raw_subs.items():
        if not isinstance(sub, dict) or not sub.get("id") or not sub.get("currency"):
            problems.append(f"{at}.subsidiaries.{entity}: {{id: <internal id>, currency: "
                            "<ISO code>}}")
            continue
        subsidiaries[str(entity)] = Subsidiary(str(sub["id"]), str(sub["currency"]))
    if mapping is not None:
        for entity in mapping.entities:
            if entity not in subsidiaries:
                problems.append(f"{at}.subsidiaries: no subsidiary for entity {entity}")
    currencies = mapping_of("currencies")
    for entity, sub in subsidiaries.items():
        if sub.currency not in currencies:
            problems.append(f"{at}.currencies: no id for {sub.currency} (subsidiary of "
                            f"{entity})")
    items = mapping_of("items")
    if mapping is not None:
        for code in mapping.invoice_accounts():
            if code not in items:
                problems.append(f"{at}.items: no service item for account {code} (invoice "
                                "lines post through an item whose income account it is)")
    dims = mapping_of("dimension_fields") or {"service_line": "class"}
    bad = sorted(v for v in dims.values() if v not in SEGMENTS)
    if bad:
        problems.append(f"{at}.dimension_fields: {', '.join(bad)} not one of "
                        f"{', '.join(SEGMENTS)}")
    concurrency = s.get("concurrency", 2)
    if not isinstance(concurrency, int) or not 1 <= concurrency <= 50:
        problems.append(f"{at}.concurrency: 1 to 50 concurrent requests")
        concurrency = 2
    page_size = s.get("page_size", 1000)
    if not isinstance(page_size, int) or not 1 <= page_size <= 1000:
        problems.append(f"{at}.page_size: 1 to 1000 (SuiteQL's page maximum)")
        page_size = 1000
    timezone = str(s.get("timezone", "UTC"))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"{at}.timezone: an IANA zone name (got {timezone!r})")
    if problems:
        raise ConnectorConfigInvalid(problems)
    assert mapping is not None
    base_url = str(s.get("base_url") or
                   f"https://{host_id(account)}.suitetalk.api.netsuite.com").rstrip("/")
    return NetSuiteSettings(
        account_id=account, secrets=secrets, mapping=mapping, subsidiaries=subsidiaries,
        currencies=currencies, items=items, dimension_fields=dims, base_url=base_url,
        concurrency=concurrency, page_size=page_size,
        since=str(s.get("since", "1970-01-01T00:00:00")), timezone=timezone)
