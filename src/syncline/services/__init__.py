"""Use cases, one sub-package per capability (see docs/architecture.md for the cut).

- `messaging/` — receive, apply, park, deliver: the inbox, the processor, the unit of work,
  outcomes, outbox rows, the exception queue and outbound delivery steps.
- `handlers/` — one module per inbound flow and `HANDLERS`, the table of contents.
- `billing/` — the invoice run, its queries, manual requests and the reversal of withdrawn work.
- `revenue/` — stored facts into the revenue engine, recognition into the ledger, views, files.
- `ledger/` — posting, stored entries, configuration, periods, reports and the reconciliation.
- `close/` — the month-end close's steps: accrual, intercompany, FX revaluation.

`clock`, `ids` and `state` (the deterministic state fingerprint) are shared by all of them.
"""
