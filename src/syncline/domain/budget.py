"""A project's budget as the PSA holds it: the contract value (the lines' amounts) and the
estimated hours, after the contract's amendments. Pure.

Amendment changes apply in effect order (effective date, then amendment id): ``add_line``
adds its amount and estimated hours; ``change_price`` sets the line's amount (and its
estimated hours when it states them); ``remove_line`` takes the line out; ``top_up_block``
adds its hours (and its amount, when it has one). ``change_cap`` and ``change_rate`` leave
value and hours alone (a rate change is a change of the billing rule the PSA also holds).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Budget:
    value: Decimal
    hours: Decimal


def _dec(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else ZERO


def project_budget(lines: Iterable[tuple[str, Decimal | None, Decimal | None]],
                   changes: Iterable[Mapping[str, Any]]) -> Budget:
    """The budget of baseline ``lines`` (line id, amount, estimated hours) after ``changes``
    (amendment change dicts, in effect order)."""
    current = {line_id: [amount or ZERO, hours or ZERO] for line_id, amount, hours in lines}
    extra_value = extra_hours = ZERO
    for c in changes:
        action, line_id = c["action"], c.get("line_id", "")
        if action == "add_line":
            current[line_id] = [_dec(c.get("amount")), _dec(c.get("estimated_hours"))]
        elif action == "change_price" and line_id in current:
            current[line_id][0] = _dec(c.get("amount"))
            if c.get("estimated_hours") is not None:
                current[line_id][1] = _dec(c["estimated_hours"])
        elif action == "remove_line":
            current.pop(line_id, None)
        elif action == "top_up_block":
            extra_value += _dec(c.get("amount"))
            extra_hours += _dec(c.get("hours"))
    return Budget(sum((v for v, _ in current.values()), ZERO) + extra_value,
                  sum((h for _, h in current.values()), ZERO) + extra_hours)
