# Quick start: `make demo` and `make test`; both create .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast venv clean

venv: $(STAMP)

# Re-install when the pinned dependency list changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[frameworks-cpu]'
	touch $(STAMP)

demo: venv
	$(BIN)/grade selfcheck

test: venv
	$(BIN)/python -m pytest

# Everything but the training tests: the inner loop while editing.
test-fast: venv
	$(BIN)/python -m pytest -m 'not slow'

clean:
	rm -rf $(VENV) build *.egg-info
