# MPV — the two commands: `make run` and `make test`. Everything else is set up by them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: run test test-sqlite test-postgresql bench chromium clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

## run: create the virtualenv, prepare the SQLite database with demo data, serve on MPV_HOST:MPV_PORT
run: $(STAMP)
	$(BIN)/mpv demo
	$(BIN)/mpv serve

## test: the whole suite on SQLite, then again on PostgreSQL (skipped with a reason where none answers)
test: $(STAMP) chromium
	$(BIN)/pytest -n $(PYTEST_WORKERS)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --db=postgresql -m "not browser"

test-sqlite: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS)

test-postgresql: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --db=postgresql -m "not browser"

## bench: the benchmarks, printed as tables
bench: $(STAMP)
	$(BIN)/python tests/bench/bench_engine.py

# Browser tests drive Debian's Chromium; install it when missing and we are root (else they skip).
chromium:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Instalando Chromium (paquete de Debian) para las pruebas de navegador…"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
