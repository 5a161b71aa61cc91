"""Stage 3 of the run, **select**: what blocks a contract whole (tax code, FX rate), and the
drawdown of a retainer's time against its included hours, month by month."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from syncline.billing.fx import FxRateMissing, lookup_rate
from syncline.billing.items import OPEN_STATUSES, BillableItem, ItemSource
from syncline.billing.retainers import draw_down, month_start
from syncline.billing.run.inputs import ContractTerms, RunInput
from syncline.billing.run.item_ledger import ItemLedger
from syncline.billing.tax import TaxCode, TaxCodeMissing, find_tax_code
from syncline.domain.errors import Problem


def blocking_problem(inp: RunInput, c: ContractTerms) -> Problem | TaxCode | None:
    tax = find_tax_code(inp.tax_codes, c.tax_code, contract_number=c.contract_number)
    if isinstance(tax, TaxCodeMissing):
        return tax.problem()
    fx = lookup_rate(inp.fx_rates, base=c.currency, quote=inp.entity.functional_currency,
                     on=inp.period_end)
    if isinstance(fx, FxRateMissing):
        return fx.problem(("contract", c.contract_number))
    return None


def draw_down_time(c: ContractTerms, items: list[BillableItem], ledger: ItemLedger,
                   ) -> list[BillableItem]:
    if c.retainer is None or c.retainer.included_hours is None:
        return items
    time = [i for i in items if i.source is ItemSource.TIME and not i.rate_scope.startswith(
        "retainer ")]
    rest = [i for i in items if i not in time]
    by_month: dict[date, list[BillableItem]] = defaultdict(list)
    for i in time:
        by_month[month_start(i.service_date)].append(i)
    for month, month_items in sorted(by_month.items()):
        used = sum((i.quantity for i in ledger.by_key.values()
                    if i.contract_number == c.contract_number
                    and i.rate_scope == "retainer drawdown"
                    and i.status not in OPEN_STATUSES
                    and month_start(i.service_date) == month), Decimal(0))
        drawn = draw_down(c.retainer, month_items, hours_used_before=used)
        for i in month_items:
            ledger.drop(i.key)
        ledger.put(*drawn.items)
        rest.extend(drawn.items)
    return rest
