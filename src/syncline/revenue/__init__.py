"""Revenue engine (ASC 606 / IFRS 15), pure: no I/O, Decimal money in, minor units inside.

Entry points for the rest of Syncline:

- ``compute_schedule(contract, policy, as_of, known_at=None) -> ScheduleResult``
- ``journal_entries(result, entity_id) -> tuple[JournalEntry, ...]``
- ``balances_by_period(result)``, ``remaining_obligations(result)``
- ``what_if(contract, policy, as_of, modification_id)``,
  ``compare_known_at(contract, policy, as_of, known_at)``
- ``explain_revenue / explain_allocation / explain_balance / explain_all``
"""

from syncline.revenue.balances import (
    ContractBalance,
    Rpo,
    balance_at,
    balances_by_period,
    journal_entries,
    remaining_obligations,
)
from syncline.revenue.combination import combine
from syncline.revenue.explain import (
    Explanation,
    explain_all,
    explain_allocation,
    explain_balance,
    explain_revenue,
)
from syncline.revenue.fx import RealizedFx, realized_fx
from syncline.revenue.model import RevenueContract, RevenueError, RevenuePolicy, Treatment
from syncline.revenue.schedule.compute import compute_schedule
from syncline.revenue.schedule.result import ScheduleResult
from syncline.revenue.whatif import WhatIf, compare_known_at, what_if

__all__ = [
    "ContractBalance",
    "Explanation",
    "RealizedFx",
    "RevenueContract",
    "RevenueError",
    "RevenuePolicy",
    "Rpo",
    "ScheduleResult",
    "Treatment",
    "WhatIf",
    "balance_at",
    "balances_by_period",
    "combine",
    "compare_known_at",
    "compute_schedule",
    "explain_all",
    "explain_allocation",
    "explain_balance",
    "explain_revenue",
    "journal_entries",
    "realized_fx",
    "remaining_obligations",
    "what_if",
]
