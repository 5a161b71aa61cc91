"""The month-end close.

Owns the close's steps in order (`steps`: cut-off, billing, recognition, accrual,
reclassification, intercompany, FX revaluation, reconciliation, lock) and the ledger work only
the close does: accrual of approved unbilled time (`accrual`), intercompany charges
(`intercompany`) and FX revaluation of open foreign balances (`fx_revaluation`). The durable
workflow that runs the steps lives in `syncline.workflows.close`.
"""
