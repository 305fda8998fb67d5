"""The forge's workflows: actionlint finds nothing wrong, CI runs `make test`, and the Pages
deployment is driven by the repository address in _config.yml (coursetools.colab)."""
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def actionlint() -> str:
    found = Path(sys.executable).with_name("actionlint")
    path = str(found) if found.exists() else shutil.which("actionlint")
    assert path, "actionlint is not installed: it is pinned in requirements.txt"
    return path


def test_workflows_pass_actionlint():
    assert {w.name for w in WORKFLOWS} == {"test.yml", "pages.yml"}
    done = subprocess.run([actionlint(), "-no-color", *map(str, WORKFLOWS)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
                      "      - run: echo ${{ github.nope }}\n")
    done = subprocess.run([actionlint(), "-no-color", str(broken)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0 and "nope" in done.stdout


def test_ci_runs_make_test_on_pushes_and_pull_requests():
    test = yaml.safe_load((ROOT / ".github" / "workflows" / "test.yml").read_text())
    triggers = test[True]  # YAML 1.1 reads the key `on` as True
    assert "push" in triggers and "pull_request" in triggers
    runs = [step.get("run", "") for step in test["jobs"]["test"]["steps"]]
    assert any(".ci/run" in run for run in runs)


def test_pages_deploys_only_for_the_configured_address():
    pages = (ROOT / ".github" / "workflows" / "pages.yml").read_text()
    assert "python3 -m coursetools.colab address" in pages
    assert "actions/deploy-pages" in pages and "needs.build.outputs.deploy == 'true'" in pages
    done = subprocess.run([sys.executable, "-m", "coursetools.colab", "address"], cwd=ROOT,
                          capture_output=True, text=True, env={"PYTHONPATH": str(ROOT)})
    assert done.returncode == 0 and done.stdout.strip() == ""  # unset: nothing is deployed
