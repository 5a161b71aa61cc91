"""Names of the line dimensions and entry metadata that the checks group by, shared by the
modules that write them (``fx``, ``intercompany``) and the carried balances that keep them
(``carried``)."""

from __future__ import annotations

REVALUES = "fx_revalues"  # dimension naming the currency a revaluation line restates
COUNTERPARTY = "counterparty"  # dimension naming the other entity of an intercompany line
CHARGE = "intercompany_charge"  # entry metadata: the charge both entities' entries belong to
