"""The billing engine wired to the database.

Owns the invoice run (`run`: contracts and their terms, open items, caps, retainers,
numbering, invoice storage, release journals and labor cost), billing read models
(`queries`), manual requests that enter as messages (`requests`: adjustments, hold releases)
and the one reversal mechanism for withdrawn time and expenses (`reversal`). The pricing and
invoice rules themselves are pure, in `syncline.billing`.
"""
