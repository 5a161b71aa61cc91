"""The mapping language, compiled: YAML (docs/connectors/files.md) → ``Mapping``.

Every problem is reported with its place (``…mapping.fields.hours.transforms[1]``), all at
once, when the connector is built; a mapping that compiles cannot fail on a row for any
reason but the row's own data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from syncline.connectors.files import transforms as t
from syncline.schemas import EVENT_TYPES_V1

MISSING: Any = object()
PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_STEP = r"[A-Za-z_][A-Za-z0-9_]*(\[\d{1,3}\])?"
TARGET = re.compile(rf"^{_STEP}(\.{_STEP})*$")
SOURCES = ("column", "concat", "path", "constant", "template")
RULE_KEYS = {*SOURCES, "sep", "transforms", "default", "optional"}
DEFAULT_SUBJECTS = {
    "time.approved": "time/{time_entry_id}", "time.rejected": "time/{time_entry_id}",
    "expense.approved": "expense/{expense_id}", "expense.rejected": "expense/{expense_id}",
    "worker.upserted": "worker/{worker_id}", "worker.terminated": "worker/{worker_id}",
    "deal.closed_won": "deal/{deal_id}", "milestone.completed": "milestone/{milestone_id}",
}


@dataclass(frozen=True)
class Rule:
    """Where one value comes from (one source), what is done to it, and what an empty one
    means: ``default`` (a final value), ``optional`` (left out) or a refusal."""

    target: str
    source: str
    argument: Any  # the column, the concat's columns, the compiled path, constant or template
    sep: str = " "
    steps: tuple[tuple[str, t.Transform], ...] = ()
    default: Any = MISSING
    optional: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns this rule reads (for reasons and the header check)."""
        if self.source == "column":
            return (self.argument,)
        if self.source == "concat":
            return tuple(self.argument)
        if self.source == "template":
            return tuple(PLACEHOLDER.findall(self.argument))
        return ()


@dataclass(frozen=True)
class Grouping:
    by: Rule
    into: str
    item: tuple[Rule, ...]


@dataclass(frozen=True)
class Mapping:
    etype: str
    subject: str
    fields: tuple[Rule, ...]
    record_id: Rule | None = None
    time: Rule | None = None
    sequence: Rule | None = None
    correlation: Rule | None = None
    group: Grouping | None = None
    problems: list[str] = field(default_factory=list, compare=False, repr=False)


class _Compiler:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, at: str, message: str) -> None:
        self.problems.append(f"{at}: {message}")

    def rule(self, target: str, value: Any, at: str) -> Rule | None:
        if isinstance(value, str):
            value = {"column": value}
        if not isinstance(value, dict):
            self.fail(at, "a column name or a mapping with one of " + ", ".join(SOURCES))
            return None
        unknown = set(value) - RULE_KEYS
        if unknown:
            self.fail(at, f"unknown keys {', '.join(sorted(map(str, unknown)))}; known: "
                      + ", ".join(sorted(RULE_KEYS)))
        sources = [k for k in SOURCES if k in value]
        if len(sources) != 1:
            self.fail(at, "exactly one of " + ", ".join(SOURCES) + f" (got {sources or 'none'})")
            return None
        source = sources[0]
        argument = value[source]
        if source == "column" and not (isinstance(argument, str) and argument):
            self.fail(f"{at}.column", "a column name")
        if source == "concat" and not (isinstance(argument, list) and argument
                                       and all(isinstance(c, str) for c in argument)):
            self.fail(f"{at}.concat", "a list of column names")
        if source == "template" and not (isinstance(argument, str)
                                         and PLACEHOLDER.search(argument)):
            self.fail(f"{at}.template", "text with {Column} placeholders")
        if source == "path":
            try:
                argument = jmespath.compile(str(argument))
            except JMESPathError as bad:
                self.fail(f"{at}.path", f"not a JMESPath expression: {bad}")
        steps = self.transforms(value.get("transforms", []), f"{at}.transforms")
        optional = value.get("optional", False)
        if not isinstance(optional, bool):
            self.fail(f"{at}.optional", "true or false")
        sep = value.get("sep", " ")
        if not isinstance(sep, str):
            self.fail(f"{at}.sep", "text")
        return Rule(target, source, argument, str(sep), steps, value.get("default", MISSING),
                    bool(optional))

    def transforms(self, items: Any, at: str) -> tuple[tuple[str, t.Transform], ...]:
        if not isinstance(items, list):
            self.fail(at, "a list of transforms")
            return ()
        out = []
        for i, item in enumerate(items):
            made = self.transform(item, f"{at}[{i}]")
            if made is not None:
                out.append(made)
        return tuple(out)

    def transform(self, item: Any, at: str) -> tuple[str, t.Transform] | None:
        simple: dict[str, t.Transform] = {
            "strip": t.strip, "upper": t.upper, "lower": t.lower, "text": t.text,
            "integer": t.integer, "json": t.parse_json, "date": t.date_of(("iso",)),
            "datetime": t.datetime_of(("iso",), "UTC"), "decimal": t.decimal_of(".", ""),
            "boolean": t.boolean_of(t.TRUE_WORDS, t.FALSE_WORDS)}
        if isinstance(item, str) and item in simple:
            return item, simple[item]
        names = [k for k in (item if isinstance(item, dict) else {}) if k in BUILDERS]
        if len(names) != 1:
            self.fail(at, f"one transform ({', '.join(sorted({*simple, *BUILDERS}))}), got "
                      f"{item!r}"[:300])
            return None
        name = names[0]
        options = {k: v for k, v in item.items() if k != name}
        try:
            return name, BUILDERS[name](item[name], options)
        except (ValueError, TypeError, KeyError, InvalidOperation, JMESPathError) as bad:
            self.fail(f"{at}.{name}", str(bad) or type(bad).__name__)
            return None


