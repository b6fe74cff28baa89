# simkeeper: `make run` to see it work, `make test` to check everything.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= config.example.toml

.PHONY: run test lint format bench clean systemd-test

$(BIN)/simkeeper: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# The daemon in the foreground on the example config; state in ./.state, reminders printed
# by the console:// target. Ctrl-C stops it.
run: $(BIN)/simkeeper
	$(BIN)/simkeeper --config $(CONFIG) check
	$(BIN)/simkeeper --config $(CONFIG) upcoming
	STATE_DIRECTORY=$(CURDIR)/.state $(BIN)/simkeeper --config $(CONFIG) run

test: $(BIN)/simkeeper
	$(BIN)/ruff check daemon tests bench
	$(BIN)/ruff format --check daemon tests bench
	$(BIN)/mypy --strict daemon/simkeeper
	$(BIN)/python -m pytest -q

format: $(BIN)/simkeeper
	$(BIN)/ruff format daemon tests bench
	$(BIN)/ruff check --fix daemon tests bench

# The shipped system unit under a real systemd 252 in a bookworm container (root only; see
# systemd/test-container.sh). The debootstrapped root is cached in /var/cache.
systemd-test: $(BIN)/simkeeper
	PYTHON=$(BIN)/python systemd/test-container.sh

bench: $(BIN)/simkeeper
	$(BIN)/python bench/bench_upcoming.py
	$(BIN)/python bench/bench_delivery.py
	$(BIN)/python bench/bench_idle.py

clean:
	rm -rf $(VENV) .state .pytest_cache .ruff_cache build *.egg-info
