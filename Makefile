# Quick start: `make demo` and `make test`; both create .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow venv sandbox browser clean

venv: $(STAMP)

# bubblewrap confines student code (Note [Sandbox] in grader/worker/sandbox.py).  Installed
# when missing and we are root on a Debian-like system; otherwise the grader falls
# back to resource limits and the isolation tests skip, saying why.
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing bubblewrap"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap) >/dev/null \
	      || echo "warning: could not install bubblewrap; student code will run with rlimits only"; \
	  else \
	    echo "warning: bubblewrap (bwrap) not found; install it (apt-get install bubblewrap) for isolation"; \
	  fi; }

# Headless Chromium renders the report and the dashboard in the browser tests and for
# `make screenshots`; installed like bubblewrap, and those tests skip (saying why) without it.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (for the browser tests)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null \
	      || echo "warning: could not install chromium; the browser tests will be skipped"; \
	  else \
	    echo "warning: chromium not found; the browser tests will be skipped"; \
	  fi; }

# Re-install when the pinned dependency list changes.
# Note [Editable install as a path]
# setuptools' default editable install of this flat layout (grader/ and reference/ beside
# assignments/, tests/ ...) is an import finder that its .pth file installs at every start of
# the venv's Python, importing pathlib, importlib.util, re and urllib.parse on the way: 16-25 ms
# of CPU (median of 25 interleaved starts, `python -c pass`, 41.5 against 16.1 ms on the
# benchmark VM) in every `grade` process, job template and test subprocess.  `compat` mode
# writes the checkout's folder into that .pth instead, a plain sys.path entry that costs
# nothing; the grader's packages are found there as before.  setuptools calls that mode
# transitional, so where a later setuptools refuses it the default mode is installed instead.
# The worker passes over this .pth in either form (Note [Worker start] in grader/worker/start.py).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --config-settings editable_mode=compat -e '.[frameworks-cpu]' \
	  || $(BIN)/python -m pip install --quiet -e '.[frameworks-cpu]'
	touch $(STAMP)

# Byte code of the grader's own packages, written ahead as pip writes it for an installed
# package: an environment with PYTHONDONTWRITEBYTECODE set (this project's machines have it)
# would otherwise compile every module of the grader from source in every `grade` process,
# about 0.1 s of each `grade check` and of each CLI test.  Only what changed is compiled
# again (a fraction of a second when nothing did).  The student report's Jinja template is
# compiled ahead too (Note [Template compiled ahead] in grader/report/html.py), and the
# manifests and rubrics parsed ahead (Note [Course files parsed ahead] in
# grader/scoring/course_files.py).
.PHONY: bytecode
bytecode: venv
	@$(BIN)/python -m compileall -q -j 0 grader reference assignments >/dev/null
	@$(BIN)/python -c 'from grader.report.html import compile_ahead; compile_ahead()'
	@$(BIN)/python -c 'from grader.scoring.course_files import compile_ahead; compile_ahead()'

# The main job on the bundled example class (examples/fc_nets): a correct submission, a
# buggy one, a hostile one and a Python 2 zip.  A second run regrades nothing unchanged.
demo: venv sandbox bytecode
	$(BIN)/grade selfcheck --no-frameworks
	@echo
	$(BIN)/grade batch examples/fc_nets --assignment fc_nets --out out/demo

# A NumPy 1.26 worker environment (grader/worker/envs.py) for the tests that grade under the
# course's own NumPy; made once (about 25 s from PyPI, 7 s with pip's cache) and reused
# after that (about 1 s).  Without PyPI it is not made and those tests skip, saying why.
.PHONY: worker-env-np126
worker-env-np126: venv
	@$(BIN)/grade env create --numpy 1.26 \
	  || echo "warning: no NumPy 1.26 worker environment; the tests that need it will be skipped"

# The whole suite but the tests marked slow (model training, framework assignments
# graded end to end, a 40-submission batch): a few minutes.  CI runs both targets.
test: venv sandbox browser worker-env-np126 bytecode
	$(BIN)/python -m pytest -m 'not slow'

test-slow: venv sandbox browser worker-env-np126 bytecode
	$(BIN)/python -m pytest -m slow

# PNG screenshots of a student report (what to fix first at the top) and the class dashboard
# (its students x functions heat map near the top), at desktop and phone
# width, in out/screenshots/ for people to look at.  Grades the demo class first
# when out/demo has no results; needs chromium (CHROMIUM=/path/to/it to choose one).
CHROMIUM ?= chromium
SHOT_FLAGS := --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars
.PHONY: screenshots
screenshots: venv sandbox browser
	@command -v $(CHROMIUM) >/dev/null || { echo "screenshots need chromium (CHROMIUM=...)"; exit 1; }
	test -d out/demo/results || $(BIN)/grade batch examples/fc_nets --assignment fc_nets --out out/demo
	mkdir -p out/screenshots
	for page in reports/ben summary; do for width in 1200 400; do \
	  profile=$$(mktemp -d); \
	  $(CHROMIUM) $(SHOT_FLAGS) --user-data-dir=$$profile --window-size=$$width,4000 \
	    --screenshot=$(CURDIR)/out/screenshots/$$(basename $$page)-$$width.png \
	    file://$(CURDIR)/out/demo/$$page.html 2>/dev/null; \
	  rm -rf $$profile; done; done
	@echo "screenshots: out/screenshots/"

# Benchmarks (issues 6 and 17): our grader, nbgrader and Otter on the same notebooks, the
# overhead ratio with where the time goes, scaling, `grade check` per assignment, and a class
# of 1,000 on the local pool and on Dask; rewrites benchmarks/RESULTS.md with the figures
# against issue 17's goals (about an hour on the 2-core machine, estimated; BENCH_PRESET=small
# for a quick check).  nbgrader and Otter go into their own venv, pinned, never into .venv.
TOOLS_VENV := benchmarks/.venv-tools
.PHONY: bench bench-tools
bench-tools: $(TOOLS_VENV)/.installed

$(TOOLS_VENV)/.installed: benchmarks/tools-requirements.txt
	test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet -r benchmarks/tools-requirements.txt
	touch $@

bench: venv sandbox bench-tools bytecode
	bash benchmarks/run_all.sh

clean:
	rm -rf $(VENV) build *.egg-info
