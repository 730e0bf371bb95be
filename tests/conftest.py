"""Test set-up: a real database per test (SQLite file, or a fresh PostgreSQL schema with --db=postgresql),
an injected clock (on the day --fecha names, by default Monday 2 March 2026), and the real services MPV
runs with."""
from __future__ import annotations

import argparse
import dataclasses
from datetime import date, timedelta

import pytest
from helpers import (LUNES, PG_URL, FakeClock, base_date, base_moment, build_services, fresh_database, lima,
                     make_user, set_base_date)

from mpv.config import Settings
from mpv.engine import Actor



def pytest_addoption(parser):
    parser.addoption("--db", default="sqlite", choices=("sqlite", "postgresql"),
                     help="database backend the suite runs on")
    parser.addoption("--soak", action="store_true", default=False,
                     help="run the long variants of the tests marked slow (fuzzing, model) instead of skipping them")
    parser.addoption("--fecha", type=_fecha, default=None, metavar="AAAA-MM-DD",
                     help="the day the tests' clocks start on, each at its own time of day (default: Monday "
                          "2026-03-02); tests marked fecha_fija keep theirs. `make test-fechas` runs several days")


def _fecha(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--fecha: se esperaba una fecha AAAA-MM-DD y llegó {text!r}") from None


def pytest_configure(config):
    if config.getoption("--fecha"):
        set_base_date(config.getoption("--fecha"))


def pytest_report_header(config):
    return f"MPV database backend: {config.getoption('--db')}; tests' base day: {base_date():%A %Y-%m-%d}"


def _pg_available() -> str | None:
    try:
        import psycopg2

        psycopg2.connect(PG_URL, connect_timeout=3).close()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means: no server to test against
        return f"PostgreSQL no responde en 127.0.0.1:5432 (base test): {exc}"


@pytest.fixture(scope="session")
def backend(request):
    name = request.config.getoption("--db")
    if name == "postgresql":
        reason = _pg_available()
        if reason:
            pytest.skip(reason)
    return name


@pytest.fixture(scope="session")
def soak(request) -> bool:
    """True under --soak: the slow variants run with their long counts."""
    return request.config.getoption("--soak")


@pytest.fixture
def database_url(backend, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        yield url


@pytest.fixture
def settings(tmp_path, database_url):
    return Settings(data_dir=tmp_path / "data", database_url=database_url)


@pytest.fixture
def clock(request):
    """9:30 in Lima on the base day (--fecha); on Monday 2 March 2026 for a test marked fecha_fija."""
    if request.node.get_closest_marker("fecha_fija"):
        return FakeClock(lima(LUNES.year, LUNES.month, LUNES.day, 9, 30))
    return FakeClock(base_moment(9, 30))


@pytest.fixture
def services(settings, clock):
    services = build_services(settings, clock)
    yield services
    services.close()


@pytest.fixture
def pki_sello(clock):
    """The test CA that issued the entity's seal of :func:`sellados` (a month before the test's day)."""
    from firmas_pki import Autoridad

    return Autoridad(clock() - timedelta(days=30), "Raíz de prueba del sello")


@pytest.fixture
def sellados(settings, clock, pki_sello):
    """Services whose PDFs are sealed (MPV_SELLO_P12, MPV_SELLO_CLAVE) by a test entity certificate of
    :func:`pki_sello`, which is also their trust root (MPV_TRUST_ROOTS)."""
    carpeta = settings.data_dir / "pki"
    carpeta.mkdir(parents=True)
    (carpeta / "sello.p12").write_bytes(pki_sello.firmante("MUNICIPALIDAD DE PRUEBA").pkcs12("clave-del-sello"))
    (carpeta / "raiz.pem").write_bytes(pki_sello.raiz_pem())
    services = build_services(dataclasses.replace(settings, sello_p12=carpeta / "sello.p12",
                                                  sello_clave="clave-del-sello", trust_roots=(carpeta / "raiz.pem",)),
                              clock)
    yield services
    services.close()


@pytest.fixture
def staff(services):
    """Actors for the roles the process uses: mesa de partes and two offices."""
    users = {
        "mesa": make_user("mesa", "mesa", "MP"),
        "gdur": make_user("gdur", "oficina", "GDUR"),
        "rentas": make_user("rentas", "oficina", "SGAT"),
        "auditor": make_user("auditor", "auditor"),
    }
    return {name: Actor.de_usuario(user, ip="127.0.0.1") for name, user in users.items()}


@pytest.fixture
def analista(services):
    """The analyst, signed in, in a test browser on the app."""
    from webclient import signed_in

    return signed_in(services, "analista", "analista")


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium per pytest worker, shared by every browser test module (Playwright's sync API
    allows one instance per thread); each test opens its own contexts (fresh profiles)."""
    playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright para Python no está instalado")
    from screenshots import BrowserUnavailable, launch_chromium

    playwright = playwright_api.sync_playwright().start()
    try:
        browser = launch_chromium(playwright)
    except BrowserUnavailable as exc:
        playwright.stop()
        pytest.skip(str(exc))
    yield browser
    browser.close()
    playwright.stop()
