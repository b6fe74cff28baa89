# simkeeper: `make run` to see it work, `make test` to check everything.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?=
DEMO ?= .state/demo

.PHONY: run test lint format bench bench-scale clean systemd-test config-docs catalogs

$(BIN)/simkeeper: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	# python-dbusmock for the ModemManager peer of the tests, beside the venv: Debian's python3
	# runs it (with python3-dbus), so pip need not build dbus-python.
	$(BIN)/pip install --quiet --no-deps --upgrade --target $(VENV)/dbusmock 'python-dbusmock>=0.32'
	touch $@

# The daemon in the foreground on the demo config (`simkeeper demo`: the example with its dates
# moved to today, a fresh state in $(DEMO)), so a reminder prints at once through console://.
# `make run CONFIG=my.toml` runs your own config instead (state in ./.state). Ctrl-C stops it.
run: $(BIN)/simkeeper
ifeq ($(CONFIG),)
	$(BIN)/simkeeper demo $(DEMO)
	$(BIN)/simkeeper --config $(DEMO)/config.toml check
	$(BIN)/simkeeper --config $(DEMO)/config.toml upcoming
	$(BIN)/simkeeper --config $(DEMO)/config.toml run
else
	$(BIN)/simkeeper --config $(CONFIG) check
	$(BIN)/simkeeper --config $(CONFIG) upcoming
	STATE_DIRECTORY=$(CURDIR)/.state $(BIN)/simkeeper --config $(CONFIG) run
endif

# Four pytest workers on two cores: most tests wait on a daemon, a receiver or a socket, not
# on the CPU (bench/ has the figures that need a quiet machine).
test: $(BIN)/simkeeper
	$(BIN)/ruff check daemon tests bench
	$(BIN)/ruff format --check daemon tests bench
	$(BIN)/mypy --strict daemon/simkeeper
	$(BIN)/lint-imports
	$(BIN)/python -m coverage erase
	$(BIN)/python -m coverage run -m pytest -q -n 4 --durations=15
	$(BIN)/python -m coverage combine --quiet
	$(BIN)/python -m coverage report --fail-under=90

# The translation catalogs (daemon/simkeeper/texts/locale): extract every text into simkeeper.pot,
# merge it into each language's .po (translate what is new or fuzzy there), compile the .mo
# files. All of them are committed; tests/test_i18n.py fails when they are stale.
LOCALE := daemon/simkeeper/texts/locale
catalogs: $(BIN)/simkeeper
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output --no-wrap \
		--project=simkeeper --copyright-holder="simkeeper authors" \
		-o $(LOCALE)/simkeeper.pot daemon/simkeeper
	$(BIN)/pybabel update -D simkeeper -i $(LOCALE)/simkeeper.pot -d $(LOCALE) \
		--no-wrap --ignore-obsolete
	$(BIN)/pybabel compile --statistics -D simkeeper -d $(LOCALE)

format: $(BIN)/simkeeper
	$(BIN)/ruff format daemon tests bench
	$(BIN)/ruff check --fix daemon tests bench

# README's config tables and config.example.toml, rendered from daemon/simkeeper/core/schema.py
# (tests fail when the committed copies are stale).
config-docs: $(BIN)/simkeeper
	$(BIN)/simkeeper config docs --readme README.md
	$(BIN)/simkeeper config example > config.example.toml

# The shipped system unit under a real systemd 252 in a bookworm container (root only; see
# systemd/test-container.sh). The debootstrapped root is cached in /var/cache.
systemd-test: $(BIN)/simkeeper
	PYTHON=$(BIN)/python systemd/test-container.sh

bench: $(BIN)/simkeeper
	$(BIN)/python bench/bench_upcoming.py
	$(BIN)/python bench/bench_delivery.py
	$(BIN)/python bench/bench_idle.py
	$(BIN)/python bench/bench_ticks.py
	$(BIN)/python bench/bench_web.py
	$(BIN)/python bench/bench_year.py
	$(BIN)/python bench/bench_first_run.py
	$(BIN)/python bench/bench_autopilot_kills.py

# Issue 23's end-to-end figures at 10k, 100k and 1M numbers (check, upcoming, the daemon's start,
# idle memory and reload, a day of reminders), beside remind -s2; bench/NOTES-scale.md has them.
# The 1M size takes about half an hour on a 2-core machine. SIZES=10000,100000 for less.
SIZES ?= 10000,100000,1000000
bench-scale: $(BIN)/simkeeper
	$(BIN)/python bench/bench_scale.py --sizes $(SIZES)

clean:
	rm -rf $(VENV) .state .pytest_cache .ruff_cache build *.egg-info .coverage .coverage.*