def _formats(arg: Any) -> tuple[str, ...]:
    formats = (arg,) if isinstance(arg, str) else tuple(arg) if isinstance(arg, list) else ()
    if not formats or not all(isinstance(f, str) and f for f in formats):
        raise ValueError("a format (strptime codes such as %d/%m/%Y, or iso) or a list of them")
    return formats


def _only(options: dict[str, Any], allowed: set[str]) -> None:
    extra = set(options) - allowed
    if extra:
        raise ValueError(f"unknown options {', '.join(sorted(map(str, extra)))}")


def _date(arg: Any, options: dict[str, Any]) -> t.Transform:
    _only(options, set())
    return t.date_of(_formats(arg))


def _datetime(arg: Any, options: dict[str, Any]) -> t.Transform:
    _only(options, {"timezone"})
    zone = options.get("timezone", "UTC")
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"timezone {zone!r} is not an IANA time zone") from None
    return t.datetime_of(_formats(arg), str(zone))


def _decimal(arg: Any, options: dict[str, Any]) -> t.Transform:
    _only(options, set())
    arg = arg or {}
    if not isinstance(arg, dict) or set(arg) - {"decimal", "thousands"}:
        raise ValueError("{decimal: SEPARATOR, thousands: SEPARATOR}")
    point, thousands = str(arg.get("decimal", ".")), str(arg.get("thousands", ""))
    if len(point) != 1 or point.isdigit() or len(thousands) > 1 or thousands == point \
            or thousands.isdigit():
        raise ValueError("one non-digit character each, different (e.g. decimal ',' "
                         "thousands '.')")
    return t.decimal_of(point, thousands)


QUOTE = "quote it: YAML reads yes, no, on, off, true and false unquoted as booleans"


def _boolean(arg: Any, options: dict[str, Any]) -> t.Transform:
    _only(options, set())
    if not isinstance(arg, dict):
        raise ValueError("{true: [words], false: [words]}")
    named = {str(k).lower(): v for k, v in arg.items()}  # YAML reads the keys as booleans
    if set(named) - {"true", "false"}:
        raise ValueError("{true: [words], false: [words]}")
    words: dict[str, tuple[str, ...]] = {}
    for key, default in (("true", t.TRUE_WORDS), ("false", t.FALSE_WORDS)):
        given = named.get(key, default)
        if not isinstance(given, list | tuple) or any(isinstance(w, bool) for w in given):
            raise ValueError(f"{key}: a list of words; {QUOTE}")
        words[key] = tuple(str(w).strip().lower() for w in given)
    return t.boolean_of(words["true"], words["false"])


