"""The ``syncline revenue`` sub-app, through Typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from syncline.cli.revenue import app

EXAMPLES = sorted(Path("examples/revenue").glob("*.yaml"))
runner = CliRunner()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_schedule_every_example_as_json(path: Path) -> None:
    r = runner.invoke(app, ["schedule", str(path), "--as-of", "2025-06-30", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["format"] == "syncline.revenue.schedule/v1"
    for ob in out["obligations"]:
        assert all(isinstance(v, str) for v in ob["revenue"].values())


def test_schedule_table() -> None:
    r = runner.invoke(app, ["schedule", "examples/revenue/bundle-discount.yaml",
                            "--as-of", "2025-06-30"])
    assert r.exit_code == 0, r.output
    assert "Allocation" in r.output and "Remaining performance obligations" in r.output


def test_known_at_shows_difference() -> None:
    r = runner.invoke(app, ["schedule", "examples/revenue/fixed-fee-cost-to-cost.yaml",
                            "--as-of", "2025-06-30", "--known-at", "2025-05-01T00:00:00Z",
                            "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["difference_to_now"]


def test_whatif_three_treatments() -> None:
    r = runner.invoke(app, ["whatif", "examples/revenue/modification.yaml",
                            "--modification", "EXT-1", "--as-of", "2024-12-31", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert [o["treatment"] for o in out["outcomes"]] == [
        "separate_contract", "termination_and_new_contract", "cumulative_catch_up"]
    assert out["decision"]["treatment"] == "termination_and_new_contract"


def test_invalid_file_names_field_and_rule(tmp_path: Path) -> None:
    bad = Path("examples/revenue/bundle-discount.yaml").read_text().replace(
        'amount: "2500000"', "amount: 25000.5")
    f = tmp_path / "bad.yaml"
    f.write_text(bad)
    r = runner.invoke(app, ["schedule", str(f), "--as-of", "2025-06-30"])
    assert r.exit_code == 2
    assert "contract.obligations[0].ssp.amount" in r.output
    assert "never floats" in r.output
    assert "Traceback" not in r.output


def test_unknown_modification_is_an_error() -> None:
    r = runner.invoke(app, ["whatif", "examples/revenue/modification.yaml",
                            "--modification", "NOPE", "--as-of", "2024-12-31"])
    assert r.exit_code == 2 and "NOPE" in r.output


def test_semantic_error_names_field(tmp_path: Path) -> None:
    bad = Path("examples/revenue/modification.yaml").read_text().replace(
        "- {obligation: managed, new_end", "- {obligation: managd, new_end")
    f = tmp_path / "bad.yaml"
    f.write_text(bad)
    r = runner.invoke(app, ["schedule", str(f), "--as-of", "2024-12-31"])
    assert r.exit_code == 2
    assert "contract.modifications[0].changes[0].obligation" in r.output
