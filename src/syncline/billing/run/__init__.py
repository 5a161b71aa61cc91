"""A pure invoice run for one legal entity and billing cycle.

``run_billing_cycle(RunInput) -> RunResult`` is a pipeline; each stage takes the item ledger
and returns it with problems, and the run only ever *adds* items or *moves* their status:

1. credits — credit requests on released invoices become credit notes that name their items
   (CN series numbers), their journals, credited items, and replacement items for corrected
   time;
2. generate — approved time (rate card + billing increment), expenses (at cost / markup,
   FX), completed milestones and due retainer fees become items, unless an item with the
   same natural key (or split from it) is already in the ledger;
3. select — open items of the entity's contracts with a service date in or before the
   cycle (deferred retainer months included); contracts with a blocking problem (tax code,
   FX rate) are left out whole; drawdown retainers draw their time down;
4. caps — not-to-exceed caps split, write off or hold (``apply_caps``);
5. invoice — one invoice per contract with billable items, gapless numbers in contract
   order, items moved generated → released → invoiced, one release journal each.

Idempotent by design: an item already invoiced is never selected again and keys are
natural, so feeding a result's ``items``, ``billed_to_date``, numbers and credit notes back
in yields no new invoice, credit note, journal or item. Bad data (no rate for a role and
date, no FX rate, time on a closed project, unknown tax code) is a ``Problem`` with
remediation; the rest of the run completes.

Its stages are modules of this package: ``inputs`` (RunInput, RunResult and what they hold),
``item_ledger`` (the working copy of the items), ``credits``, ``generate``, ``selection``
(blocking problems, drawdown) and ``cycle`` (the run: caps, invoices, journals).
"""

from syncline.billing.run.cycle import run_billing_cycle
from syncline.billing.run.inputs import (
    ApprovedTime,
    ContractTerms,
    CreditRequest,
    RunInput,
    RunResult,
)

__all__ = ["ApprovedTime", "ContractTerms", "CreditRequest", "RunInput", "RunResult",
           "run_billing_cycle"]
