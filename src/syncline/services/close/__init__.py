"""The month-end close.

Owns the close's steps in order (`steps`: cut-off, billing, recognition, accrual,
reclassification, intercompany, FX revaluation, reconciliation, lock) and the ledger work only
the close does: accrual of approved unbilled time (`accrual`), the late labor cost of months
already costed (`labor_cost`), intercompany charges (`intercompany`) and FX revaluation of
open foreign balances (`fx_revaluation`); `steps.close_and_lock` records what the close
reports with the closed month. The durable workflow that runs the steps lives in
`syncline.workflows.close`.
"""
