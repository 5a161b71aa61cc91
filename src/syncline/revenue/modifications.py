"""Contract modifications: the standard's tests, the decision with its reasons, and the
changed obligations each treatment works with (ASC 606-10-25-10 to 25-13; IFRS 15.18-21).

1. Distinct goods or services added, priced at their stand-alone selling prices?
   -> a separate contract (25-12; IFRS 15.20).
2. Otherwise, are the remaining goods or services distinct from those already transferred?
   -> termination of the old contract and creation of a new one: prospective (25-13(a)).
3. Otherwise -> part of the existing contract: cumulative catch-up (25-13(b)).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from syncline.revenue.model import (
    MethodKind,
    Modification,
    Obligation,
    Ssp,
    SspMethod,
    Treatment,
)

DISTINCT_AFTER_TRANSFER = frozenset(
    {MethodKind.RATABLE, MethodKind.UNITS, MethodKind.POINT_IN_TIME, MethodKind.RIGHT_TO_INVOICE}
)


@dataclass(frozen=True, slots=True)
class Test:
    question: str
    answer: bool
    given: bool  # True: stated in the contract file; False: derived by the engine
    reason: str


@dataclass(frozen=True, slots=True)
class ModificationDecision:
    modification_id: str
    effective: str
    tests: tuple[Test, ...]
    derived_treatment: Treatment
    treatment: Treatment
    overridden: bool
    citation: str

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(f"{t.question} {'yes' if t.answer else 'no'}: {t.reason}" for t in self.tests)


CITATIONS = {
    Treatment.SEPARATE_CONTRACT: "ASC 606-10-25-12; IFRS 15.20",
    Treatment.PROSPECTIVE: "ASC 606-10-25-13(a); IFRS 15.21(a)",
    Treatment.CATCH_UP: "ASC 606-10-25-13(b); IFRS 15.21(b)",
}


def _ssp_of_added(ob: Obligation) -> Decimal | None:
    s = ob.ssp
    if s.method is SspMethod.OBSERVABLE:
        return s.amount
    if s.method in (SspMethod.ADJUSTED_MARKET, SspMethod.COST_PLUS) and s.basis is not None:
        return s.basis * (1 + (s.factor or 0))
    if s.method is SspMethod.PERCENT_OF_LIST and s.basis is not None and s.factor is not None:
        return s.basis * s.factor
    return None


def classify(
    mod: Modification,
    obligations: tuple[Obligation, ...],
    unsatisfied: frozenset[str],
    tolerance: Decimal,
    override: Treatment | None = None,
) -> ModificationDecision:
    """Apply the three tests; a stated answer wins over a derived one and says so."""
    by_id = {ob.id: ob for ob in obligations}
    scope_changes = [c for c in mod.changes if c.added_units > 0 or c.new_end is not None]
    adds_scope = bool(mod.added) or bool(scope_changes)

    if mod.added_distinct and not adds_scope:
        t1 = Test("Are distinct goods or services added?", False, False,
                  "stated, but nothing is added: a change of price alone is never a separate "
                  "contract (25-12 needs added goods or services)")
    elif mod.added_distinct is not None:
        t1 = Test("Are distinct goods or services added?", mod.added_distinct, True,
                  "stated in the modification")
    else:
        t1 = Test("Are distinct goods or services added?", adds_scope, False,
                  "obligations or units/term are added" if adds_scope
                  else "only the price of promised goods changes")

    price = sum((o.price for o in mod.added), Decimal(0)) + sum(
        (c.price_delta for c in scope_changes), Decimal(0))
    ssps: list[Decimal | None] = [_ssp_of_added(o) for o in mod.added]
    ssps += [c.added_ssp for c in scope_changes]
    if mod.priced_at_ssp is not None and adds_scope:
        t2 = Test("Is the added scope priced at its stand-alone selling price?",
                  mod.priced_at_ssp, True, "stated in the modification")
    elif not adds_scope or any(s is None for s in ssps):
        t2 = Test("Is the added scope priced at its stand-alone selling price?", False, False,
                  "no SSP is given for the added scope" if adds_scope else "nothing is added")
    else:
        ssp = sum((s for s in ssps if s is not None), Decimal(0))
        ok = abs(price - ssp) <= tolerance * ssp and mod.concession == 0
        why = f"added price {price} vs SSP {ssp} (tolerance {tolerance:%})"
        if mod.concession:
            why += f"; a concession of {mod.concession} on transferred goods goes with it"
        t2 = Test("Is the added scope priced at its stand-alone selling price?", ok, False, why)

    remaining = [by_id[i] for i in sorted(unsatisfied) if i in by_id]
    if mod.remaining_distinct is not None:
        t3 = Test("Are the remaining goods or services distinct from those transferred?",
                  mod.remaining_distinct, True, "stated in the modification")
    else:
        partial = [o.id for o in remaining if o.method.kind not in DISTINCT_AFTER_TRANSFER]
        t3 = Test("Are the remaining goods or services distinct from those transferred?",
                  not partial, False,
                  "remaining obligations are series, units or separate deliveries" if not partial
                  else f"{', '.join(partial)} is a single obligation partly satisfied")

    if t1.answer and t2.answer:
        derived = Treatment.SEPARATE_CONTRACT
    elif t3.answer:
        derived = Treatment.PROSPECTIVE
    else:
        derived = Treatment.CATCH_UP
    chosen = override or mod.treatment or derived
    return ModificationDecision(
        modification_id=mod.id, effective=mod.effective.isoformat(), tests=(t1, t2, t3),
        derived_treatment=derived, treatment=chosen, overridden=chosen is not derived,
        citation=CITATIONS[chosen],
    )


def apply_changes(obligations: tuple[Obligation, ...], mod: Modification) -> tuple[Obligation, ...]:
    """The obligations as modified: more units, a new end, a changed price; then the added."""
    changes = {c.obligation_id: c for c in mod.changes}
    out = []
    for ob in obligations:
        c = changes.get(ob.id)
        if c is None:
            out.append(ob)
            continue
        method = ob.method
        if c.added_units and method.units is not None:
            method = replace(method, units=method.units + c.added_units)
        if c.new_end is not None:
            method = replace(method, end_instant=None)
        out.append(replace(ob, method=method, end=c.new_end or ob.end,
                           price=ob.price + c.price_delta))
    return (*out, *mod.added)


def separate_obligations(obligations: tuple[Obligation, ...], mod: Modification
                         ) -> tuple[Obligation, ...]:
    """The new contract a separate-contract modification creates: added scope only.

    An added quantity or term on an existing obligation becomes its own obligation named
    ``<obligation>+<modification>``; facts for it must use that id.
    """
    by_id = {ob.id: ob for ob in obligations}
    out = []
    for c in mod.changes:
        ob = by_id.get(c.obligation_id)
        if ob is None or (c.added_units <= 0 and c.new_end is None):
            continue
        start = mod.effective if c.new_end is None else max(mod.effective, ob.end)
        if c.new_end is not None and ob.end < c.new_end:
            start = ob.end.fromordinal(ob.end.toordinal() + 1)
        method = replace(ob.method, units=c.added_units if c.added_units else ob.method.units,
                         start_instant=None, end_instant=None)
        ssp = Ssp(SspMethod.OBSERVABLE, amount=c.added_ssp if c.added_ssp is not None
                  else c.price_delta)
        out.append(replace(ob, id=f"{ob.id}+{mod.id}", method=method, ssp=ssp, start=start,
                           end=c.new_end or ob.end, price=c.price_delta))
    return (*out, *mod.added)
