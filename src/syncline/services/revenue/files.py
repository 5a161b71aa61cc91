"""Revenue contract files (YAML or JSON, format ``syncline.revenue/v1``): load, validate
against ``schemas/revenue/contract-v1.json``, map to the pure engine's values.

Every refusal names the field path (``contract.obligations[2].ssp.amount``) and the rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from syncline.revenue.combination import combine
from syncline.revenue.model import (
    Actual,
    ActualKind,
    AllocationOverride,
    Convention,
    DiscountAllocation,
    Estimate,
    Invoice,
    Method,
    MethodKind,
    Milestone,
    Modification,
    Obligation,
    ObligationChange,
    Payment,
    RevenueContract,
    RevenueError,
    RevenuePolicy,
    Scenario,
    ScheduleRounding,
    Ssp,
    SspMethod,
    Treatment,
    VariableEstimate,
    VariableMethod,
)

FORMAT = "syncline.revenue/v1"


@dataclass(frozen=True, slots=True)
class FieldError:
    path: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}: {self.rule}"


class ContractFileError(ValueError):
    """A contract file that cannot be used, with every error found."""

    def __init__(self, source: str, errors: tuple[FieldError, ...]) -> None:
        super().__init__(f"{source}: " + "; ".join(str(e) for e in errors))
        self.source = source
        self.errors = errors


@dataclass(frozen=True, slots=True)
class ContractFile:
    contract: RevenueContract
    policy: RevenuePolicy
    source: str


def schema() -> dict[str, Any]:
    text = resources.files("syncline.schemas").joinpath("revenue/contract-v1.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _path(parts: Any) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(file)"


def _plain(value: Any) -> Any:
    """YAML dates and times back to ISO strings, so the schema sees what the author wrote."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def parse(data: Any, source: str = "<data>") -> ContractFile:
    data = _plain(data)
    validator = Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise ContractFileError(source, tuple(_describe(e) for e in errors[:20]))
    try:
        policy = _policy(data.get("policy", {}))
        if "contract" in data:
            contract = _contract(data["contract"], "contract")
        else:
            parts = [_contract(c, f"contracts[{i}]") for i, c in enumerate(data["contracts"])]
            comb = data["combination"]
            contract = combine(parts, comb["reason"], comb.get("id", ""))
    except RevenueError as exc:
        raise ContractFileError(source, (FieldError(exc.location, exc.rule),)) from None
    return ContractFile(contract, policy, source)


def _describe(e: Any) -> FieldError:
    path = _path(e.absolute_path)
    if e.validator == "oneOf" and e.schema_path and "amount" in json.dumps(e.schema)[:200]:
        return FieldError(path, "amounts are quoted decimal strings (\"12.50\") or integers, "
                          "never floats")
    if e.validator == "additionalProperties":
        return FieldError(path, f"unknown field: {e.message}")
    if e.validator == "oneOf" and path == "(file)":
        return FieldError(path, "give either 'contract' or 'contracts' with 'combination'")
    return FieldError(path, f"{e.validator}: {e.message}")


def load(path: str | Path) -> ContractFile:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContractFileError(str(p), (FieldError("(file)", f"cannot read: {exc.strerror}"),)
                                ) from None
    try:
        data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ContractFileError(str(p), (FieldError("(file)", f"not valid YAML/JSON: {exc}"),)
                                ) from None
    if not isinstance(data, dict):
        raise ContractFileError(str(p), (FieldError("(file)", "must be a mapping"),))
    return parse(data, str(p))


# --- mapping -----------------------------------------------------------------------------


def _d(v: Any) -> Decimal:
    return Decimal(str(v))


def _od(v: Any) -> Decimal | None:
    return None if v is None else _d(v)


def _date(v: Any, where: str) -> date:
    try:
        return date.fromisoformat(v)
    except ValueError:
        raise RevenueError(where, f"not a calendar date: {v}") from None


def _odate(v: Any, where: str) -> date | None:
    return None if v is None else _date(v, where)


