"""validate() and check(): every id the mapping names exists at NetSuite and is active."""

from __future__ import annotations

import json

from tests.connectors.netsuite.support import connector, seeded


def test_a_matching_mapping_has_no_problems_and_check_passes() -> None:
    fake = seeded()
    made = connector(fake)
    assert made.validate() == []
    checked = made.check()
    assert checked.ok and "account 1234567_SB1: signed in" in checked.detail
    queries = [json.loads(r.content)["q"] for r in fake.requests]
    assert "SELECT id, acctnumber, isinactive FROM account WHERE id IN (122, 123, 54, 61, 70)" \
        in queries


def test_an_unknown_account_is_named() -> None:
    fake = seeded()
    del fake.books.tables["account"]["70"]
    assert connector(fake).validate() == ["account 5000: NetSuite has no record 70"]


def test_inactive_records_and_wrong_currencies_are_named() -> None:
    fake = seeded()
    fake.books.tables["salestaxitem"]["6"]["isinactive"] = "T"
    fake.books.tables["subsidiary"]["3"]["currency"] = "4"
    fake.books.tables["item"]["211"]["incomeaccount"] = "54"
    problems = connector(fake).validate()
    assert problems == [
        "subsidiary of entity GB01: NetSuite record 3 keeps currency 4, the settings say GBP "
        "(2)",
        "tax code GB-VAT-STD: NetSuite record 6 is inactive",
        "item for account 2400: NetSuite item 211 posts to account 54, not 61"]
    checked = connector(fake).check()
    assert not checked.ok and "tax code GB-VAT-STD" in checked.detail


def test_an_id_that_is_not_an_internal_id_and_an_unknown_dimension_are_named() -> None:
    fake = seeded()
    made = connector(fake, dimensions={"service_line": {"advisory": "7", "tax": "adv"}})
    assert made.validate() == ["service_line (class) tax: 'adv' is not a NetSuite internal id"]


def test_check_reports_bad_credentials_without_the_secret() -> None:
    fake = seeded(token_secret="rotated")
    checked = connector(fake).check()
    assert not checked.ok and "HTTP 401 INVALID_LOGIN" in checked.detail
    assert "ts-fake" not in checked.detail
