"""Posting rules as data: which business event produces which journal template.

A rule names an event kind and lists template lines ``(role, side, amount key)``. Posting a
rule looks each role up in the entity's chart (so a firm maps events to its own accounts by
editing the chart or the rules, never code) and takes each amount from the ``amounts``
mapping by key. Roles, memos and the description may hold ``{placeholders}`` filled from
``params`` (plus ``source_id`` and ``entity_id``) — e.g. ``revenue:{service_line}``.

Conventions, stated once:
- a line whose amount is zero is left out; a negative amount posts on the opposite side
  (so a signed amount key — the revenue true-up — needs no second rule);
- a missing amount key, an unmapped role, a missing placeholder or an entry that does not
  balance is a ``PostingError`` value (nothing is raised for bad data), naming the role;
- when ``functional_currency`` is given, functional amounts are added. If the rule marks one
  line ``balancing`` (the receivable of an invoice), every *other* line is converted on its
  own (round half-up) and the balancing line takes the functional amount that balances them
  (the billing rule: the receivable is the sum of its converted credits). Otherwise each
  side's total is converted once and split over its lines (``ledger.fx.with_functional``).

``SYSTEM_RULES`` are the rules Syncline posts, one per event in ``SYSTEM_EVENTS`` (which
says what amount keys and params each event gives, and what posts it). ``REFERENCE_RULES``
are not posted by anything in Syncline (an approval-time posting model kept as a worked
example, used by the export tests); ``DEFAULT_RULES`` is ``SYSTEM_RULES``.

The package: ``model`` (rules, ``PostingError``), ``catalog`` (the events and rules above),
``apply`` (``post``, ``post_event``), ``config`` (``check_rule``, ``rules_from_config``).
"""

from syncline.ledger.posting.apply import post, post_event
from syncline.ledger.posting.catalog import (
    CREDIT_NOTE_ISSUED,
    DEFAULT_RULES,
    EXPENSE_COST,
    INVOICE_RELEASED,
    LABOR_COST,
    REFERENCE_RULES,
    REVENUE_TRUE_UP,
    SYSTEM_EVENTS,
    SYSTEM_RULES,
    TIME_ACCRUED,
    source_type_of,
)
from syncline.ledger.posting.config import check_rule, rules_from_config
from syncline.ledger.posting.model import (
    PostingError,
    PostingFailed,
    PostingRule,
    PostingRules,
    TemplateLine,
    entry_or_raise,
)

__all__ = [
    "CREDIT_NOTE_ISSUED",
    "DEFAULT_RULES",
    "EXPENSE_COST",
    "INVOICE_RELEASED",
    "LABOR_COST",
    "REFERENCE_RULES",
    "REVENUE_TRUE_UP",
    "SYSTEM_EVENTS",
    "SYSTEM_RULES",
    "TIME_ACCRUED",
    "PostingError",
    "PostingFailed",
    "PostingRule",
    "PostingRules",
    "TemplateLine",
    "check_rule",
    "entry_or_raise",
    "post",
    "post_event",
    "rules_from_config",
    "source_type_of",
]
