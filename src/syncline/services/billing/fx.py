"""FX rates as stored (``fx_rates``, from ``fx.rates_published``), as the pure engine's
snapshots: one loader for the invoice run, expenses, revenue recognition and the close's
intercompany and revaluation steps (``lookup_rate`` picks the rate on a date)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, select

from syncline.adapters.db.billing_tables import fx_rates
from syncline.billing.fx import FxSnapshot

__all__ = ["load_fx_rates"]

_ALL = select(fx_rates)  # built once (an expense outside a set reads it)


def load_fx_rates(conn: Connection) -> tuple[FxSnapshot, ...]:
    return tuple(FxSnapshot(r.base, r.quote, r.rate, r.source, date.fromisoformat(r.as_of))
                 for r in conn.execute(_ALL))
