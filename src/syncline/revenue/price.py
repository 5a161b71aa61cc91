"""Step 3: the transaction price, fixed plus variable consideration with the constraint."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from syncline.revenue.model import RevenueError, VariableEstimate, VariableMethod
from syncline.revenue.units import round_units


@dataclass(frozen=True, slots=True)
class VariableComponent:
    """One variable component as estimated at a date: estimate, constraint, amount included."""

    id: str
    effective: date
    method: VariableMethod
    estimate: int  # minor units, before the constraint
    included: int  # minor units, after the constraint
    constrained: bool
    allocate_to: tuple[str, ...]
    formula: str
    reason: str


def estimate_variable(est: VariableEstimate, currency: str, rounding: str) -> VariableComponent:
    if not est.scenarios:
        raise RevenueError(f"variable[{est.id}].scenarios", "at least one scenario is required")
    if est.method is VariableMethod.EXPECTED_VALUE:
        psum = sum((s.probability for s in est.scenarios), Decimal(0))
        if psum != 1:
            raise RevenueError(
                f"variable[{est.id}].scenarios", f"probabilities must sum to 1 (got {psum})"
            )
        exact = sum((s.amount * s.probability for s in est.scenarios), Decimal(0))
        formula = " + ".join(f"{s.amount} x {s.probability}" for s in est.scenarios)
    else:
        best = max(est.scenarios, key=lambda s: s.probability)  # ties: the first listed
        exact = best.amount
        formula = f"most likely amount {best.amount} (probability {best.probability})"
    estimate = round_units(exact, currency, rounding)
    included = estimate
    constrained = False
    reason = est.constraint_reason
    if est.constraint_cap is not None:
        cap = round_units(est.constraint_cap, currency, rounding)
        if cap < estimate:
            included, constrained = cap, True
            formula = f"min({formula}, constraint cap {est.constraint_cap})"
    return VariableComponent(
        id=est.id, effective=est.effective, method=est.method, estimate=estimate,
        included=included, constrained=constrained, allocate_to=est.allocate_to,
        formula=formula, reason=reason,
    )


@dataclass(frozen=True, slots=True)
class VariableTimeline:
    """The estimates of every variable component ordered in time: what is included at a date."""

    by_id: tuple[tuple[str, tuple[tuple[int, VariableComponent], ...]], ...]

    def at(self, ordinal: int) -> tuple[VariableComponent, ...]:
        out = []
        for _vid, versions in self.by_id:
            current = None
            for eff, comp in versions:
                if eff <= ordinal:
                    current = comp
                else:
                    break
            if current is not None:
                out.append(current)
        return tuple(out)

    def key_at(self, ordinal: int) -> tuple[int, ...]:
        return tuple(c.included for c in self.at(ordinal))


def variable_timeline(
    estimates: Sequence[VariableEstimate], currency: str, rounding: str
) -> VariableTimeline:
    groups: dict[str, list[tuple[int, VariableComponent]]] = {}
    for est in estimates:
        comp = estimate_variable(est, currency, rounding)
        groups.setdefault(est.id, []).append((est.effective.toordinal(), comp))
    return VariableTimeline(
        tuple((vid, tuple(sorted(v, key=lambda x: x[0]))) for vid, v in groups.items())
    )


@dataclass(frozen=True, slots=True)
class TransactionPrice:
    fixed: int
    variable: tuple[VariableComponent, ...]
    time_and_materials: int  # right-to-invoice amounts, allocated entirely to their lines

    @property
    def total(self) -> int:
        return self.fixed + sum(c.included for c in self.variable) + self.time_and_materials
