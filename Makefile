# MPV — the two commands: `make run` and `make test`. Everything else is set up by them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PYTEST_WORKERS ?= 2

.PHONY: run test test-sqlite test-postgresql test-fechas soak bench screenshots chromium clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

# Browser libraries MPV serves itself (pdf.js, bpmn-js): from the npm registry, never a CDN.
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --no-audit --no-fund --omit=optional --loglevel=error && touch $(NODE_STAMP); \
	else \
		echo "npm no está instalado: la vista previa de PDF y los diagramas no estarán disponibles."; \
	fi

## run: create the virtualenv, prepare the SQLite database with demo data, serve on MPV_HOST:MPV_PORT
run: $(STAMP) $(NODE_STAMP)
	$(BIN)/mpv demo
	$(BIN)/mpv serve

## test: the whole suite on SQLite, then again on PostgreSQL (skipped with a reason where none answers)
test: $(STAMP) $(NODE_STAMP) chromium
	$(BIN)/pytest -n $(PYTEST_WORKERS)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --db=postgresql -m "not browser"

test-sqlite: $(STAMP) $(NODE_STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS)

test-postgresql: $(STAMP) $(NODE_STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --db=postgresql -m "not browser"

## test-fechas: the date-dependent modules with the tests' clocks moved (pytest --fecha) to a Saturday, a Sunday,
## holidays (28 July, 8 December, 1 January) and 31 December, on SQLite, then a subset on PostgreSQL: no test may
## depend on the day it runs. Not part of `make test` (30 to 60 minutes, with the machine's load).
FECHAS := 2026-03-07 2026-03-08 2026-07-28 2026-12-08 2026-12-31 2027-01-01
FECHAS_MODULOS := tests/test_bench_smoke.py tests/test_web.py tests/test_engine.py tests/test_public.py \
	tests/test_api.py tests/test_plazos.py tests/test_seed.py tests/test_analitica.py tests/test_auditoria.py \
	tests/test_correo.py tests/test_definiciones_web.py tests/test_cli.py tests/test_faults.py tests/test_web_admin.py \
	tests/test_sin_reloj.py tests/test_listados.py tests/test_resumen.py tests/test_feriados_cli.py tests/test_tupa.py
FECHAS_PG := tests/test_engine.py tests/test_public.py tests/test_api.py tests/test_auditoria.py tests/test_seed.py \
	tests/test_correo.py
test-fechas: $(STAMP) $(NODE_STAMP)
	@for f in $(FECHAS); do echo "== --fecha=$$f (SQLite)"; $(BIN)/pytest -q -n $(PYTEST_WORKERS) --fecha=$$f $(FECHAS_MODULOS) || exit 1; done
	@for f in 2026-03-07 2026-12-31 2027-01-01; do echo "== --fecha=$$f (PostgreSQL)"; \
		$(BIN)/pytest -q -n $(PYTEST_WORKERS) --fecha=$$f --db=postgresql $(FECHAS_PG) || exit 1; done

## soak: the long versions of the figures of SECURITY.md (F1, F2, F4, F5, F9) on SQLite and PostgreSQL
F1 := tests/test_security.py::test_f1_twenty_concurrent_derivations_fifty_rounds
soak: $(STAMP) $(NODE_STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --soak -m slow
	$(BIN)/pytest --soak $(F1)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --soak -m slow --db=postgresql
	$(BIN)/pytest --soak --db=postgresql $(F1)

## bench: every benchmark of tests/bench, printed as tables; last, the one table of docs/bench.md (bench_tabla.py)
bench: $(STAMP) $(NODE_STAMP)
	@for b in tests/bench/bench_*.py; do [ $$b = tests/bench/bench_tabla.py ] || { echo "== $$b"; $(BIN)/python $$b || exit 1; }; done
	@echo "== tests/bench/bench_tabla.py"; $(BIN)/python tests/bench/bench_tabla.py

## screenshots: a PNG of each main screen in docs/screenshots/ (headless Chromium)
screenshots: $(STAMP) $(NODE_STAMP) chromium
	$(BIN)/python tests/screenshots.py docs/screenshots

# Browser tests drive Debian's Chromium; install it when missing and we are root (else they skip).
chromium:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Instalando Chromium (paquete de Debian) para las pruebas de navegador…"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

clean:
	rm -rf $(VENV) node_modules build *.egg-info .pytest_cache
