"""``make bench`` still works: the machinery of tests/bench/bench_tabla.py on tiny databases, about a second per
figure, computes every figure, its baseline and their ratio (the goals are for the real run, not this one)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from helpers import FakeClock, lima

sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))

import bench_tabla  # noqa: E402
from mpv.models import Tarea  # noqa: E402
from mpv.services import Services  # noqa: E402


def test_the_table_has_every_figure_with_its_baseline_and_ratio(backend, tmp_path, clock):
    if backend != "sqlite":
        pytest.skip("la tabla de rendimiento se mide sobre SQLite")
    filas, doc = bench_tabla.run(["--rapido", "--min", "60", "--max", "120", "--escenarios", "atendido",
                                  "--segundos", "0.4", "--calentar", "0.1", "--derivaciones", "100", "--python",
                                  "--carpeta", str(tmp_path / "bench")], clock=clock)
    cifras = [f["cifra"] for f in filas]
    assert len(cifras) == 8, cifras
    for marca in ("Trámites recibidos, 60 ", "Trámites recibidos, 120 ", "tiempo con 120 ÷ con 60", "Derivación",
                  "Presentación", "Seguimiento del personal", "Seguimiento público", "2 procesos"):
        assert any(marca in c for c in cifras), (marca, cifras)
    for f in filas:
        assert f["rps"] > 0 and f["base_rps"] > 0 and f["p99"] > 0 and f["base_p99"] > 0, f
        assert f["ratio"] > 0 and f["ratio_txt"] in doc, f
    assert doc.count("CUMPLE") >= len(filas) - 2  # each checked row says CUMPLE or NO CUMPLE
    assert not (tmp_path / "bench" / "trabajo").exists()  # the work database goes with the run
    assert sorted(p.name for p in (tmp_path / "bench").iterdir()) == ["120", "60"]  # kept for the next run


def test_the_work_database_has_every_expediente_asked_for_even_after_a_long_weekend(backend, tmp_path):
    if backend != "sqlite":
        pytest.skip("la base de trabajo de la tabla es SQLite")
    # On purpose the worst hour: Monday 4 January 2027 at 08:05, after New Year's Day and a weekend, when
    # four days of filings could not have been received yet (one seeding gave ~80 of 100).
    clock = FakeClock(lima(2027, 1, 4, 8, 5))
    numeros = bench_tabla.trabajo(tmp_path / "trabajo", 100, clock)
    assert len(numeros) >= 100 and len(set(numeros)) == len(numeros)
    services = Services.build(bench_tabla.settings_for(tmp_path / "trabajo"), clock=clock)
    try:  # each one waits for mesa de partes' derivation
        waiting = {t.expediente.numero for t in Tarea.select().where(Tarea.spec == bench_tabla.DERIVACION)}
        assert set(numeros) <= waiting
    finally:
        services.close()


def test_the_cpu_per_request_of_both_posts_and_their_baselines(backend, clock):
    if backend != "sqlite":
        pytest.skip("se mide sobre SQLite")
    import bench_peticion

    ms = bench_peticion.medir(por_ronda=5, rondas=1, clock=clock)
    assert set(ms) == {"derivación", "derivación simple", "presentación 1 MB", "POST simple 1 MB", "restaurar",
                       "completar y correr el motor", "podar", "serializar", "leer el multipart", "SHA-256 del PDF", "revisión del PDF",
                       "iniciar la instancia"}
    assert all(v > 0 for v in ms.values()), ms


def test_each_statement_timed_three_ways(backend, tmp_path, monkeypatch):
    if backend != "sqlite":
        pytest.skip("la misma medida corre sobre cada base en make bench")
    import bench_prepared

    monkeypatch.setattr(bench_prepared, "REPEATS", 20)
    filas = bench_prepared.run_backend(f"sqlite:///{tmp_path / 'mpv.sqlite3'}", tmp_path / "data")
    assert len(filas) == 5 and all(peewee > 0 and prepared > 0 and driver > 0 for _, peewee, prepared, driver in filas)


def test_whole_tramites_against_mpv_serve(backend):
    """bench_tramite for ~2 s with 2 clients on SQLite: every step of each trámite checked, every figure there."""
    if backend != "sqlite":
        pytest.skip("la corrida corta usa SQLite; make bench mide también PostgreSQL")
    import bench_tramite

    fila = bench_tramite.medir("sqlite", clientes=2, segundos=2)
    assert fila["tramites"] >= 2 and fila["por_s"] > 0 and fila["cpu_ms"] > 0
    assert set(fila["pasos"]) == set(bench_tramite.PASOS)
    assert all(len(v) == fila["tramites"] and min(v) > 0 for v in fila["pasos"].values())
    assert min(fila["total"]) >= max(min(v) for v in fila["pasos"].values())
    # The mail queue was watched: every trámite queued at least its constancia, sent or still pending.
    assert fila["correos"]["enviados"] + fila["correos"]["al_terminar"] >= fila["tramites"]


def test_tramites_in_a_row_pay_their_mail_before_the_cpu_is_read(backend, monkeypatch):
    """bench_tramite's serial run: every step timed, and the CPU read only once the queue holds nothing pending."""
    if backend != "sqlite":
        pytest.skip("la corrida corta usa SQLite; make bench mide también PostgreSQL")
    import bench_tramite

    colas, real = [], bench_tramite.pendientes

    def pendientes(url, hasta, espera=120.0):
        real(url, hasta, espera)
        conn = bench_tramite.conectar(url)
        colas.append(bench_tramite.correos(conn))
        conn.close()

    monkeypatch.setattr(bench_tramite, "pendientes", pendientes)
    fila = bench_tramite.en_serie("sqlite", 2)
    assert fila["tramites"] == 2 and fila["cpu_ms"] > 0 and fila["ms"] > 0
    assert set(fila["pasos"]) == set(bench_tramite.PASOS) and min(fila["pasos"].values()) > 0
    # Before and after the measured window nothing was pending; in it, both trámites' e-mails went out.
    assert [pendiente for pendiente, _ in colas] == [0, 0] and colas[1][1] >= colas[0][1] + 2