def _inst(v: Any, where: str) -> datetime | None:
    if v is None:
        return None
    try:
        t = datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    except ValueError:
        raise RevenueError(where, f"not an ISO 8601 instant: {v}") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _policy(p: dict[str, Any]) -> RevenuePolicy:
    kw: dict[str, Any] = {}
    if "rounding" in p:
        kw["rounding"] = p["rounding"]
    if "schedule_rounding" in p:
        kw["schedule_rounding"] = ScheduleRounding(p["schedule_rounding"])
    if "ratable_convention" in p:
        kw["ratable_convention"] = Convention(p["ratable_convention"])
    if "ssp_tolerance" in p:
        kw["ssp_tolerance"] = _d(p["ssp_tolerance"])
    if "rpo_buckets_months" in p:
        kw["rpo_buckets_months"] = tuple(p["rpo_buckets_months"])
    for k in ("rpo_expedient_one_year", "rpo_expedient_right_to_invoice"):
        if k in p:
            kw[k] = p[k]
    return RevenuePolicy(**kw)


def _obligation(o: dict[str, Any], where: str) -> Obligation:
    m = o["method"]
    s = o["ssp"]
    start, end = _date(o["start"], f"{where}.start"), _date(o["end"], f"{where}.end")
    if end < start:
        raise RevenueError(f"{where}.end", "must not be before start")
    method = Method(
        kind=MethodKind(m["kind"]),
        convention=Convention(m["convention"]) if "convention" in m else None,
        start_instant=_inst(m.get("start_instant"), f"{where}.method.start_instant"),
        end_instant=_inst(m.get("end_instant"), f"{where}.method.end_instant"),
        milestones=tuple(Milestone(x["id"], _d(x["weight"])) for x in m.get("milestones", [])),
        units=_od(m.get("units")),
        delivery=_odate(m.get("delivery"), f"{where}.method.delivery"),
    )
    if method.kind is MethodKind.UNITS and method.units is None:
        raise RevenueError(f"{where}.method.units", "required when kind is units")
    if method.kind is MethodKind.MILESTONES and not method.milestones:
        raise RevenueError(f"{where}.method.milestones", "required when kind is milestones")
    ssp = Ssp(SspMethod(s["method"]), _od(s.get("amount")), _od(s.get("basis")),
              _od(s.get("factor")))
    need = {SspMethod.OBSERVABLE: ("amount",), SspMethod.ADJUSTED_MARKET: ("basis", "factor"),
            SspMethod.COST_PLUS: ("basis", "factor"),
            SspMethod.PERCENT_OF_LIST: ("basis", "factor"), SspMethod.RESIDUAL: ()}
    for f in need[ssp.method]:
        if f not in s:
            raise RevenueError(f"{where}.ssp.{f}", f"required when ssp.method is {s['method']}")
    return Obligation(id=o["id"], description=o.get("description", o["id"]), method=method,
                      ssp=ssp, start=start, end=end, price=_d(o.get("price", 0)),
                      series=o.get("series", False))


