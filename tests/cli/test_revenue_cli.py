"""The ``syncline revenue`` sub-app, through Typer's runner.

The examples are found next to this file (``<repo>/examples/revenue``), not relative to the
working directory, and every example has hand-checked amounts below: a new example without
expected amounts fails ``test_every_example_has_expected_amounts``.
"""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from syncline.cli.revenue import app

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples" / "revenue"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.yaml"))
AS_OF = "2025-06-30"
runner = CliRunner()


def example(name: str) -> str:
    return str(EXAMPLES_DIR / f"{name}.yaml")


def months(year: int, first: int, last: int, value: str) -> dict[str, str]:
    return {f"{year}-{m:02d}": value for m in range(first, last + 1)}


# Everything as of 2025-06-30; amounts worked out by hand from the YAML (formulas beside).
EXPECTED: dict[str, dict[str, Any]] = {
    "bundle-discount": {
        # JPY, price 9,000,000 over SSPs 2,500,000 + 2,000,000 x 1.10 + 6,000,000 x 0.90
        # = 10,100,000: 2,227,722.77 / 1,960,396.04 / 4,811,881.19 -> largest remainder
        "segments": ["9000000"],
        "allocated": {"setup": "2227723", "training": "1960396", "support": "4811881"},
        "revenue": {
            "setup": {"2025-04": "2227723"},  # delivered 2025-04-28
            "training": {"2025-06": "490099"},  # wave-1 of weights 1/1/2: 1,960,396 / 4
            "support": months(2025, 4, 6, "200495"),  # 4,811,881 / 24 a month
        },
        # consideration 4,500,000 (paid); revenue 2,227,723 + 490,099 + 601,485 = 3,319,307
        "balance": {"revenue": "3319307", "receivable": "0", "contract_asset": "0",
                    "contract_liability": "1180693"},
        # 9,000,000 - 3,319,307; training (5 months) and setup are within one year: left out
        "rpo": {"total": "5680693", "disclosed": "4210396",
                "buckets": {"1-12 months": "3876238", "13-24 months": "1804455",
                            "after 24 months": "0"}},
    },
    "fixed-fee-cost-to-cost": {
        # one obligation: all 480,000.00; 60,000 uninstalled materials at zero margin, the
        # rest (420,000) by costs / (estimate - 60,000), the estimate 380,000 then 410,000
        "segments": ["480000.00"],
        "allocated": {"rollout": "480000.00"},
        "revenue": {"rollout": {
            "2025-02": "52500.00",  # 40,000 / 320,000 x 420,000
            "2025-03": "145312.50",  # 105,000 / 320,000 x 420,000 + 60,000 - 52,500
            "2025-04": "91875.00",  # 175,000 / 320,000 x 420,000 + 60,000 (inefficiency out)
            "2025-05": "52312.50",  # 235,000 / 350,000 x 420,000 + 60,000 = 342,000
        }},
        # two invoices of 120,000 (one paid): consideration 240,000, receivable 120,000
        "balance": {"revenue": "342000.00", "receivable": "120000.00",
                    "contract_asset": "102000.00", "contract_liability": "0.00"},
        "rpo": {"total": "138000.00", "disclosed": "0.00",
                "buckets": {"1-12 months": "138000.00", "13-24 months": "0.00",
                            "after 24 months": "0.00"}},
    },
    "modification": {
        # 180,000 over SSPs 120,000 / 66,000: 116,129.03 / 63,870.97; EXT-1 (2024-07-01) is a
        # termination and new contract: 116,129.03 - 58,064.52 + 100,000 = 158,064.51 over
        # the 18 months 2024-07 .. 2025-12 (cumulative rounding: 8,781.37 every third month)
        "segments": ["180000.00", "158064.51"],
        "allocated": {"managed": "216129.03", "migration": "63870.97"},
        "revenue": {
            "managed": {**months(2024, 1, 6, "9677.42"), **months(2024, 7, 12, "8781.36"),
                        **months(2025, 1, 6, "8781.36"), "2024-09": "8781.37",
                        "2025-03": "8781.37"},
            # hours 120 / 300 / 450 / 600 of 600, cumulative, rounded half-up
            "migration": {"2024-01": "12774.19", "2024-02": "19161.30",
                          "2024-03": "15967.74", "2024-04": "15967.74"},
        },
        # 58,064.52 + 12 x 158,064.51 / 18 (105,376.34) + 63,870.97; invoiced 120,000
        "balance": {"revenue": "227311.83", "receivable": "60000.00",
                    "contract_asset": "107311.83", "contract_liability": "0.00"},
        "rpo": {"total": "52688.17", "disclosed": "52688.17",
                "buckets": {"1-12 months": "52688.17", "13-24 months": "0.00",
                            "after 24 months": "0.00"}},
    },
    "retainer-ratable": {
        # 96,000 + the constrained success fee min(20,000 x 0.5, cap 5,000) = 101,000 over the
        # 365 days 2025-03-15 .. 2026-03-14, by day (policy ratable_convention: daily)
        "segments": ["101000.00"],
        "allocated": {"retainer": "101000.00"},
        "revenue": {"retainer": {
            "2025-03": "4704.11",  # 17 days: 101,000 x 17 / 365
            "2025-04": "8301.37",  # 47 days cumulative: 13,005.48
            "2025-05": "8578.08",  # 78 days: 21,583.56
            "2025-06": "8301.37",  # 108 days: 29,884.93
        }},
        # Q1 and Q2 invoiced and paid (48,000): 48,000 - 29,884.93 deferred
        "balance": {"revenue": "29884.93", "receivable": "0.00", "contract_asset": "0.00",
                    "contract_liability": "18115.07"},
        "rpo": {"total": "71115.07", "disclosed": "0.00",
                "buckets": {"1-12 months": "71115.07", "13-24 months": "0.00",
                            "after 24 months": "0.00"}},
    },
    "time-and-materials": {
        # right to invoice: revenue is what is billable, all of it allocated
        "segments": ["66250.00"],
        "allocated": {"consulting": "66250.00"},
        "revenue": {"consulting": {"2025-01": "18750.00", "2025-02": "22500.00",
                                   "2025-03": "25000.00"}},
        # invoiced 18,750 (paid) + 22,500 (open); March's 25,000 not yet invoiced
        "balance": {"revenue": "66250.00", "receivable": "22500.00",
                    "contract_asset": "25000.00", "contract_liability": "0.00"},
        "rpo": {"total": "0.00", "disclosed": "0.00",
                "buckets": {"1-12 months": "0.00", "13-24 months": "0.00",
                            "after 24 months": "0.00"}},
    },
}