def test_the_physical_reference_of_a_tramite(backend):
    """The same five steps against make bench's bare baselines, every figure there."""
    if backend != "sqlite":
        pytest.skip("las líneas de base corren sobre SQLite")
    import bench_tramite

    fila = bench_tramite.referencia(clientes=2, segundos=1)
    assert fila["tramites"] >= 2 and fila["por_s"] > 0 and fila["cpu_ms"] > 0
    assert all(len(v) == fila["tramites"] and min(v) > 0 for v in fila["pasos"].values())


def test_the_mail_benchmark_drains_into_aiosmtpd_and_keeps_its_section(backend, tmp_path):
    """bench_correo.py on a tiny queue (the figure is for the real run), and its «Correo» section of docs/bench.md
    survives bench_tabla.py rewriting the document."""
    import bench_correo
    import comun

    if backend != "sqlite":
        pytest.skip("se mide aquí sobre SQLite")
    relay = bench_correo.Relay()
    try:
        filas = bench_correo.correr("sqlite", relay, casos=(("aviso", "archivado", 30), ("constancia", "constancia", 5)))
    finally:
        relay.stop()
    assert [f.split(" | ")[1:3] for f in filas] == [["aviso", "30"], ["constancia", "5"]]
    assert all("CUMPLE" in f for f in filas)

    doc = tmp_path / "bench.md"
    doc.write_text("# Rendimiento\n\ntabla vieja\n\n## Un trámite completo\na mano\n", encoding="utf-8")
    comun.seccion_en_bench_md("correo", "## Correo\nprimera", doc)
    comun.seccion_en_bench_md("correo", "## Correo\nsegunda", doc)
    assert doc.read_text(encoding="utf-8").count("## Correo") == 1 and "segunda" in doc.read_text(encoding="utf-8")
    doc.write_text("# Rendimiento\n\ntabla nueva\n\n" + bench_tabla.otras_secciones(doc), encoding="utf-8")
    text = doc.read_text(encoding="utf-8")
    assert "tabla nueva" in text and "tabla vieja" not in text
    assert "## Un trámite completo\na mano" in text and "## Correo\nsegunda" in text


def test_the_bandeja_benchmark_serves_both_trays_and_compares_them(backend, tmp_path, clock):
    if backend != "sqlite":
        pytest.skip("la bandeja se mide sobre SQLite")
    import bench_bandeja

    resultado, doc = bench_bandeja.run(["--tareas", "5,60", "--segundos", "0.3", "--calentar", "0.1",
                                        "--repeticiones", "1", "--python", "--carpeta", str(tmp_path)], clock=clock)
    assert set(resultado["filas"]) == {5, 60} and resultado["conteos"][60][0] >= 60
    assert all(rps > 0 and p99 > 0 for rps, p99 in resultado["filas"].values())
    assert doc.startswith(bench_bandeja.MARCAS[0]) and doc.endswith(bench_bandeja.MARCAS[1])
    assert f"**{resultado['razon']:.2f}×**" in doc
    salida = tmp_path / "bench.md"
    salida.write_text("# Rendimiento\n\ntabla\n", encoding="utf-8")
    bench_bandeja.escribir(salida, doc)
    bench_bandeja.escribir(salida, doc)  # a second run replaces its section
    assert salida.read_text(encoding="utf-8").count("## Bandeja") == 1
