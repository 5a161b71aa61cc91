"""The books as a Beancount file that ``bean-check`` accepts.

Account names are ``<Root>:<Entity>:<Name>``: the root from the account type (Assets,
Liabilities, Equity, Income, Expenses), the entity id and the account name made into valid
components (``Assets:US01:AccountsReceivable``). If two accounts of one entity would get the
same name, both get their code appended (``…:RevenueConsulting-4000``). Every chart account is
opened (with its code and role as metadata) on the first posting date; every currency gets a
``commodity`` directive. Each entry is one transaction: debits positive, credits negative, in
the transaction currency, with metadata linking back to Syncline (``entity``, ``source_type``,
``source_id``, ``reverses``) and a link ``^<source_id>``; lines carry their memo, functional
amount, FX rate/source/date and dimensions (``dim_<name>``) as posting metadata.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date

from syncline.ledger.accounts import AccountType, ChartOfAccounts
from syncline.ledger.exports.common import Exported, ExportError
from syncline.ledger.journal import JournalEntry, JournalLine, Side

ROOTS: dict[AccountType, str] = {
    AccountType.ASSET: "Assets",
    AccountType.LIABILITY: "Liabilities",
    AccountType.EQUITY: "Equity",
    AccountType.REVENUE: "Income",
    AccountType.EXPENSE: "Expenses",
}


def component(text: str, fallback: str = "X") -> str:
    """A valid Beancount account component: ASCII letters/digits/dashes, capital first."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = [w for w in re.split(r"[^A-Za-z0-9]+", ascii_text) if w]
    name = "".join(w[0].upper() + w[1:] for w in words)
    return name if name else fallback


def entity_component(entity_id: str) -> str:
    """``US01`` → ``US01``; ``ent_01hx`` → ``Ent-01hx`` (dashes keep ids readable)."""
    ascii_text = unicodedata.normalize("NFKD", entity_id).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-")
    if not cleaned:
        return "Entity"
    return cleaned[0].upper() + cleaned[1:] if cleaned[0].isalpha() else f"E{cleaned}"


def account_names(
    charts: Mapping[str, ChartOfAccounts],
) -> dict[tuple[str, str], str] | tuple[ExportError, ...]:
    """``(entity_id, account code) -> Beancount account name`` for every chart account."""
    names: dict[tuple[str, str], str] = {}
    seen_entities: dict[str, str] = {}
    errors: list[ExportError] = []
    for entity_id, chart in charts.items():
        ent = entity_component(entity_id)
        if ent in seen_entities:
            errors.append(ExportError(entity_id, "", "entity_name_clash",
                                      f"entities {seen_entities[ent]!r} and {entity_id!r} both "
                                      f"become {ent!r} in Beancount"))
            continue
        seen_entities[ent] = entity_id
        base = {a.code: f"{ROOTS[a.type]}:{ent}:{component(a.name, 'Account')}"
                for a in chart.accounts}
        counts: dict[str, int] = defaultdict(int)
        for name in base.values():
            counts[name] += 1
        for code, name in base.items():
            names[(entity_id, code)] = (f"{name}-{component(code, 'X')}" if counts[name] > 1
                                        else name)
    return tuple(errors) if errors else names


def _string(text: str) -> str:
    flat = " ".join(text.split())
    return '"' + flat.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _meta_key(name: str) -> str:
    key = re.sub(r"[^A-Za-z0-9_-]+", "_", name).lower().strip("_-")
    return key if key and key[0].isalpha() else f"k_{key}"


def _link(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9\-_/.]+", "-", text).strip("-") or "entry"


