"""Late labor cost at close: time approved or rejected for a month after its cost was posted
is posted in the open period being closed, never in the month it belongs to (a close step,
run with the accrual; docs/ledger.md, "Closed periods do not change").

For each month the close trues up (``services.ledger.labor_cost.months_trued_up``: earlier
months that are closed, and the period's own month once its cost was posted), the entry is
the cost known now minus what was posted for the month, by rule ``billing.labor_cost`` (a
negative difference posts on the opposite sides: a cost reversal), dated the period end,
source ``labor:<entity>:<currency>:<month>:late:<period>``. A second close of the period
finds nothing left to post.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from syncline.ledger.accounts import Charts
from syncline.ledger.money import Money
from syncline.ledger.periods import ClosedPeriodPolicy, period_end
from syncline.ledger.posting import DEFAULT_RULES, LABOR_COST, PostingError, PostingRules, post
from syncline.services.ledger.held import facts_held
from syncline.services.ledger.labor_cost import late_changes, late_source
from syncline.services.ledger.labor_cost_months import keep_month_costs
from syncline.services.ledger.posting import post_entry, posting_failed


def true_up_labor_cost(engine: Engine, period: str, entity: str | None, *, charts: Charts,
                       now: datetime, rules: PostingRules = DEFAULT_RULES,
                       closed_period_policy: ClosedPeriodPolicy = ClosedPeriodPolicy.REFUSE,
                       ) -> dict[str, Any]:
    """Post the late labor cost of every month the close of ``period`` trues up."""
    end = period_end(period)
    posted, failed = 0, []
    changes: dict[str, str] = {}
    with engine.begin() as conn, facts_held(conn):  # the cells kept are those read after
        keep_month_costs(conn, period)  # the months costed again are kept for the close
        for key, (known, booked) in late_changes(conn, period, charts, rules).items():
            ent, cur, month = key
            delta = Money(known - booked, cur).rounded()
            if (entity and ent != entity) or delta.is_zero:
                continue
            made = post(rules.rule(LABOR_COST, ent), {"cost": delta}, chart=charts.of(ent),
                        entity_id=ent, posting_date=end, source_id=late_source(conn, key, period),
                        params={"period": month, "currency": cur})
            if isinstance(made, PostingError):
                failed.append(made.source_id)
                posting_failed(conn, made, now, retry="run the close of the period again")
                continue
            posted += post_entry(conn, made, now, closed_period_policy)
            changes[f"{ent}/{cur}/{month}"] = str(delta.amount)
    return {"journal_entries": posted, "late": changes,
            **({"posting_failed": failed} if failed else {})}
