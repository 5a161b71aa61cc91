"""The stored facts of contracts, read for many at once (`load_facts`).

`build_contract` turns one contract's facts into the revenue engine's input. Read one
contract at a time that is some twenty statements per contract, each built anew; a period's
recognition reads them for every contract. Here each kind of fact is one statement, built
once with its contract numbers as an expanding parameter, for a chunk of contracts — the
rows come back in the order the single-contract reads used, grouped by contract, so what a
contract is built from does not depend on how many were read with it. A single contract
(the console, the CLI, a what-if) reads through the same path with a chunk of one.

Recognition reads with ``before`` (its period): the counted items of the months it has carried
come as their sums (`billable_carried`, docs/adr/0016); every other reader reads them all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, select

from syncline.adapters.db.billing_tables import contract_billing_terms
from syncline.adapters.db.revenue_tables import (
    contract_amendments,
    line_recognition,
    revenue_estimates,
)
from syncline.adapters.db.tables import contract_lines, contracts, customers, milestones
from syncline.services.revenue.billable import (
    CarriedBillable,
    billed_rows,
    counted_items,
    held_items,
    numbers_in,
)
from syncline.services.revenue.billable_carried import Read, first_cut, read_items

CHUNK = 500  # contracts read per statement (an IN list of this many parameters)


@dataclass(frozen=True, slots=True)
class ContractFacts:
    """What `build_contract` reads of one contract: its head (with the customer's name), its
    amendments (by effective date), milestones and lines (by id), the methods its lines state,
    its billing terms, its counted billable items and held keys, invoices and credit notes,
    and its estimate revisions (by effective date). ``carried``: the months of its items
    read as sums (recognition only; ``items`` are then the rest). ``billed_before``: with
    a recognition carry (docs/adr/0022), its net billed amount, and ``invoices`` and
    ``credit_notes`` are only those dated after it."""

    head: Any
    amendments: tuple[Any, ...] = ()
    milestones: tuple[Any, ...] = ()
    lines: tuple[Any, ...] = ()
    stated: Mapping[str, str] | None = None
    terms: Any | None = None
    items: tuple[Any, ...] = ()
    held: Set[str] = frozenset()
    invoices: tuple[Any, ...] = ()
    credit_notes: tuple[Any, ...] = ()
    revisions: tuple[Any, ...] = ()
    carried: CarriedBillable | None = None
    billed_before: Decimal = Decimal(0)


_ca, _rl, _re = contract_amendments.c, line_recognition.c, revenue_estimates.c
_HEADS = (select(contracts, customers.c.name.label("customer_name")).join(customers)
          .where(numbers_in(contracts.c.number)))
_AMENDMENTS = (select(contract_amendments).where(numbers_in(_ca.contract_number))
               .order_by(_ca.contract_number, _ca.effective_date, _ca.amendment_id))
_MILESTONES = (select(milestones).where(milestones.c.contract_id.in_(
    bindparam("ids", expanding=True))).order_by(milestones.c.contract_id,
                                                milestones.c.milestone_id))
_LINES = (select(contract_lines).where(contract_lines.c.contract_id.in_(
    bindparam("ids", expanding=True))).order_by(contract_lines.c.contract_id,
                                                contract_lines.c.line_id))
_STATED = select(line_recognition).where(numbers_in(_rl.contract_number))
_TERMS = select(contract_billing_terms).where(numbers_in(contract_billing_terms.c.contract_number))
_REVISIONS = (select(revenue_estimates).where(numbers_in(_re.contract_number))
              .order_by(_re.contract_number, _re.effective_date, _re.estimate_id))


def load_facts(conn: Connection, numbers: Sequence[str], before: str | None = None,
               reads: list[Read] | None = None,
               carried: Mapping[str, Any] | None = None) -> dict[str, ContractFacts]:
    """The facts of the contracts ``numbers`` that exist, by number, read a chunk at a time;
    ``before``: as recognition of that period reads them (module doc), each chunk's item
    read appended to ``reads`` (for `billable_carried.keep_carries`); ``carried``: the
    recognition carries (`recognition_carried.Carry` by contract) whose documents are read
    after them."""
    out: dict[str, ContractFacts] = {}
    ordered = sorted(set(numbers))
    for start in range(0, len(ordered), CHUNK):
        out.update(_chunk(conn, ordered[start:start + CHUNK], before, reads, carried or {}))
    return out


def _grouped(conn: Connection, query: Any, params: dict[str, Any], key: str,
             ) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = defaultdict(list)
    for r in conn.execute(query, params):
        out[getattr(r, key)].append(r)
    return out


def _chunk(conn: Connection, numbers: list[str], before: str | None,
           reads: list[Read] | None, carried: Mapping[str, Any]) -> dict[str, ContractFacts]:
    heads = {r.number: r for r in conn.execute(_HEADS, {"numbers": numbers})}
    if not heads:
        return {}
    by_number = {"numbers": list(heads)}
    by_id = {"ids": [h.id for h in heads.values()]}
    amendments = _grouped(conn, _AMENDMENTS, by_number, "contract_number")
    mstones = _grouped(conn, _MILESTONES, by_id, "contract_id")
    lines = _grouped(conn, _LINES, by_id, "contract_id")
    stated: dict[str, dict[str, str]] = defaultdict(dict)
    for r in conn.execute(_STATED, by_number):
        stated[r.contract_number][r.line_id] = r.method
    terms = {r.contract_number: r for r in conn.execute(_TERMS, by_number)}
    revisions = _grouped(conn, _REVISIONS, by_number, "contract_number")
    items_carried: Mapping[str, CarriedBillable] = {}
    if before is None:
        items: Mapping[str, list[Any]] = counted_items(conn, list(heads))
    else:
        read = read_items(conn, list(heads), before, {n: h.currency for n, h in heads.items()},
                          {n: first_cut(amendments.get(n, ()), revisions.get(n, ()))
                           for n in heads})
        items, items_carried = read.items, read.carried
        if reads is not None:
            reads.append(read)
    held = held_items(conn, list(heads))
    invoiced, credited = billed_rows(conn, list(heads),
                                     {n: carried[n].end for n in heads if n in carried})
    return {n: ContractFacts(
        head=h, amendments=tuple(amendments.get(n, ())), milestones=tuple(mstones.get(h.id, ())),
        lines=tuple(lines.get(h.id, ())), stated=stated.get(n, {}), terms=terms.get(n),
        items=tuple(items.get(n, ())), held=frozenset(held.get(n, ())),
        invoices=tuple(invoiced.get(n, ())), credit_notes=tuple(credited.get(n, ())),
        revisions=tuple(revisions.get(n, ())), carried=items_carried.get(n),
        billed_before=carried[n].billed if n in carried else Decimal(0))
        for n, h in heads.items()}
