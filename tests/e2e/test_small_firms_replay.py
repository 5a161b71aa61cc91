"""Duplicates and reordering (issue 9, Evidence): the T&M firm of `test_small_firms_tm` fed
again with every month's batch shuffled and sent twice (the copies keep their CloudEvent ids,
so they are duplicates), and January's batch sent once more in February: the same invoices,
credit notes, revenue, balances, write-offs and labor cost per contract and month, the same
business state (fingerprint), and the same closes. And January closed through the command
line (`syncline close --period 2026-01`) gives the January figures of the hand table.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from syncline.bootstrap import bootstrap
from syncline.cli.main import app
from syncline.services.billing.requests import release_held_item
from syncline.workflows import delivery
from tests.conftest import fixed_clock
from tests.e2e import test_small_firms_tm as tm
from tests.e2e.firms import Firm


def shuffled_twice(batch: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    out = [dict(e) for e in batch + batch]
    rng.shuffle(out)
    return out


def run_replayed(firm: Firm, seed: int) -> tm.Quarter:
    rng = random.Random(seed)
    q = tm.Quarter(firm)
    firm.post(*shuffled_twice(tm.january(), rng))
    q.close("2026-01")
    firm.post(*shuffled_twice(tm.february() + tm.january(), rng))
    q.close("2026-02")
    with firm.system.engine.begin() as conn:
        assert release_held_item(conn, "time:T-H2#over", by="controller",
                                 now=firm.system.clock())
    firm.post(*shuffled_twice(tm.march(), rng))
    q.close("2026-03")
    return q


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[tm.Quarter, ...]]:
    firms = [Firm(tmp_path_factory.mktemp(f"replay{i}")) for i in range(3)]
    try:
        yield (tm.run_quarter(firms[0]), run_replayed(firms[1], 1), run_replayed(firms[2], 2))
    finally:
        for f in firms:
            f.dispose()


def test_same_figures_whatever_the_order_and_duplicates(both: tuple[tm.Quarter, ...]) -> None:
    straight, *replayed = both
    for other in replayed:
        for c in tm.EXPECTED:
            assert {p: m.row() for p, m in other.at_close[c].items()} == \
                {p: m.row() for p, m in straight.at_close[c].items()}, c


def test_same_business_state_and_closes(both: tuple[tm.Quarter, ...]) -> None:
    straight, *replayed = both
    for other in replayed:
        assert other.firm.fingerprint() == straight.firm.fingerprint()
        for period in tm.MONTHS:
            assert other.firm.closes[period]["locked"] == straight.firm.closes[period]["locked"]
            assert other.firm.differing_checks(period) == \
                straight.firm.differing_checks(period)


def test_the_hand_figures_hold_for_the_replayed_firm(both: tuple[tm.Quarter, ...]) -> None:
    """The cells that do not wait on finding 7 (labor cost of the rejection month)."""
    for q in both[1:]:
        assert {p: m.row() for p, m in q.at_close["C-HARD"].items()} == tm.EXPECTED["C-HARD"]
        got = [m.row()[:5] for m in q.at_close["C-SOFT"].values()]
        assert got == [tm.EXPECTED["C-SOFT"][p][:5] for p in tm.MONTHS]


def test_january_closed_through_the_command_line(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """`syncline close --period 2026-01 --json` on the firm's database: every check agrees,
    the month is locked, and the January figures are the hand table's (C-SOFT 1,800.00 billed
    and recognized, balance 0, labor 1,440.00; C-HARD 3,000.00, balance 0, labor 1,980.00)."""
    monkeypatch.setattr("syncline.cli.common.bootstrap", lambda settings: bootstrap(
        settings, clock=fixed_clock, durable=False))
    firm = Firm(tmp_path)
    try:
        firm.post(*tm.january())
        r = CliRunner().invoke(app, ["close", "--period", "2026-01", "--json",
                                     "--database-url", firm.url])
        assert r.exit_code == 0, r.output
        result = json.loads(r.stdout[r.stdout.index("{"):])
        assert result["locked"] is True and result["reconciliation"]["ok"] is True
        assert set(result["lock"].values()) == {"locked"}
        for c in tm.EXPECTED:
            assert firm.month(c, "2026-01").row() == tm.EXPECTED[c]["2026-01"], c
    finally:
        firm.dispose()
        delivery.shutdown()