def _posting(ln: JournalLine, account: str) -> list[str]:
    number = ln.amount.amount if ln.side is Side.DEBIT else -ln.amount.amount
    out = [f"  {account}  {number:f} {ln.amount.currency}"]
    meta: list[tuple[str, str]] = []
    if ln.memo:
        meta.append(("memo", _string(ln.memo)))
    if ln.functional is not None:
        f_number = ln.functional.amount if ln.side is Side.DEBIT else -ln.functional.amount
        meta.append(("functional", f"{f_number:f} {ln.functional.currency}"))
    if ln.fx_rate is not None:
        meta.append(("fx_rate", f"{ln.fx_rate:f}"))
    if ln.fx_source:
        meta.append(("fx_source", _string(ln.fx_source)))
    if ln.fx_date is not None:
        meta.append(("fx_date", ln.fx_date.isoformat()))
    for key, value in ln.dimensions:
        meta.append((f"dim_{_meta_key(key)}", _string(value)))
    out.extend(f"    {k}: {v}" for k, v in meta)
    return out


def _transaction(entry: JournalEntry, names: Mapping[tuple[str, str], str]) -> list[str]:
    links = [f"^{_link(entry.source_id)}"]
    if entry.reverses:
        links.append(f"^{_link(entry.reverses)}")
    out = [f"{entry.posting_date.isoformat()} * {_string(entry.description)} {' '.join(links)}"]
    meta = [("entity", entry.entity_id), ("source_type", entry.source_type),
            ("source_id", entry.source_id)]
    if entry.reverses:
        meta.append(("reverses", entry.reverses))
    meta.extend(entry.metadata)
    used: set[str] = set()
    for key, value in meta:
        k = _meta_key(key)
        if k in used:
            continue
        used.add(k)
        out.append(f"  {k}: {_string(value)}")
    for ln in entry.lines:
        out.extend(_posting(ln, names[(entry.entity_id, ln.account)]))
    return out


def to_beancount(
    entries: Iterable[JournalEntry],
    charts: Mapping[str, ChartOfAccounts],
    *,
    title: str = "Syncline books",
    open_date: date | None = None,
    operating_currencies: Iterable[str] = (),
) -> Exported[str]:
    """The Beancount text of ``entries`` in the charts of their entities.

    An entry whose entity has no chart, or whose line names an account code the chart does
    not have, is left out and reported as an ``ExportError``.
    """
    entries = sorted(entries, key=lambda e: e.posting_date)  # stable: input order per day
    names = account_names(charts)
    if isinstance(names, tuple):
        return Exported("", names)
    errors: list[ExportError] = []
    kept: list[JournalEntry] = []
    for entry in entries:
        if entry.entity_id not in charts:
            errors.append(ExportError(entry.entity_id, entry.source_id, "no_chart",
                                      f"no chart of accounts for entity {entry.entity_id!r}"))
            continue
        unknown = sorted({ln.account for ln in entry.lines
                          if (entry.entity_id, ln.account) not in names})
        if unknown:
            errors.append(ExportError(entry.entity_id, entry.source_id, "unknown_account",
                                      f"account code(s) {unknown} not in the chart of "
                                      f"{entry.entity_id}"))
            continue
        kept.append(entry)
    start = open_date or (kept[0].posting_date if kept else date(1970, 1, 1))
    if kept and kept[0].posting_date < start:
        start = kept[0].posting_date
    currencies: set[str] = set(operating_currencies)
    for entry in kept:
        for ln in entry.lines:
            currencies.add(ln.amount.currency)
            if ln.functional is not None:
                currencies.add(ln.functional.currency)
    out = [f"option \"title\" {_string(title)}"]
    out.extend(f'option "operating_currency" "{c}"' for c in operating_currencies)
    out.append("")
    out.extend(f"{start.isoformat()} commodity {c}" for c in sorted(currencies))
    out.append("")
    for entity_id, chart in charts.items():
        for a in chart.accounts:
            out.append(f"{start.isoformat()} open {names[(entity_id, a.code)]}")
            out.append(f"  code: {_string(a.code)}")
            out.append(f"  role: {_string(a.role)}")
    for entry in kept:
        out.append("")
        out.extend(_transaction(entry, names))
    return Exported("\n".join(out) + "\n", tuple(errors))
