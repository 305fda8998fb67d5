"""Every lab's claims were calibrated on fresh random seeds, with a margin, and still match.

The rule (COURSE.md, instructors/claims.md): each asserted row of a lab's claims table ran on
at least MIN_SEEDS random seeds with no failure, and its threshold sits at least MIN_MARGIN
standard deviations from the seed mean, on the side away from its null. The lab's stored
claims table (what nbval compares with a fresh run) must name the same rows with the same
thresholds as the stored calibration, so a claim added, renamed or re-thresholded without
re-calibrating fails here.
"""
import json
import math
import statistics
from pathlib import Path

import pytest

from coursetools import calibrate
from utils.claims import parse_table

ROOT = Path(__file__).resolve().parents[1]
LABS = sorted((ROOT / "labs").glob("*.ipynb"))


def stored_table(lab: Path) -> list[dict]:
    cells = json.loads(lab.read_text())["cells"]
    claims = [c for c in cells if "claims" in c.get("metadata", {}).get("tags", [])]
    text = "".join("".join(o.get("text", "")) for c in claims for o in c.get("outputs", [])
                   if o.get("name") == "stdout")
    return parse_table(text)


def record(lab: Path) -> dict:
    path = calibrate.RECORDS / f"{lab.stem}.json"
    assert path.exists(), f"{lab.name} was never calibrated: run `make calibrate LABS={lab}`"
    return json.loads(path.read_text())


@pytest.mark.parametrize("lab", LABS, ids=[lab.stem for lab in LABS])
def test_the_claims_table_matches_its_calibration(lab):
    table = stored_table(lab)
    assert any(r["kind"] == "claim" for r in table), (
        f"{lab.name}: the claims cell prints no claims table (use utils.claims.Claims)")
    asserted = {(r["name"], r["kind"], r["op"], r["threshold"]) for r in table if r["op"]}
    calibrated = {(r["name"], r["kind"], r["op"], r["threshold"]) for r in record(lab)["rows"]
                  if r["op"]}
    assert asserted == calibrated, (
        f"{lab.name}: claims and calibration disagree; only in the lab: {asserted - calibrated}, "
        f"only in the calibration: {calibrated - asserted}. Re-run `make calibrate LABS={lab}`")


@pytest.mark.parametrize("lab", LABS, ids=[lab.stem for lab in LABS])
def test_every_asserted_row_meets_the_margin_rule(lab):
    rec = record(lab)
    assert len(set(rec["seeds"])) >= calibrate.MIN_SEEDS, f"{lab.name}: too few seeds"
    assert not rec["errors"], f"{lab.name}: runs failed during calibration: {rec['errors']}"
    for row in rec["rows"]:
        if not row["op"]:
            continue
        where = f"{lab.name}, {row['name']!r}"
        assert row["n"] >= calibrate.MIN_SEEDS, f"{where}: recorded on {row['n']} seeds only"
        assert not row["failures"], f"{where}: failed for seeds {row['failures']}"
        assert row["margin"] >= calibrate.MIN_MARGIN, (
            f"{where}: threshold {row['op']} {row['threshold']} is {row['margin']} SD from the "
            f"seed mean {row['mean']:.4g} (sd {row['sd']:.3g}); at least {calibrate.MIN_MARGIN} "
            "needed: redesign the claim or report it instead of asserting it")
        if row["kind"] == "claim":
            null = statistics.fmean(row["nulls"])
            away = null < row["threshold"] if row["op"] == ">=" else null > row["threshold"]
            assert away, f"{where}: its null {null:.4g} is not on the far side of the threshold"


def test_the_page_is_generated_from_the_records():
    expected = calibrate.render_page(calibrate.read_records())
    assert calibrate.PAGE.read_text(encoding="utf-8") == expected, (
        "instructors/claims.md is out of date: run `python -m coursetools.calibrate --page-only`")


def test_margin_is_measured_on_the_side_where_the_claim_holds():
    assert calibrate.margin({"op": ">=", "threshold": 1.0, "mean": 4.0, "sd": 1.0}) == 3.0
    assert calibrate.margin({"op": ">=", "threshold": 1.0, "mean": 0.0, "sd": 1.0}) == -1.0
    assert calibrate.margin({"op": "<=", "threshold": 1.0, "mean": 0.0, "sd": 0.5}) == 2.0
    assert calibrate.margin({"op": "<=", "threshold": 1.0, "mean": 0.5, "sd": 0.0}) == math.inf


def test_seeds_are_distinct_and_drawn_fresh():
    first, second = calibrate.draw_seeds(20), calibrate.draw_seeds(20)
    assert len(set(first)) == 20 and first != second
    with pytest.raises(ValueError):
        calibrate.draw_seeds(0)
    with pytest.raises(TypeError):
        calibrate.draw_seeds(2.0)


def test_a_record_edited_by_hand_says_so_on_the_page():
    record = {"lab": "99_x", "date": "2026-12-08", "machine": "m", "seconds": 1, "jobs": 2,
              "seeds": [1], "errors": {}, "rows": [],
              "edits": ["the row 'barrier' kept its threshold 2; the run had 0.7"]}
    page = calibrate.render_page([record])
    assert "Edited by hand after the run: the row 'barrier' kept its threshold 2" in page
    assert "Edited by hand" not in calibrate.render_page([{**record, "edits": []}])
