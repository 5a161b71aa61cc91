"""Every transform of the mapping language, one value at a time (docs/connectors/files.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncline.connectors.files.mapping import OMIT, RowError
from syncline.connectors.files.spec import compile_mapping

from .conftest import one


def test_strip_upper_lower() -> None:
    assert one({"column": "a", "transforms": ["strip"]}, {"a": "  x y  "}) == "x y"
    assert one({"column": "a", "transforms": ["strip", "upper"]}, {"a": " fr01 "}) == "FR01"
    assert one({"column": "a", "transforms": ["lower"]}, {"a": "Ada@X.COM"}) == "ada@x.com"
    assert one("a", {"a": " kept "}) == " kept "  # no transform: the cell as it is


@pytest.mark.parametrize(("fmt", "cell", "iso"), [
    ("%d/%m/%Y", "05/06/2026", "2026-06-05"),
    ("%m/%d/%Y", "06/05/2026", "2026-06-05"),
    ("%d.%m.%y", "05.06.26", "2026-06-05"),
    (["%d/%m/%Y", "%Y-%m-%d"], "2026-06-05", "2026-06-05"),
])
def test_date_formats(fmt: object, cell: str, iso: str) -> None:
    assert one({"column": "d", "transforms": [{"date": fmt}]}, {"d": cell}) == iso


def test_date_is_strict_and_iso_by_default() -> None:
    assert one({"column": "d", "transforms": ["date"]}, {"d": "2026-06-05"}) == "2026-06-05"
    with pytest.raises(RowError, match="'05/06/2026' is not a date in ISO 8601"):
        one({"column": "d", "transforms": ["date"]}, {"d": "05/06/2026"})
    with pytest.raises(RowError, match="'31/06/2026' is not a date"):
        one({"column": "d", "transforms": [{"date": "%d/%m/%Y"}]}, {"d": "31/06/2026"})


def test_datetime_in_a_zone_becomes_utc() -> None:
    rule = {"column": "t", "transforms": [{"datetime": "%d/%m/%Y %H:%M",
                                           "timezone": "Europe/Paris"}]}
    assert one(rule, {"t": "05/01/2026 17:02"}) == "2026-01-05T16:02:00Z"  # CET
    assert one(rule, {"t": "05/06/2026 17:02"}) == "2026-06-05T15:02:00Z"  # CEST
    assert one({"column": "t", "transforms": ["datetime"]},
               {"t": "2026-06-05T15:02:00+02:00"}) == "2026-06-05T13:02:00Z"


@pytest.mark.parametrize(("separators", "cell", "text"), [
    ({}, "1234.50", "1234.50"),
    ({}, "-0.10", "-0.10"),
    ({"decimal": ",", "thousands": "."}, "1.234,50", "1234.50"),
    ({"decimal": ",", "thousands": " "}, "12 345,5", "12345.5"),
    ({"decimal": ".", "thousands": ","}, "+1,234,567.891", "1234567.891"),
    ({"decimal": ",", "thousands": "."}, "7,5", "7.5"),
])
def test_decimal_with_separators(separators: dict[str, str], cell: str, text: str) -> None:
    assert one({"column": "n", "transforms": [{"decimal": separators}]}, {"n": cell}) == text


@pytest.mark.parametrize("cell", ["12.5", "1.23,4", "7,5h", "1e3", "NaN", "€12", "1,2,3",
                                  " ", "--1"])
def test_decimal_refuses_what_it_cannot_read_exactly(cell: str) -> None:
    rule = {"column": "n", "transforms": [{"decimal": {"decimal": ",", "thousands": "."}}]}
    with pytest.raises(RowError):
        one(rule, {"n": cell})


def test_decimal_is_never_a_float() -> None:
    # 0.1 + 0.2 as floats is 0.30000000000000004; as text decimals it stays exact
    got = one({"column": "n", "transforms": ["decimal"]}, {"n": "0.30000000000000000001"})
    assert got == "0.30000000000000000001" and isinstance(got, str)


def test_integer_and_text() -> None:
    assert one({"column": "n", "transforms": ["integer"]}, {"n": " 30 "}) == 30
    with pytest.raises(RowError, match="not a whole number"):
        one({"column": "n", "transforms": ["integer"]}, {"n": "30.5"})
    assert one({"column": "n", "transforms": ["text"]}, {"n": "007"}) == "007"


def test_boolean_words() -> None:
    rule = {"column": "b", "transforms": [{"boolean": {"true": ["oui", "yes"],
                                                       "false": ["non", "no"]}}]}
    assert one(rule, {"b": " Oui"}) is True
    assert one(rule, {"b": "NO"}) is False
    with pytest.raises(RowError, match="'peut-être' is neither true"):
        one(rule, {"b": "peut-être"})
    assert one({"column": "b", "transforms": ["boolean"]}, {"b": "Y"}) is True


def test_map_is_strict_unless_told_otherwise() -> None:
    table = {"Approved": "approved", "Rejected": "rejected"}
    assert one({"column": "s", "transforms": [{"map": table}]}, {"s": "Approved"}) == "approved"
    with pytest.raises(RowError, match="'Pending' is not one of 'Approved', 'Rejected'"):
        one({"column": "s", "transforms": [{"map": table}]}, {"s": "Pending"})
    assert one({"column": "s", "transforms": [{"map": table, "else": "keep"}]},
               {"s": "Pending"}) == "Pending"
    assert one({"column": "s", "transforms": [{"map": table, "else": "other"}]},
               {"s": "Pending"}) == "other"


def test_default_optional_and_constant() -> None:
    assert one({"column": "b", "default": True}, {"b": "  "}) is True
    assert one({"column": "b", "optional": True}, {"b": ""}) is OMIT
    assert one({"constant": "approved"}, {}) == "approved"
    with pytest.raises(RowError, match=r"column 'b' .*is empty"):
        one({"column": "b"}, {"b": None})


def test_concat_and_template() -> None:
    cells = {"First": "Ada", "Middle": "", "Last": "Lovelace"}
    assert one({"concat": ["First", "Middle", "Last"]}, cells) == "Ada Lovelace"
    assert one({"concat": ["Last", "First"], "sep": ", "}, cells) == "Lovelace, Ada"
    assert one({"template": "{Last}/{First}"}, cells) == "Lovelace/Ada"
    assert one({"template": "W-{First}", "transforms": ["upper"]}, cells) == "W-ADA"


def test_divide_and_multiply_are_exact_or_rounded_as_told() -> None:
    assert one({"column": "m", "transforms": [{"divide": 60}]}, {"m": "450"}) == "7.5"
    assert one({"column": "c", "transforms": [{"multiply": "0.01"}]}, {"c": "12550"}) == "125.5"
    with pytest.raises(RowError, match="not exact: give `places`"):
        one({"column": "m", "transforms": [{"divide": 60}]}, {"m": "50"})
    assert one({"column": "m", "transforms": [{"divide": 60, "places": 2}]},
               {"m": "50"}) == "0.83"


def test_jmespath_over_a_json_column_and_a_json_record() -> None:
    cells = {"payload": '{"amount": {"value": 12.10, "currency": "eur"}, "tags": ["a", "b"]}'}
    rule = {"column": "payload", "transforms": ["json", {"jmespath": "amount.value"}]}
    assert one(rule, cells) == "12.10"  # a JSON number as a Decimal, never a float
    assert one({"column": "payload", "transforms": ["json", {"jmespath": "tags[1]"}]},
               cells) == "b"
    record = {"customer": {"name": "Acme"}, "lines": [{"amount": "5"}]}
    assert one({"path": "customer.name"}, record, json_record=True) == "Acme"
    assert one({"path": "lines[0].amount"}, record, json_record=True) == "5"
    assert one({"path": "missing.key", "optional": True}, record, json_record=True) is OMIT


def test_transforms_apply_in_order() -> None:
    # lower then map finds the key; map then lower would refuse "Approved" (not in the table)
    assert one({"column": "s", "transforms": ["lower", {"map": {"approved": "OK"}}]},
               {"s": "Approved"}) == "OK"
    with pytest.raises(RowError):
        one({"column": "s", "transforms": [{"map": {"approved": "OK"}}, "lower"]},
            {"s": "Approved"})


@pytest.mark.parametrize(("rule", "needle"), [
    ({"column": "a", "transforms": ["decimel"]}, "one transform"),
    ({"column": "a", "transforms": [{"date": 5}]}, "a format"),
    ({"column": "a", "transforms": [{"decimal": {"decimal": ",", "thousands": ","}}]},
     "different"),
    ({"column": "a", "transforms": [{"datetime": "iso", "timezone": "Mars/Base"}]},
     "not an IANA time zone"),
    ({"column": "a", "transforms": [{"boolean": {"true": [True]}}]}, "quote it"),
    ({"column": "a", "transforms": [{"map": {True: "x"}}]}, "quote it"),
    ({"column": "a", "transforms": [{"divide": 0}]}, "non-zero"),
    ({"column": "a", "transforms": [{"jmespath": "a[["}]}, "jmespath"),
    ({"path": "a[["}, "not a JMESPath expression"),
    ({"column": "a", "constant": 1}, "exactly one of"),
    ({"colum": "a"}, "unknown keys colum"),
])
def test_mapping_problems_are_named_by_place(rule: object, needle: str) -> None:
    mapping = compile_mapping({"type": "time.approved", "fields": {"hours": rule}})
    assert mapping.problems, "expected a problem"
    assert all(p.startswith("mapping.fields.hours") for p in mapping.problems)
    assert needle in " ".join(mapping.problems)


def test_a_wrong_type_and_conflicting_targets_are_problems() -> None:
    mapping = compile_mapping({"type": "time.approve", "fields": {"a": "x", "a.b": "y"}})
    assert any("mapping.type: 'time.approve' is not an event type" in p
               for p in mapping.problems)
    assert any("mapping.fields.a: is a value, so a.b cannot be inside it" in p
               for p in mapping.problems)


def test_settings_problems_are_all_named_at_once(tmp_path: Path) -> None:
    from syncline.connectors.files import build
    from syncline.connectors.registry import Wiring
    from syncline.connectors.sdk.config import ConnectorConfig, ConnectorConfigInvalid

    settings = {"streams": [
        {"name": "t", "path": "in/*.csv", "mapping": "nowhere.yaml", "delimiter": ";;"},
        {"name": "u", "path": "in/*.dat", "mapping": {"type": "time.approved"},
         "batch_size": "many"},
    ]}
    with pytest.raises(ConnectorConfigInvalid) as caught:
        build(ConnectorConfig("imp", "files", settings), Wiring(base_dir=tmp_path))
    problems = " | ".join(caught.value.problems)
    assert "connectors.imp.settings.streams[0].mapping: cannot read" in problems
    assert "streams[0]: delimiter and quotechar are one character each" in problems
    assert "streams[1].format: csv, xlsx, json or jsonl (got None" in problems
