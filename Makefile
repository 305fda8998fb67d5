# Science of Deep Learning: every command sets up its own environment (.venv) first.
#   make book      build the HTML book into _build/html
#   make test      what CI runs: unit tests, every lab under nbval (twice: native and generic
#                  CPU kernels), the book with -W and in Chromium
#   make lab       JupyterLab on the labs
#   make execute   re-execute every lab in place (fresh kernel) to refresh its outputs
#   make bench     each lab's wall time and peak memory -> instructors/bench.md and README,
#                  and batched against one-at-a-time training of 32 small networks
#   make student   student versions of the labs, and a zip per lab and for all -> _build/student/
#   make grade     grade submissions: NB=file.ipynb, or DIR=folder CSV=grades.csv -> _build/grades/
#   make nbgrader  the labs as an nbgrader course -> _build/nbgrader/
#   make seeds     run every lab with 3 fresh random seeds (SEEDS="1 2 3" to repeat a run)
#   make calibrate every lab's claims over 20 fresh random seeds -> instructors/claims.md
#   make portability  every lab under five CPU-kernel configurations: numbers that would move
#   make pdf       the whole book as one PDF (Chromium prints the HTML book) -> _build/pdf/
#   make release   clean tree and passing tests, then book, handouts, PDF, source -> _build/release/
#   make compat    every lab's claims in fresh environments: newest and lowest declared versions
#   make colab     write (or refresh) the Colab install cell in every lab (needs repository.url)
#   make lock      regenerate constraints.txt from requirements.txt
#   make clean     remove _build (keeps .venv)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
# The course runs on Python 3.11, 3.12 and 3.13 (every pin resolves on each); the first found wins.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
STAMP  := $(VENV)/.installed
LABS   := $(sort $(wildcard labs/*.ipynb))
SEEDS  ?=
# Child processes (nbval's and nbclient's kernels) find `utils` through this too.
export PYTHONPATH := $(CURDIR)
# One BLAS thread, as the labs use (seed_everything sets torch's own thread count).
export OMP_NUM_THREADS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help check-python setup browser book test portability lab execute bench student grade seeds calibrate \
        lock clean pdf release compat colab

help:
	@sed -n '2,21p' Makefile | sed 's/^# //'

# Refuse an interpreter the pins were not resolved for, with a message that says what to do.
check-python:
	@$(PYTHON) -c 'import sys; v = sys.version_info[:3]; sys.exit(0 if (3, 11, 5) <= v < (3, 14) else \
	  f"Python 3.11 (3.11.5 or newer), 3.12 or 3.13 is needed, found {v[0]}.{v[1]}.{v[2]} at {sys.executable}: install one and run make PYTHON=/path/to/python3.X")'

$(STAMP): requirements.txt constraints.txt | check-python
	@test -x $(PY) || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@# Make the repository importable from any folder (labs import `utils`).
	@echo "$(CURDIR)" > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/science_of_dl.pth"
	@touch $(STAMP)

setup: $(STAMP)

# $(call apt_install,package,command,override variable,what it is for,what happens without it)
# (no commas inside an argument: make splits on them):
# nothing if the command (or the variable) is there; else, as root with apt-get (as in CI),
# install Debian's package; else say what to do and what happens without it.
apt_install = if command -v $(2) >/dev/null 2>&1 || [ -n "$(if $(3),$${$(3):-})" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's $(1) for $(4) (apt-get) ..."; \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(1) >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(1) >/dev/null 2>&1; }; } || \
	  echo "could not install $(1): $(5)"; \
	else echo "no $(2) (install the $(1) package$(if $(3), or set $(3)=/path/to/$(2))): $(5)"; fi

# The browser test drives Debian's chromium. Install it where we can (root with apt-get, as in
# CI); elsewhere say so: the browser tests then skip with a message, and everything else runs.
browser:
	@$(call apt_install,chromium,chromium,CHROMIUM,the browser test,the browser tests will be skipped)

book: $(STAMP)
	$(BIN)/jupyter-book build .
	@echo "The book is at file://$(CURDIR)/_build/html/index.html"

# Two passes, each spread over every core (pytest-xdist; a notebook's cells stay on one worker):
# everything with the machine's own kernels, then every lab and the chapter figures again with
# PyTorch's generic kernels and MKL's vendor-neutral BLAS, which sum as another CPU would (an
# AMD and an Intel CPU take different MKL paths; see coursetools/portability.py).
# One worker more than there are cores: while one waits (Chromium, a kernel starting, PyPI's
# metadata), the others use the CPU. At most 8 workers.
CORES := $(shell nproc 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 2)
XDIST ?= -n $(shell echo $$(( $(CORES) < 8 ? $(CORES) + 1 : 8 ))) --dist loadfile
# The second pass only computes: one worker per core, the slowest labs first (xdist would
# otherwise order files by their number of cells), so no core idles at the end. The order is
# read from the wall times in instructors/bench.md (written by `make bench`), slowest first (ties by name);
# a lab the table does not list yet (a new one) runs first, as if it were the slowest.
XDIST_CPU ?= -n $(shell echo $$(( $(CORES) < 8 ? $(CORES) : 8 ))) --dist loadfile --no-loadscope-reorder
SLOWEST_LABS := $(addprefix labs/,$(addsuffix .ipynb,$(shell awk -F'|' \
  '$$2 ~ /^ *[0-9][0-9]_/ { gsub(/ /, "", $$2); gsub(/ /, "", $$3); print $$3, $$2 }' \
  instructors/bench.md | sort -k1,1rn -k2,2 | cut -d' ' -f2)))
ANOTHER_CPU := ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE
test: $(STAMP) browser sandbox
	$(PY) -m pytest $(XDIST)
	$(ANOTHER_CPU) $(PY) -m pytest $(XDIST_CPU) $(filter-out $(SLOWEST_LABS),$(LABS)) \
	  $(filter $(LABS),$(SLOWEST_LABS)) tests/test_chapter_figures.py

# make portability: every lab under five kernel configurations; lists the printed numbers that
# would leave the tolerance on another CPU (slow: each lab runs five times; not part of make test).
portability: $(STAMP)
	$(PY) -m coursetools.portability $(LABS)

lab: $(STAMP)
	$(BIN)/jupyter lab labs/

execute: $(STAMP)
	$(PY) -m coursetools.notebooks execute $(LABS)

bench: $(STAMP)
	$(PY) -m coursetools.bench $(LABS) --table instructors/bench.md --readme README.md --ensemble

student: $(STAMP)
	$(PY) -m coursetools.notebooks student labs _build/student
	$(PY) -m coursetools.handouts _build/student

# make grade NB=submission.ipynb, or make grade DIR=submissions/ CSV=grades.csv; options
# LAB=00_first_experiment (else each submission's lab is recognised), TIMEOUT=600 (s per run),
# REGRADE=1 (grade again what the CSV already holds; by default a rerun resumes), NO_SANDBOX=1
# (run without bubblewrap: only for trusted code), OUT=folder (reports; default _build/grades/,
# give one per folder when grading several at once). Each run is
# sandboxed (instructors/grading.md). Exit status: see `python -m coursetools.grader --help`.
.PHONY: grade sandbox
GRADE_OPTS = $(if $(LAB),--lab "$(LAB)") $(if $(TIMEOUT),--timeout $(TIMEOUT)) \
             $(if $(NO_SANDBOX),--no-sandbox) $(if $(OUT),--out "$(OUT)")
grade: $(STAMP) $(if $(NO_SANDBOX),,sandbox)
ifdef DIR
	$(PY) -m coursetools.grader --dir "$(DIR)" $(if $(CSV),--csv "$(CSV)") $(if $(REGRADE),--regrade) $(GRADE_OPTS)
else ifdef NB
	$(PY) -m coursetools.grader "$(NB)" $(GRADE_OPTS)
else
	@echo "usage: make grade NB=path/to/submission.ipynb  or  make grade DIR=folder CSV=grades.csv" >&2; exit 2
endif

# make nbgrader: the labs as an nbgrader course (source/<lab>/<lab>.ipynb with solution markers,
# the checks as autograded test cells, nbgrader_config.py) -> _build/nbgrader/; then
# `cd _build/nbgrader && PATH="$(CURDIR)/.venv/bin:$$PATH" nbgrader generate_assignment <lab>`
# (nbgrader needs the environment's bin/ on PATH; instructors/grading.md).
.PHONY: nbgrader
nbgrader: $(STAMP)
	$(PY) -m coursetools.nbgrader_export $(LABS) _build/nbgrader

# The grader runs each submission under bubblewrap (Debian's bubblewrap, Flatpak's sandbox).
# Install it where we can (root with apt-get, as in CI); elsewhere say so: the grader then
# refuses to grade unless NO_SANDBOX=1, and the sandbox tests are skipped with a message.
sandbox:
	@$(call apt_install,bubblewrap,bwrap,,the grader's sandbox,make grade needs NO_SANDBOX=1 and the sandbox tests will be skipped)

# Fresh random seeds each time (printed, so SEEDS="..." repeats a run): fixed seed lists are
# how thresholds got tuned to the seeds an author ran.
seeds: $(STAMP)
	$(PY) -m coursetools.notebooks seeds $(LABS) $(if $(SEEDS),--seeds $(SEEDS),--random 3) --print-claims

# make calibrate [CALIBRATE="labs/03_lottery_tickets.ipynb"] [N=20]: each lab's claims over N
# fresh random seeds -> instructors/calibration/<lab>.json and the page instructors/claims.md.
CALIBRATE ?= $(LABS)
N ?= 20
calibrate: $(STAMP)
	$(PY) -m coursetools.calibrate $(CALIBRATE) --n $(N)

# make pdf: the book built afresh, then printed page by page by Chromium (the browser test's,
# see `make browser`) into one PDF with a title page carrying the version and a bookmark per
# part, chapter and lab (coursetools/pdf.py).
VERSION = $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' utils/__init__.py)
pdf: $(STAMP) browser book
	$(PY) -m coursetools.pdf _build/html _build/pdf/science-of-deep-learning-$(VERSION).pdf

# make release: refuses a dirty tree or versions that disagree (utils/__init__.py, CITATION.cff,
# CHANGELOG.md), runs the whole test suite, then builds everything from scratch and writes
# _build/release/science-of-deep-learning-<version>/ (book HTML, handouts, PDF, source, sums).
release: $(STAMP)
	$(PY) -m coursetools.release check
	$(MAKE) --no-print-directory test
	$(PY) -m coursetools.release check
	rm -rf _build/html _build/student _build/pdf
	$(MAKE) --no-print-directory student pdf
	$(PY) -m coursetools.release pack _build/release

# make compat: fresh environments under _build/compat/ (not the course's pins): the newest
# versions pip can install here, and the lower bounds declared in pyproject.toml; every lab
# runs in each and its claims must hold. Slow (two installs, every lab twice); writes
# instructors/compat.md. COMPAT="newest" or COMPAT="lowest" runs one; COMPAT_OPTS=--reuse
# re-runs the labs in environments an earlier run installed.
COMPAT ?= newest lowest
compat: $(STAMP)
	$(PY) -m coursetools.compat $(COMPAT) $(COMPAT_OPTS) --labs $(LABS) --page instructors/compat.md

# make colab: the Colab install cell after each lab's title, for the address in _config.yml
# (repository.url); with no address it removes the cell. Re-run after changing the address.
colab: $(STAMP)
	$(PY) -m coursetools.colab refresh $(LABS)

lock: $(STAMP)
	@{ echo "# Full lock of the course environment (Python 3.11), generated by \`make lock\` from requirements.txt."; \
	   echo "# Do not edit by hand."; \
	   $(PY) -m pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu$$/torch==\1/'; } > constraints.txt
	@echo "constraints.txt regenerated"
	$(PY) -m coursetools.student_lock

clean:
	rm -rf _build
