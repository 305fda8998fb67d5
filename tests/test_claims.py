"""utils.claims: one table of claims, sanity checks and reported numbers, read back exactly."""
import json

import numpy as np
import pytest

from utils.claims import Claims, ClaimsFailed, parse_table


def test_every_failed_claim_is_listed_not_only_the_first(capsys):
    claims = Claims()
    claims.at_least("first gap", 0.5, 1.0, null=0.0)
    claims.at_most("second ratio", 0.9, 0.5, null=1.0)
    claims.sanity_at_most("arithmetic", 0.0, 1e-9)
    with pytest.raises(ClaimsFailed) as err:
        claims.finish()
    assert "2 of 3" in str(err.value)
    assert "first gap = 0.5, needs >= 1" in str(err.value)
    assert "second ratio = 0.9, needs <= 0.5" in str(err.value)
    assert "NO" in capsys.readouterr().out  # the table is printed before failing


def test_the_printed_table_reads_back_with_every_threshold_and_null(capsys):
    claims = Claims()
    claims.at_least("ticket beats re-init (points)", np.float32(3.4), 1.0, null=0.0, fmt=".1f")
    claims.at_most("peak error / end error", 0.31, 0.75, null=1.0, fmt=".2f", approx=True)
    claims.sanity_at_least("train accuracy", 1.0, 0.99)
    claims.report("step it groks", 740, fmt=".0f", approx=True)
    claims.finish()
    rows = parse_table(capsys.readouterr().out)
    assert [(r["kind"], r["name"], r["op"], r["threshold"], r["null"], r["shown"]) for r in rows] == [
        ("claim", "ticket beats re-init (points)", ">=", 1.0, 0.0, "3.4"),
        ("claim", "peak error / end error", "<=", 0.75, 1.0, "~0.31"),
        ("sanity", "train accuracy", ">=", 0.99, None, "1"),
        ("reported", "step it groks", None, None, None, "~740")]


def test_a_null_on_the_wrong_side_of_the_threshold_is_refused():
    # A claim whose null already clears the threshold would hold without the phenomenon.
    with pytest.raises(ValueError, match="null 2 must lie below its threshold 1"):
        Claims().at_least("gap", 3.0, 1.0, null=2.0)
    with pytest.raises(ValueError, match="must lie above"):
        Claims().at_most("ratio", 0.1, 0.5, null=0.5)


@pytest.mark.parametrize("bad, error", [("1.0", TypeError), (True, TypeError), (None, TypeError),
                                        (float("nan"), ValueError)])
def test_values_must_be_real_numbers(bad, error):
    with pytest.raises(error):
        Claims().at_least("gap", bad, 1.0, null=0.0)


def test_names_must_be_unique_and_printable():
    claims = Claims()
    claims.report("x", 1.0)
    with pytest.raises(ValueError, match="twice"):
        claims.report("x", 2.0)
    with pytest.raises(ValueError, match="double spaces"):
        claims.report("a  b", 1.0)
    with pytest.raises(TypeError):
        claims.report("", 1.0)


def test_a_cell_that_asserts_nothing_is_refused():
    claims = Claims()
    claims.report("x", 1.0)
    with pytest.raises(ValueError, match="at least one claim"):
        claims.finish()


def test_the_record_is_written_even_when_a_claim_fails(tmp_path, monkeypatch):
    record = tmp_path / "claims.json"
    monkeypatch.setenv("COURSE_CLAIMS_RECORD", str(record))
    claims = Claims()
    claims.at_least("gap", 0.5, 1.0, null=0.0)
    with pytest.raises(ClaimsFailed):
        claims.finish()
    rows = json.loads(record.read_text())
    assert rows[0]["name"] == "gap" and rows[0]["value"] == 0.5 and rows[0]["holds"] is False


def test_rows_are_frozen_records_of_what_was_measured():
    from dataclasses import FrozenInstanceError

    from utils.claims import Row
    claims = Claims()
    claims.at_most("ratio", 0.25, 0.5, null=1.0, fmt=".2f")
    row = claims.rows[0]
    assert row == Row("claim", "ratio", 0.25, "<=", 0.5, 1.0, "0.25", True, "1.00")
    with pytest.raises(FrozenInstanceError):
        row.value = 0.0
