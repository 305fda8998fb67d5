"""The labs' validation contract: portable across CPUs, and still catching a changed result.

``coursetools.nbval_numbers`` makes nbval compare decimal numbers within a stated tolerance and
everything else exactly. These tests check the comparison on the labs' own stored outputs, and
end to end through nbval on a copy of a real lab: a stored number changed by 10 % or a changed
word fails, an untouched copy passes. ``make test`` then runs every lab a second time under
``ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE`` (PyTorch's generic kernels and MKL's
vendor-neutral BLAS), which is how one machine sees what another CPU computes;
``test_make_test_runs_the_labs_on_generic_kernels`` guards that.
"""
import os
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import nbformat
import pytest

from coursetools.nbval_numbers import RTOL, ULPS, first_difference, numbers_match, outputs_match

ROOT = Path(__file__).resolve().parents[1]
LABS = sorted((ROOT / "labs").glob("*.ipynb"))
DECIMAL = re.compile(r"(?<![\w.])(\d+)\.(\d+)(?![\w.])")


def stored_texts(lab: Path) -> list[str]:
    """Every text output stored in a lab (streams and plain/HTML results)."""
    texts = []
    for cell in nbformat.read(lab, as_version=4).cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                texts.append(out["text"])
            for key in ("text/plain", "text/html"):
                if key in out.get("data", {}):
                    texts.append(out["data"][key])
    return texts


def changed_by(token: str, factor: float) -> str:
    """``token`` times ``factor``, printed with the same number of decimals."""
    places = len(token.partition(".")[2])
    return f"{float(token) * factor:.{places}f}"


# ---- the comparison itself ------------------------------------------------------------

@pytest.mark.parametrize("stored, fresh, same", [
    ("0.992 0.345", "0.993 0.346", True),     # the last digit, as between two CPUs
    ("R_A = 2652.7", "R_A = 2654.7", True),   # 0.08 %
    ("margin 0.0100", "margin 0.0099", True),
    ("accuracy 0.10", "accuracy 0.11", True),
    ("reuse 0.417", "reuse 0.459", False),    # 10 %
    ("reuse 0.417", "reuse 0.417 ", False),   # even whitespace is text
    ("width 12", "width 13", False),          # integers are exact
    ("2,048 points", "2,049 points", False),
    ("lr 1e-3", "lr 3e-3", False),
    ("lr 1e-3", "lr 1e-2", False),
    ("nan", "nan", True),
    ("loss nan", "loss 0.5", False),
    ("-0.0037", "-0.0036", True),
    ("-0.0037", "0.0037", False),
    ("fitted in ~44 epochs", "fitted in ~48 epochs", True),   # marked approximate: 40 %
    ("groks at step ~710", "groks at step ~910", True),
    ("fitted in ~44 epochs", "fitted in ~64 epochs", False),
    ("test acc ~0.01", "test acc ~0.00", True),              # or one unit in the last digit
    ("fitted in ~44 epochs", "fitted in 44 epochs", False),   # the mark is part of the text
    ("  p       1.0\n  q     0.5", "  p     1.000\n  q     0.500", True),  # pandas re-layout
    ("  p  1.0  2.0", "  p  1.0", False),                    # a table's shape is exact
])
def test_numbers_are_compared_within_the_tolerance(stored, fresh, same):
    assert outputs_match(stored, fresh) is same, first_difference(stored, fresh)


def test_the_tolerance_is_what_the_module_states():
    assert (RTOL, ULPS) == (0.03, 1)
    assert numbers_match("100.0", "103.0") and not numbers_match("100.0", "103.2")
    assert numbers_match("0.012", "0.013") and not numbers_match("0.012", "0.014")


def test_a_difference_is_explained():
    assert "stored 0.417, fresh 0.459" in first_difference("reuse 0.417", "reuse 0.459")
    assert "integers are exact" in first_difference("width 12", "width 13")
    assert "marked ~" in first_difference("~44 epochs", "~80 epochs")
    assert "RTOL_ROUGH" not in first_difference("~44 epochs", "~80 epochs")
    assert "text differs" in first_difference("test error 0.3", "train error 0.3")


@pytest.mark.parametrize("lab", LABS, ids=[lab.stem for lab in LABS])
def test_every_stored_number_fails_when_changed_by_ten_percent(lab):
    """On the lab's own outputs: each decimal with room for it (10 % > 1 in its last digit)."""
    checked = 0
    for text in stored_texts(lab):
        for match in DECIMAL.finditer(text):
            token = match.group(0)
            # marked approximate (~0.5, ~ 0.5, ~+0.05): compared within RTOL_ROUGH, by design
            if text[max(0, match.start() - 3):match.start()].rstrip("+-").strip()[-1:] in ("~", "≈"):
                continue
            value, places = float(token), len(match.group(2))
            moved = changed_by(token, 1.1)
            if abs(float(moved) - value) <= 1.5 * ULPS * 10.0 ** -places:
                continue  # too few digits printed for 10 % to show beyond the last digit
            changed = text[:match.start()] + moved + text[match.end():]
            assert not outputs_match(text, changed), f"{lab.name}: {token} -> +10 % passed"
            assert outputs_match(text, text)
            checked += 1
    words = [t for t in stored_texts(lab) if re.search(r"[a-z]{4,}", t)]
    assert words, f"{lab.name} prints no text"
    changed = re.sub(r"[a-z]{4,}", lambda m: m.group(0).upper(), words[0], count=1)
    assert not outputs_match(words[0], changed)
    assert checked or lab.stem.startswith("0"), f"{lab.name} prints no decimal number"