def _contract(c: dict[str, Any], where: str) -> RevenueContract:
    obs = tuple(_obligation(o, f"{where}.obligations[{i}]")
                for i, o in enumerate(c["obligations"]))
    ids = {o.id for o in obs}
    mods = []
    for i, m in enumerate(c.get("modifications", [])):
        w = f"{where}.modifications[{i}]"
        added = tuple(_obligation(o, f"{w}.added[{j}]") for j, o in enumerate(m.get("added", [])))
        for j, ch in enumerate(m.get("changes", [])):
            if ch["obligation"] not in ids:
                raise RevenueError(f"{w}.changes[{j}].obligation",
                                   f"no obligation with id {ch['obligation']!r}")
        mods.append(Modification(
            id=m["id"], effective=_date(m["effective"], f"{w}.effective"),
            description=m.get("description", ""), added=added,
            changes=tuple(ObligationChange(
                ch["obligation"], _d(ch.get("price_delta", 0)), _d(ch.get("added_units", 0)),
                _odate(ch.get("new_end"), f"{w}.changes[{j}].new_end"), _od(ch.get("added_ssp")))
                for j, ch in enumerate(m.get("changes", []))),
            concession=_d(m.get("concession", 0)), added_distinct=m.get("added_distinct"),
            priced_at_ssp=m.get("priced_at_ssp"), remaining_distinct=m.get("remaining_distinct"),
            treatment=Treatment(m["treatment"]) if "treatment" in m else None,
            recorded_at=_inst(m.get("recorded_at"), f"{w}.recorded_at"),
        ))
        ids |= {o.id for o in added}
    for key in ("actuals", "estimates"):
        for i, a in enumerate(c.get(key, [])):
            if a["obligation"] not in ids and "+" not in a["obligation"]:
                raise RevenueError(f"{where}.{key}[{i}].obligation",
                                   f"no obligation with id {a['obligation']!r}")
    for i, d in enumerate(c.get("discounts", [])):
        for j, oid in enumerate(d["obligations"]):
            if oid not in ids:
                raise RevenueError(f"{where}.discounts[{i}].obligations[{j}]",
                                   f"no obligation with id {oid!r}")
    return RevenueContract(
        id=c["id"], currency=c["currency"], start=_date(c["start"], f"{where}.start"),
        obligations=obs, customer=c.get("customer", ""), fixed_price=_od(c.get("fixed_price")),
        discounts=tuple(DiscountAllocation(tuple(d["obligations"]), _d(d["amount"]),
                                           d.get("evidence", ""))
                        for d in c.get("discounts", [])),
        variable=tuple(VariableEstimate(
            v["id"], _date(v["effective"], f"{where}.variable[{i}].effective"),
            VariableMethod(v["method"]),
            tuple(Scenario(_d(s["amount"]), _d(s["probability"])) for s in v["scenarios"]),
            _od(v.get("constraint_cap")), v.get("constraint_reason", ""),
            tuple(v.get("allocate_to", [])), _inst(v.get("recorded_at"), f"{where}.variable[{i}]"))
            for i, v in enumerate(c.get("variable", []))),
        actuals=tuple(Actual(
            a["obligation"], ActualKind(a["kind"]), _date(a["date"], f"{where}.actuals[{i}].date"),
            _d(a.get("quantity", 0)), a.get("ref", ""),
            _inst(a.get("recorded_at"), f"{where}.actuals[{i}].recorded_at"))
            for i, a in enumerate(c.get("actuals", []))),
        estimates=tuple(Estimate(
            e["obligation"], _date(e["effective"], f"{where}.estimates[{i}].effective"),
            _d(e["total"]), _d(e.get("uninstalled_materials", 0)),
            _inst(e.get("recorded_at"), f"{where}.estimates[{i}].recorded_at"))
            for i, e in enumerate(c.get("estimates", []))),
        invoices=tuple(Invoice(
            v["id"], _date(v["date"], f"{where}.invoices[{i}].date"), _d(v["amount"]),
            _odate(v.get("due"), f"{where}.invoices[{i}].due"),
            _odate(v.get("unconditional_from"), f"{where}.invoices[{i}].unconditional_from"),
            v.get("cancellable", False), _inst(v.get("recorded_at"), f"{where}.invoices[{i}]"),
            _od(v.get("rate")), v.get("rate_source", ""))
            for i, v in enumerate(c.get("invoices", []))),
        payments=tuple(Payment(
            p["invoice"], _date(p["date"], f"{where}.payments[{i}].date"), _d(p["amount"]),
            _inst(p.get("recorded_at"), f"{where}.payments[{i}].recorded_at"),
            _od(p.get("rate")), p.get("rate_source", ""))
            for i, p in enumerate(c.get("payments", []))),
        functional_currency=c.get("functional_currency"),
        modifications=tuple(mods),
        allocation_override=_override(c.get("allocation_override"), f"{where}"),
    )


def _override(o: dict[str, Any] | None, where: str) -> AllocationOverride | None:
    if o is None:
        return None
    return AllocationOverride(
        tuple((k, _d(v)) for k, v in o["amounts"].items()), o["reason"], o["approved_by"],
        _odate(o.get("approved_on"), f"{where}.allocation_override.approved_on"))