def schedule_json(path: str, *extra: str) -> dict[str, Any]:
    r = runner.invoke(app, ["schedule", path, "--as-of", AS_OF, "--json", *extra])
    assert r.exit_code == 0, r.output
    out: dict[str, Any] = json.loads(r.output)
    return out


def table_row(output: str, first_cell: str, after: str = "") -> list[str]:
    """The cells of the first rendered table row whose first cell is ``first_cell`` (below
    the first line containing ``after``, if given)."""
    lines = output.splitlines()
    if after:
        lines = lines[next(i for i, t in enumerate(lines) if after in t):]
    for text in lines:
        cells = [c.strip() for c in text.strip().strip("│").split("│")]
        if len(cells) > 1 and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in:\n{output}")


def test_every_example_has_expected_amounts() -> None:
    assert EXAMPLES_DIR.is_dir(), EXAMPLES_DIR
    assert {p.stem for p in EXAMPLES} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_schedule_of_each_example_as_json(name: str) -> None:
    want = EXPECTED[name]
    out = schedule_json(example(name))
    assert out["format"] == "syncline.revenue.schedule/v1"
    assert out["as_of"] == AS_OF and out["as_of_period"] == "2025-06"
    assert [s["transaction_price"] for s in out["segments"]] == want["segments"]
    assert {ob["id"]: ob["allocated"] for ob in out["obligations"]} == want["allocated"]
    for ob in out["obligations"]:
        to_date = {p: v for p, v in ob["revenue"].items() if p <= "2025-06" and D(v)}
        assert to_date == want["revenue"][ob["id"]], ob["id"]
    last = out["balances"][-1]
    assert last["date"] == AS_OF
    assert {k: last[k] for k in want["balance"]} == want["balance"]
    assert {k: out["rpo"][k] for k in want["rpo"]} == want["rpo"]
    # the obligations' cumulative revenue adds up to the contract's
    assert sum(D(ob["cumulative"]["2025-06"]) for ob in out["obligations"]) == D(
        last["revenue"])


