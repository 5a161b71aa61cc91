"""What every check of the close reconciliation writes to: ``Recon`` collects the summary rows
(one per check, entity and unit) and the differences by cause and object; ``gl_balance`` is
the GL side of most checks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from syncline.ledger.accounts import ChartOfAccounts
from syncline.ledger.carried import Books, Carried
from syncline.ledger.fx import REVALUES
from syncline.ledger.journal import JournalEntry
from syncline.ledger.reports import Cell
from syncline.services.ledger.reports.common import ZERO

CHECK_COLUMNS = ("check", "entity", "unit", "expected", "actual", "difference", "differences",
                 "status", "note")
DIFF_COLUMNS = ("check", "cause", "object", "id", "entity", "unit", "expected", "actual",
                "difference", "detail")


@dataclass
class Recon:
    checks: list[tuple[Cell, ...]] = field(default_factory=list)
    diffs: list[tuple[Cell, ...]] = field(default_factory=list)

    def diff(self, check: str, cause: str, obj: str, obj_id: str, entity: str, unit: str,
             expected: Decimal, actual: Decimal, detail: str = "") -> None:
        self.diffs.append((check, cause, obj, obj_id, entity, unit, expected, actual,
                           actual - expected, detail))

    def check(self, check: str, totals: Mapping[tuple[str, str], tuple[Decimal, Decimal]],
              note: str = "", *, entity: str | None = None) -> None:
        """One summary row per (entity, unit): expected vs actual and the differences found."""
        keys = sorted(k for k in totals if not entity or k[0] == entity)
        if not keys:
            self.checks.append((check, entity or "", "", ZERO, ZERO, ZERO, "0", "ok",
                                note or "nothing to reconcile"))
        for ent, unit in keys:
            expected, actual = totals[(ent, unit)]
            count = sum(1 for d in self.diffs if d[0] == check and d[4] == ent and d[5] == unit)
            status = "ok" if expected == actual and count == 0 else "differences"
            self.checks.append((check, ent, unit, expected, actual, actual - expected,
                                str(count), status, note))

    def attribute(self, check: str, entity: str, unit: str, *, obj: str,
                  subledger: Mapping[str, Decimal], gl: Mapping[str, Decimal],
                  gl_total: Decimal, causes: tuple[str, str, str], rest: tuple[str, str, str],
                  detail: str = "") -> None:
        """The differences of one (entity, unit) that does not agree, listed so that they sum
        to its gap (GL total − subledger total): each object's subledger amount against the
        GL amount attributed to it, then the GL not attributed to any object as one row.
        ``causes``: (only in the subledger, only in the GL, both but different);
        ``rest``: (cause, object, id) of the unattributed GL row."""
        only_sub, only_gl, both = causes
        for key in sorted(set(subledger) | set(gl)):
            expected, actual = subledger.get(key, ZERO), gl.get(key, ZERO)
            if expected != actual:
                cause = only_sub if not actual else only_gl if not expected else both
                self.diff(check, cause, obj, key, entity, unit, expected, actual, detail)
        left = gl_total - sum(gl.values(), ZERO)
        if left:
            self.diff(check, rest[0], rest[1], rest[2], entity, unit, ZERO, left,
                      "GL balance not attributable to one " + obj)

    def skipped(self, check: str, note: str) -> None:
        self.checks.append((check, "", "", ZERO, ZERO, ZERO, "0", "skipped", note))


def gl_balance(entries: Iterable[JournalEntry], charts: Mapping[str, ChartOfAccounts],
                role: str) -> dict[tuple[str, str], Decimal]:
    """Debit-positive balance per (entity, currency) of the account playing ``role``, in
    transaction currency: lines that only restate a foreign balance in the functional currency
    (marked ``fx_revalues``: revaluations, the carrying part of a settlement) are left out —
    they belong to the foreign balance, which the revaluation check follows."""
    out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for e in entries:
        chart = charts.get(e.entity_id)
        if chart is None or not any(a.role == role for a in chart.accounts):
            continue
        code = chart.code(role)
        for ln in e.lines:
            if ln.account == code and REVALUES not in dict(ln.dimensions):
                out[(e.entity_id, ln.amount.currency)] += ln.signed
    return out


def carried_on(books: Books, charts: Mapping[str, ChartOfAccounts], role: str
               ) -> Iterable[Carried]:
    """The carried rows on the account playing ``role`` that ``gl_balance`` counts (the
    lines restating a foreign balance left out)."""
    codes = {ent: chart.code(role) for ent, chart in charts.items()
             if any(a.role == role for a in chart.accounts)}
    return (c for c in books.carried
            if not c.key.revalues and c.key.account == codes.get(c.key.entity))


def books_balance(books: Books, charts: Mapping[str, ChartOfAccounts],
                  role: str) -> dict[tuple[str, str], Decimal]:
    """``gl_balance`` of the whole books: the carried balances plus the entries after."""
    out = defaultdict(Decimal, gl_balance(books.entries, charts, role))
    for c in carried_on(books, charts, role):
        out[(c.key.entity, c.key.currency)] += c.amount
    return out
