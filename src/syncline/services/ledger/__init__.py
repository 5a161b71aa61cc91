"""The embedded ledger wired to the database.

Owns posting journal entries once per source with the closed-period policy (`posting`),
reading stored entries back as values (`queries`), the ledger configuration file — charts per
entity, posting rules, policies (`config`), periods and their audited changes (`periods`), the
reports and exports of the stored books (`reports`) and the close reconciliation. Accounting
rules themselves are pure, in `syncline.ledger`.
"""