def test_schedule_table_shows_the_amounts() -> None:
    r = runner.invoke(app, ["schedule", example("bundle-discount"), "--as-of", AS_OF])
    assert r.exit_code == 0, r.output
    assert "transaction price 9000000" in r.output
    assert table_row(r.output, "setup")[:6] == ["setup", "2500000", "observable price",
                                                "2227723", "0", "2227723"]
    # period, setup, training, support, total, cumulative
    assert table_row(r.output, "2025-06") == ["2025-06", "0", "490099", "200495", "690594",
                                              "3319307"]
    assert table_row(r.output, "2025-06-30") == ["2025-06-30", "3319307", "0", "0", "1180693"]
    assert "Remaining performance obligations: 5680693 (disclosed 4210396)" in r.output
    assert table_row(r.output, "support", after="Remaining performance obligations")[:4] == [
        "support", "2405941", "1804455", "0"]


def test_known_at_shows_difference() -> None:
    """As known at 2025-05-01 neither the May costs nor the revised estimate (recorded
    2025-05-02) were known: May had no revenue then, 52,312.50 now."""
    out = schedule_json(example("fixed-fee-cost-to-cost"), "--known-at", "2025-05-01T00:00:00Z")
    assert out["difference_to_now"] == [
        {"obligation": "rollout", "period": "2025-05", "then": "0.00", "now": "52312.50"}]


def test_whatif_three_treatments() -> None:
    """EXT-1 under each treatment, as of 2024-12-31 (allocation 116,129.03 / 63,870.97;
    at 2024-06-30 managed had 58,064.52 and migration all 63,870.97 recognised):

    - separate contract: the extension is its own contract, 100,000 over 2025: to date
      180,000.00 (the original, done), RPO 100,000.00;
    - termination and new contract: 158,064.51 over 18 months, 6 by 2024-12-31
      (52,688.17): to date 58,064.52 + 52,688.17 + 63,870.97 = 174,623.66, RPO 105,376.34;
    - cumulative catch-up: 280,000 re-allocated over SSPs 240,000 / 66,000: managed
      219,607.84, migration 60,392.16; at 2024-06-30 6/24 of managed (54,901.96): catch-up
      54,901.96 + 60,392.16 - 121,935.49 = -6,641.37; to date 12/24 (109,803.92) +
      60,392.16 = 170,196.08, RPO 109,803.92.
    """
    r = runner.invoke(app, ["whatif", example("modification"), "--modification", "EXT-1",
                            "--as-of", "2024-12-31", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    got = {o["treatment"]: (o["chosen"], o["revenue_to_date"], o["catch_up"], o["rpo"])
           for o in out["outcomes"]}
    assert got == {
        "separate_contract": (False, "180000.00", "0.00", "100000.00"),
        "termination_and_new_contract": (True, "174623.66", "0.00", "105376.34"),
        "cumulative_catch_up": (False, "170196.08", "-6641.37", "109803.92"),
    }
    assert [o["treatment"] for o in out["outcomes"]] == [
        "separate_contract", "termination_and_new_contract", "cumulative_catch_up"]
    assert out["decision"]["treatment"] == "termination_and_new_contract"
    by = {o["treatment"]: o["revenue_by_period"] for o in out["outcomes"]}
    assert by["separate_contract"]["2025-01"] == "8333.33"  # 100,000 / 12
    assert by["termination_and_new_contract"]["2024-07"] == "8781.36"  # 158,064.51 / 18
    # 64,052.29 (7/24 of 219,607.84) + 60,392.16 - 121,935.49 recognised by June
    assert by["cumulative_catch_up"]["2024-07"] == "2508.96"
    assert out["not_applicable"] == []


def test_invalid_file_names_field_and_rule(tmp_path: Path) -> None:
    text = Path(example("bundle-discount")).read_text()
    bad = text.replace('amount: "2500000"', "amount: 25000.5")
    assert bad != text
    f = tmp_path / "bad.yaml"
    f.write_text(bad)
    r = runner.invoke(app, ["schedule", str(f), "--as-of", AS_OF])
    assert r.exit_code == 2
    assert "contract.obligations[0].ssp.amount" in r.output
    assert "never floats" in r.output
    assert "Traceback" not in r.output


def test_unknown_modification_is_an_error() -> None:
    r = runner.invoke(app, ["whatif", example("modification"),
                            "--modification", "NOPE", "--as-of", "2024-12-31"])
    assert r.exit_code == 2 and "NOPE" in r.output


def test_semantic_error_names_field(tmp_path: Path) -> None:
    text = Path(example("modification")).read_text()
    bad = text.replace("- {obligation: managed, new_end", "- {obligation: managd, new_end")
    assert bad != text
    f = tmp_path / "bad.yaml"
    f.write_text(bad)
    r = runner.invoke(app, ["schedule", str(f), "--as-of", "2024-12-31"])
    assert r.exit_code == 2
    assert "contract.modifications[0].changes[0].obligation" in r.output
