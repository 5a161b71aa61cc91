"""Close reconciliation, intercompany: the provider's receivable vs the recipient's payable per
entity pair and currency, and the period's cross-entity time vs the hours charged for it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import Connection

from syncline.ledger.accounts import ChartOfAccounts
from syncline.ledger.carried import Books
from syncline.ledger.intercompany import CHARGE, COUNTERPARTY, intercompany_mismatches
from syncline.ledger.periods import period_start
from syncline.services.close.intercompany import SOURCE_TYPE, cross_entity_time, source_id
from syncline.services.ledger.carried import load_books
from syncline.services.ledger.held import held
from syncline.services.ledger.queries import period_end
from syncline.services.ledger.reconciliation.core import Recon
from syncline.services.ledger.reconciliation.exceptions import blocking, ledger_exceptions
from syncline.services.ledger.reports.common import ZERO


def intercompany_checks(conn: Connection, rec: Recon, period: str,
                         books: Books, charts: Mapping[str, ChartOfAccounts],
                         entity: str | None) -> None:
    """Receivable held by the provider = payable held by the recipient, per entity pair and
    currency (every entity's books, whichever entity is closed); and the period's
    cross-entity time = the hours charged for it."""
    check = "intercompany receivable = payable"
    if entity is not None:  # every entity's books
        books = load_books(conn, period, charts)
    charged = [e for e in books.entries if e.source_type == SOURCE_TYPE]
    mismatched = {(m.creditor, m.debtor, m.currency) for m in
                  intercompany_mismatches(books.entries, charts, books.carried)}
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    by_source: dict[tuple[str, str, str], dict[str, list[Decimal]]] = defaultdict(
        lambda: defaultdict(lambda: [ZERO, ZERO]))
    # the books carried (ADR 0014) as (entity, account, counterparty, currency, charge, amount)
    lines = [(c.key.entity, c.key.account, c.key.counterparty or None, c.key.currency,
              c.key.charge, c.amount) for c in books.carried]
    lines += [(e.entity_id, ln.account, dict(ln.dimensions).get(COUNTERPARTY),
               ln.amount.currency, dict(e.metadata).get(CHARGE, f"{e.source_type}:{e.source_id}"),
               ln.signed) for e in books.entries for ln in e.lines]
    roles_of: dict[str, dict[str, str]] = {}
    for ent, account, other, currency, charge, signed in lines:
        chart = charts.get(ent)
        if chart is None:
            continue
        if ent not in roles_of:
            roles_of[ent] = {a.code: a.role for a in chart.accounts
                             if a.role in ("intercompany_receivable", "intercompany_payable")}
        role = roles_of[ent].get(account)
        if other is None or role is None:
            continue
        receivable = role == "intercompany_receivable"
        pair = (ent, other) if receivable else (other, ent)
        if entity and entity not in pair:
            continue
        key = (pair[0], pair[1], currency)
        side = 0 if receivable else 1
        amount = signed if receivable else -signed
        row = (entity or pair[0], f"{currency} {pair[0]}->{pair[1]}")
        totals[row][side] += amount
        by_source[key][charge][side] += amount
    for (creditor, debtor, cur), sources in sorted(by_source.items()):
        if (creditor, debtor, cur) not in mismatched:
            continue
        for obj, (rec_amt, pay_amt) in sorted(sources.items()):
            if rec_amt == pay_amt:
                continue
            cause = ("payable_not_posted" if not pay_amt else
                     "receivable_not_posted" if not rec_amt else "amount_differs")
            rec.diff(check, cause, "intercompany_charge", obj, entity or creditor,
                     f"{cur} {creditor}->{debtor}", rec_amt, pay_amt,
                     f"{creditor}'s receivable from {debtor} vs {debtor}'s payable to "
                     f"{creditor}")
    rec.check(check, {k: (v[0], v[1]) for k, v in totals.items()},
              "balances to the period end: provider's receivable (expected) vs recipient's "
              "payable (actual)", entity=entity)

    check = "cross-entity time = intercompany charges"
    hours: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    expected: dict[str, tuple[str, str, Decimal]] = {}
    start, end = period_start(period), period_end(period)
    for t in held(conn, ("cross_entity_time", start, end),  # every scope's
                  lambda: cross_entity_time(conn, start, end)):
        if entity and entity not in (t.provider, t.recipient):
            continue
        sid = source_id(t.provider, t.recipient, t.project, period)
        _, _, h = expected.get(sid, (t.provider, t.recipient, ZERO))
        expected[sid] = (t.provider, t.recipient, h + t.hours)
    posted: dict[str, Decimal] = {}
    for e in charged:
        meta = dict(e.metadata)
        charge = meta.get(CHARGE, "")
        if meta.get("period") == period and charge.split(":")[1:2] == [e.entity_id]:
            posted[charge] = Decimal(meta.get("hours", "0"))  # the provider's entry
    open_excs = ledger_exceptions(conn)
    for sid in sorted(set(expected) | set(posted)):
        provider, recipient = sid.split(":")[1:3]
        if entity and entity not in (provider, recipient):
            continue
        want = expected.get(sid, (provider, recipient, ZERO))[2]
        got = posted.get(sid, ZERO)
        row = (entity or provider, f"hours {provider}->{recipient}")
        hours[row][0] += want
        hours[row][1] += got
        if want != got:
            cause = ("charge_not_posted" if not got else "charged_without_time" if not want
                     else "time_after_charge")
            why = blocking(open_excs, (("journal", f"{SOURCE_TYPE}:{sid}"),
                                        ("journal", f"{SOURCE_TYPE}:{sid}:{provider}"),
                                        ("journal", f"{SOURCE_TYPE}:{sid}:{recipient}"),
                                        ("period", f"{provider}:{period}"),
                                        ("period", f"{recipient}:{period}")))
            rec.diff(check, cause, "intercompany_charge", sid, row[0], row[1],
                     want, got, f"exception {why}" if why else
                     "approved cross-entity hours of the period vs hours charged")
    rec.check(check, {k: (v[0], v[1]) for k, v in hours.items()},
              "approved hours of workers on other entities' projects vs hours charged",
              entity=entity)
