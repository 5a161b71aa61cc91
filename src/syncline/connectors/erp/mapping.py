"""The mapping of one ERP target: Syncline's codes to the vendor's ids, from the settings.

```yaml
settings:
  entities: [US01]              # the legal entities this target posts for
  status: posted                # or draft, where the vendor has drafts
  accounts:                     # Syncline account code → vendor account id
    "1100": "122"               # accounts receivable (per currency where the vendor needs)
    "4000": "54"
  ar_accounts: {USD: "122", EUR: "123"}   # where the vendor keeps one A/R per currency
  tax_codes: {US-EXEMPT: "NON", GB-VAT-STD: "20.0% S"}
  dimensions: {service_line: {advisory: "7"}}          # → class, tracking category …
  revenue_account: "4000"       # the Syncline account invoice lines book to
  deferred_account: "2300"      # lines billed ahead of service (contract liability)
  revenue_accounts:             # optional: per service line, else revenue_account
    advisory: "4010"
    implementation: "4020"
  deferred_accounts: {advisory: "2310"}   # optional: per service line, else deferred_account
```

Revenue by service line: an invoice or credit note line books to its document's service
line's account (``revenue_accounts``, or ``deferred_accounts`` for a line billed ahead of
service) when the mapping names one, else to the single ``revenue_account`` /
``deferred_account``. Each such account is a Syncline code that ``accounts`` must map (and,
where lines post through items, ``items``), so the vendor's ``validate()`` checks it before
first use like any other mapped account. Only ERP payloads change: Syncline's own ledger
keeps its accounts.

``problems`` names every missing or malformed key; ``unmapped`` names the Syncline codes a
document uses that the mapping lacks (a finance exception before anything is sent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ErpMapping:
    entities: tuple[str, ...]
    status: str = "posted"
    accounts: dict[str, str] = field(default_factory=dict)
    ar_accounts: dict[str, str] = field(default_factory=dict)
    tax_codes: dict[str, str] = field(default_factory=dict)
    dimensions: dict[str, dict[str, str]] = field(default_factory=dict)
    revenue_account: str = "4000"
    deferred_account: str = "2300"
    revenue_accounts: dict[str, str] = field(default_factory=dict)  # service line → code
    deferred_accounts: dict[str, str] = field(default_factory=dict)

    def line_account(self, service_line: Any, deferred: bool) -> str:
        """The Syncline account a document line books to: its service line's, else the
        single revenue (or deferred revenue) account."""
        if deferred:
            return self.deferred_accounts.get(str(service_line or ""), self.deferred_account)
        return self.revenue_accounts.get(str(service_line or ""), self.revenue_account)

    def invoice_accounts(self) -> list[str]:
        """Every account a document line can book to (each needs a mapping, or an item)."""
        return sorted({self.revenue_account, self.deferred_account,
                       *self.revenue_accounts.values(), *self.deferred_accounts.values()})

    def account(self, code: str) -> str | None:
        return self.accounts.get(code)

    def tax_code(self, profile: str) -> str | None:
        return self.tax_codes.get(profile)

    def unmapped(self, kind: str, payload: dict[str, Any]) -> list[str]:
        missing: list[str] = []
        if kind == "erp.invoice.post":
            if payload.get("tax_code") and payload["tax_code"] not in self.tax_codes:
                missing.append(f"tax code {payload['tax_code']}")
            for line in payload.get("lines") or [{"deferred": False}, {"deferred": True}]:
                code = self.line_account(payload.get("service_line"),
                                         bool(line.get("deferred")))
                if code not in self.accounts:
                    missing.append(f"account {code}")
        if kind == "erp.journal.post":
            for line in payload.get("lines", []):
                if str(line[0]) not in self.accounts:
                    missing.append(f"account {line[0]}")
        return sorted(set(missing))


def parse_mapping(settings: dict[str, Any], where: str) -> tuple[ErpMapping | None, list[str]]:
    problems: list[str] = []
    entities = settings.get("entities")
    if not isinstance(entities, list) or not entities or not all(
            isinstance(e, str) for e in entities):
        problems.append(f"{where}.entities: a list of legal entity codes (e.g. [US01])")
        entities = []
    status = settings.get("status", "posted")
    if status not in ("posted", "draft"):
        problems.append(f"{where}.status: posted or draft (got {status!r})")
    maps: dict[str, dict[str, str]] = {}
    for key in ("accounts", "ar_accounts", "tax_codes"):
        value = settings.get(key, {})
        if not isinstance(value, dict):
            problems.append(f"{where}.{key}: a mapping of Syncline code → vendor id")
            value = {}
        maps[key] = {str(k): str(v) for k, v in value.items()}
    by_line: dict[str, dict[str, str]] = {}
    for key in ("revenue_accounts", "deferred_accounts"):
        value = settings.get(key, {})
        if not isinstance(value, dict):
            problems.append(f"{where}.{key}: a mapping of service line → Syncline account code")
            value = {}
        by_line[key] = {str(k): str(v) for k, v in value.items()}
        for line, code in sorted(by_line[key].items()):
            if code not in maps["accounts"]:
                problems.append(f"{where}.{key}.{line}: account {code} is not in accounts "
                                "(map it to the vendor's account)")
    dims = settings.get("dimensions", {})
    if not isinstance(dims, dict) or not all(isinstance(v, dict) for v in dims.values()):
        problems.append(f"{where}.dimensions: dimension → (Syncline code → vendor id)")
        dims = {}
    if problems:
        return None, problems
    return ErpMapping(
        entities=tuple(entities), status=str(status), accounts=maps["accounts"],
        ar_accounts=maps["ar_accounts"], tax_codes=maps["tax_codes"],
        dimensions={str(d): {str(k): str(v) for k, v in m.items()} for d, m in dims.items()},
        revenue_account=str(settings.get("revenue_account", "4000")),
        deferred_account=str(settings.get("deferred_account", "2300")),
        revenue_accounts=by_line["revenue_accounts"],
        deferred_accounts=by_line["deferred_accounts"]), []