def _map(arg: Any, options: dict[str, Any]) -> t.Transform:
    _only(options, {"else"})
    if not isinstance(arg, dict) or not arg:
        raise ValueError("a table of values {from: to}")
    if any(isinstance(k, bool) or k is None for k in arg):
        raise ValueError(f"a key is a boolean or null; {QUOTE} (and null)")
    otherwise = options.get("else")
    return t.map_of({str(k): v for k, v in arg.items()},
                    t.KEEP if otherwise == "keep" else otherwise)


def _scale(verb: str) -> Any:
    def build(arg: Any, options: dict[str, Any]) -> t.Transform:
        _only(options, {"places"})
        factor = Decimal(str(arg))
        if not factor.is_finite() or factor == 0:
            raise ValueError("a non-zero number")
        places = options.get("places")
        if places is not None and (not isinstance(places, int) or not 0 <= places <= 12):
            raise ValueError("places: a whole number 0..12")
        return t.scale(factor, places, verb)

    return build


def _jmespath(arg: Any, options: dict[str, Any]) -> t.Transform:
    _only(options, set())
    return t.jmespath_of(str(arg))


BUILDERS: dict[str, Any] = {
    "date": _date, "datetime": _datetime, "decimal": _decimal, "boolean": _boolean,
    "map": _map, "divide": _scale("divide"), "multiply": _scale("multiply"),
    "jmespath": _jmespath}

TOP_KEYS = {"type", "id", "subject", "time", "sequence", "correlation", "fields", "group"}


def compile_mapping(document: Any, at: str = "mapping") -> Mapping:
    """The mapping, or ``Mapping.problems`` listing every problem with its place."""
    c = _Compiler()
    if not isinstance(document, dict):
        return Mapping("", "", (), problems=[f"{at}: expected a mapping (type, fields, …)"])
    unknown = set(document) - TOP_KEYS
    if unknown:
        c.fail(at, f"unknown keys {', '.join(sorted(map(str, unknown)))}; known: "
               + ", ".join(sorted(TOP_KEYS)))
    etype = document.get("type")
    if etype not in EVENT_TYPES_V1:
        c.fail(f"{at}.type", f"{etype!r} is not an event type; known: "
               + ", ".join(EVENT_TYPES_V1))
    subject = document.get("subject", DEFAULT_SUBJECTS.get(str(etype)))
    if not isinstance(subject, str) or not PLACEHOLDER.search(subject):
        c.fail(f"{at}.subject", "a template over canonical fields, e.g. time/{time_entry_id}")
    fields = c_fields(c, document.get("fields"), f"{at}.fields")
    optional = {key: c.rule(key, document[key], f"{at}.{key}")
                for key in ("id", "time", "sequence", "correlation") if key in document}
    group = None
    if "group" in document:
        g = document["group"]
        if not isinstance(g, dict) or set(g) != {"by", "into", "item"}:
            c.fail(f"{at}.group", "by (a rule), into (a list field), item (fields per row)")
        else:
            by = c.rule("(group)", g["by"], f"{at}.group.by")
            if not isinstance(g["into"], str) or not TARGET.match(g["into"]):
                c.fail(f"{at}.group.into", "a canonical list field such as lines")
            item = c_fields(c, g["item"], f"{at}.group.item")
            if by is not None:
                group = Grouping(by, str(g["into"]), item)
    return Mapping(str(etype), str(subject), fields, optional.get("id"), optional.get("time"),
                   optional.get("sequence"), optional.get("correlation"), group, c.problems)


def c_fields(c: _Compiler, spec: Any, at: str) -> tuple[Rule, ...]:
    if not isinstance(spec, dict) or not spec:
        c.fail(at, "a mapping of canonical field → rule")
        return ()
    out = []
    for target, value in spec.items():
        if not isinstance(target, str) or not TARGET.match(target):
            c.fail(f"{at}.{target}", "a canonical field path such as customer.name or "
                   "lines[0].amount")
            continue
        made = c.rule(target, value, f"{at}.{target}")
        if made is not None:
            out.append(made)
    targets = [r.target for r in out]
    for a in targets:
        inner = [b for b in targets if b.startswith((f"{a}.", f"{a}["))]
        if inner:
            c.fail(f"{at}.{a}", f"is a value, so {inner[0]} cannot be inside it")
    return tuple(out)