# ---- end to end, through nbval, on a copy of a real lab -------------------------------

def _first_cell_printing_a_decimal(nb) -> int:
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            text = out.get("text") or out.get("data", {}).get("text/plain", "")
            for match in DECIMAL.finditer(text):
                value, places = float(match.group(0)), len(match.group(2))
                if abs(float(changed_by(match.group(0), 1.1)) - value) > 1.5 * 10.0 ** -places:
                    return index
    raise AssertionError("no code cell prints a decimal number")


def _changed(nb, change: str):
    """A copy of ``nb`` whose last cell's output has a number raised 10 % or a word changed."""
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    holder, key = _output_text(nb.cells[-1])
    text = holder[key]
    if change == "number":
        match = next(m for m in DECIMAL.finditer(text)
                     if abs(float(changed_by(m.group(0), 1.1)) - float(m.group(0)))
                     > 1.5 * 10.0 ** -len(m.group(2)))
        holder[key] = text[:match.start()] + changed_by(match.group(0), 1.1) + text[match.end():]
    else:
        word = re.search(r"[A-Za-z]{3,}", text)
        assert word, "the cell's output has no word to change"
        holder[key] = text[:word.start()] + word.group(0)[::-1] + "x" + text[word.end():]
    return nb


def _output_text(cell):
    for out in cell.outputs:
        if "text" in out:
            return out, "text"
        if "text/plain" in out.get("data", {}):
            return out.data, "text/plain"
    raise AssertionError("cell has no text output")


@pytest.fixture(scope="module")
def nbval_run(tmp_path_factory):
    """One nbval run (as make test runs it) over three copies of the fastest lab, cut after
    its first cell that prints a decimal: untouched, a number changed by 10 %, a word changed.

    Returns the run, per copy its cells' outcomes from nbval's JUnit report, and the number
    of code cells a copy has. One run instead of three saves two start-ups of pytest and its
    plugins.
    """
    lab = ROOT / "labs" / "05_offense_defense.ipynb"
    nb = nbformat.read(lab, as_version=4)
    nb.cells = nb.cells[:_first_cell_printing_a_decimal(nb) + 1]
    folder = tmp_path_factory.mktemp("labcopy")
    copies = {"untouched": nb, "number": _changed(nb, "number"), "word": _changed(nb, "word")}
    for name, copy in copies.items():
        nbformat.write(copy, folder / f"{name}.ipynb")
    report = folder / "junit.xml"
    # The caller's PYTEST_ADDOPTS (say -q, or -x) must not reach the inner run.
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *(str(folder / f"{name}.ipynb") for name in copies),
         "-q", "-p", "no:xdist", "-p", "no:randomly", f"--junitxml={report}",
         "-o", "junit_family=xunit1",  # each case names its file
         "--rootdir", str(ROOT), "-c", str(ROOT / "pytest.ini")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert report.exists(), f"nbval wrote no report:\n{result.stdout[-3000:]}{result.stderr[-2000:]}"
    outcomes: dict[str, list[str]] = {name: [] for name in copies}
    for case in ElementTree.parse(report).iter("testcase"):
        name = Path(case.get("file") or case.get("classname", "")).stem.split(".")[-1]
        tags = {child.tag for child in case}
        outcomes[name].append("failed" if tags & {"failure", "error"} else
                              "skipped" if "skipped" in tags else "passed")
    return result, outcomes, sum(cell.cell_type == "code" for cell in nb.cells)


def test_an_untouched_copy_of_a_lab_passes(nbval_run):
    result, outcomes, code_cells = nbval_run
    assert outcomes["untouched"] == ["passed"] * code_cells, (outcomes, result.stdout[-3000:])


@pytest.mark.parametrize("change", ["number", "word"])
def test_a_changed_stored_output_fails(nbval_run, change):
    result, outcomes, _ = nbval_run
    # Only the changed cell fails, and the run as a whole fails.
    assert outcomes[change].count("failed") == 1, (outcomes, result.stdout[-3000:])
    assert outcomes[change][-1] == "failed" and result.returncode == 1, result.stdout[-3000:]


def test_make_test_runs_the_labs_on_generic_kernels():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    second = [line for line in recipe.splitlines() if "$(ANOTHER_CPU)" in line]
    assert second, f"make test has no pass with $(ANOTHER_CPU):\n{recipe}"
    # The same kernels as coursetools.portability's strongest configuration.
    from coursetools.portability import ANOTHER_CPU
    wanted = " ".join(f"{k}={v}" for k, v in ANOTHER_CPU.items())
    assert re.search(rf"^ANOTHER_CPU\s*:=\s*{re.escape(wanted)}\s*$", makefile, re.M), wanted
    # Every lab once, and the chapter figures: read from the command make would run.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    dry = subprocess.run(["make", "-n", "--no-print-directory", "test"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    commands = dry.stdout.replace("\\\n", " ")
    run = [line for line in commands.splitlines() if line.startswith(wanted + " ")]
    assert run, f"make -n test runs nothing with {wanted}:\n{dry.stdout}{dry.stderr}"
    words = run[0].split()
    labs = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "labs").glob("*.ipynb"))
    assert sorted(w for w in words if w.startswith("labs/")) == labs, run[0]
    assert "tests/test_chapter_figures.py" in words, run[0]
