"""A chapter is registered in as few places as possible (CONTRIBUTING.md, "Adding a chapter"):
what can be derived is derived, and the places kept by hand are checked here, so a forgotten
one fails with a message that says where."""
import os
import re
import subprocess

import yaml

from conftest import ROOT

LABS = sorted((ROOT / "labs").glob("*.ipynb"))


def bench_order() -> list[str]:
    rows = re.findall(r"^\| (\d\d_\w+) \| ([\d.]+) \|", (ROOT / "instructors" / "bench.md").read_text(), re.M)
    # slowest first; labs with the same time in the order of their names (as the Makefile's
    # `sort -k1,1rn -k2,2`)
    return [f"labs/{name}.ipynb" for name, _ in sorted(rows, key=lambda row: (-float(row[1]), row[0]))]


def test_second_pass_order_is_read_from_the_bench_table():
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    dry = subprocess.run(["make", "-n", "--no-print-directory", "test"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    line = [l for l in dry.stdout.replace("\\\n", " ").splitlines() if "ATEN_CPU_CAPABILITY" in l][0]
    ran = [word for word in line.split() if word.startswith("labs/")]
    measured = [lab for lab in bench_order() if (ROOT / lab).exists()]
    unmeasured = [lab for lab in ran if lab not in measured]
    # Labs the table does not list yet come first (as if slowest), then the table's order.
    assert ran == unmeasured + measured, (ran, measured)
    assert "SLOWEST_LABS := $(addprefix" in (ROOT / "Makefile").read_text()


def test_every_lab_is_registered_where_it_must_be_by_hand():
    toc = (ROOT / "_toc.yml").read_text()
    intro = (ROOT / "intro.md").read_text()
    for lab in LABS:
        number = int(lab.stem[:2])
        chapters = sorted((ROOT / "chapters").glob(f"{lab.stem[:2]}_*.md"))
        assert len(chapters) == 1, f"{lab.name}: want one chapters/{lab.stem[:2]}_*.md, found {chapters}"
        chapter = f"chapters/{chapters[0].stem}"
        for doc in (f"labs/{lab.stem}", chapter, f"instructors/lab{number}"):
            assert f"file: {doc}\n" in toc, f"_toc.yml does not list {doc}"
        assert (ROOT / "instructors" / f"lab{number}.md").exists()
        assert f"{{doc}}`labs/{lab.stem}`" in intro, f"intro.md's map does not link the lab {lab.stem}"
    parsed = yaml.safe_load(toc)
    assert parsed["root"] == "intro"
