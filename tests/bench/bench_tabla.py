"""Benchmark: the one table of issue 7 — each figure of MPV next to its baseline, measured in the same run.

| figure | baseline |
|---|---|
| Trámites recibidos, 100k and 1M expedientes | the same 50 rows rendered from memory, same process and middleware |
| Derivation over HTTP (POST /expedientes/{n}/derivar, paso=confirmar) | a POST that, in one write transaction, \
loads a row like the expediente's (engine state included), saves it back and appends one row like an Evento |
| Public filing with a 1 MB PDF (POST /api/v1/tramites) | a POST that streams the same body to disk and fsyncs |
| Seguimiento, staff and public | a hello-world Falcon app (no MPV middleware) behind the same waitress |
| Trámites recibidos with 2 processes on one port (SO_REUSEPORT) | the same with 1 process |

Goals (issue 7, item 6): list ≥ 60% of its baseline; derivation ≥ 75%; filing ≥ 70%; 2 processes ≥ 1.5× 1;
the list at 1M takes ≤ 1.25× its time at 100k; every figure's p99 < 250 ms at 16 connections.

Run: ``make bench``, or ``python tests/bench/bench_tabla.py [--max 100000] [--rapido]``. The seeded databases
are kept in ``MPV_BENCH_DIR`` (default ./data/bench), one folder per size, so a second run does not seed
again; the derivations and filings go to a work database made anew each run. Every server is a separate
process on 127.0.0.1, started and stopped by PID and watching this one; GETs are loaded with wrk (installed
from Debian when missing and root), POSTs by a bounded Python client; the repetitions are interleaved
(every figure and baseline once, then again) and the table shows medians. The table goes to stdout and,
with the date and the machine, to docs/bench.md.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import itertools
import os
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peewee as pw  # noqa: E402
from comun import (ROOT, Servidor, carga_media, csrf_token, demo_password, load_python, load_requests,  # noqa: E402
                   OTRAS_SECCIONES, load_wrk, login, machine, puerto_libre, request, settings_for, vigilar,
                   wrk_available)

from mpv.models import BaseModel, Evento, Expediente, Tarea  # noqa: E402

P99_MS = 250
DERIVACION = "derivacion"  # the mesa de partes task (mpv.tramites.tareas.DERIVACION)
DERIVAR = {"paso": "confirmar", "oficina_destino": "GDUR", "proveido": "Evaluar y atender", "prioridad": "normal",
           "plazo_dias": "5"}


def gemelo(model, tabla: str):
    """A model with ``model``'s columns and indexes but no constraints to other tables (foreign keys are
    plain integers): what the derivation's baseline loads, saves and appends to."""
    campos = {}
    for f in model._meta.sorted_fields:
        if f.primary_key:
            continue
        if isinstance(f, pw.ForeignKeyField):
            campos[f.name] = pw.IntegerField(null=f.null, index=True, column_name=f.column_name)
        else:
            campos[f.name] = type(f)(null=f.null, unique=f.unique, index=f.index, column_name=f.column_name)
    return type(f"Gemelo{model.__name__}", (BaseModel,), {**campos, "Meta": type("Meta", (), {"table_name": tabla})})


FilaExpediente = gemelo(Expediente, "bench_expediente")
FilaEvento = gemelo(Evento, "bench_evento")


# -- the server process ----------------------------------------------------------------------------------
class _Captura:
    """Stands in for Pages once, to keep the context the real resource renders."""

    def render(self, req, resp, template, status=None, **context):
        self.template, self.context = template, context


class Memoria:
    """The list's baseline: Trámites recibidos with the context it had at start-up, rendered by the same Pages."""

    def __init__(self, pages, template: str, context: dict):
        self._pages, self._template, self._context = pages, template, context

    def on_get(self, req, resp):
        self._pages.render(req, resp, self._template, **self._context)


class DerivacionSimple:
    """The derivation's baseline: the form read, then in one write transaction a row like the expediente's
    loaded and saved back, and one row like an Evento appended; 303 as the real one. No engine."""

    def __init__(self, db, clock):
        self._db, self._clock = db, clock
        plantilla = Evento.select().where(Evento.tipo == "tarea").order_by(Evento.seq.desc()).dicts().first()
        self._plantilla = {k: v for k, v in plantilla.items() if k != "id"}
        self._seq = itertools.count((FilaEvento.select(pw.fn.MAX(FilaEvento.seq)).scalar() or 0) + 1)

    def on_post(self, req, resp, numero):
        form = parse_qs(req.bounded_stream.read().decode())
        with self._db.write():
            fila = FilaExpediente.get(FilaExpediente.numero == numero)
            ahora = self._clock()
            fila.version += 1
            fila.actualizado_en = ahora
            fila.save()
            FilaEvento.insert(**{**self._plantilla, "seq": next(self._seq), "expediente": fila.id, "momento": ahora,
                                 "oficina_destino": form.get("oficina_destino", [""])[0]}).execute()
        resp.status = "303 See Other"
        resp.location = f"/expedientes/{numero}/derivado"


class Hola:
    def on_get(self, req, resp):
        resp.content_type = "text/html; charset=utf-8"
        resp.text = "<!doctype html><title>Hola</title><p>Hola, mundo</p>"


def hola_y(app):
    """A WSGI app that sends /bench/hola to a bare falcon.App (no MPV middleware) and the rest to ``app``."""
    import falcon

    hola = falcon.App()
    hola.add_route("/bench/hola", Hola())

    def wsgi(environ, start_response):
        return (hola if environ.get("PATH_INFO") == "/bench/hola" else app)(environ, start_response)

    return wsgi


def servir(carpeta: Path, padre: int, hilos: int, compartido: int | None, papel: str):
    import logging
    import socket

    import falcon
    import falcon.testing
    import waitress

    from bench_filing import BarePost
    from mpv.models import Usuario
    from mpv.services import Services
    from mpv.web.app import create_app
    from mpv.web.expedientes import TramitesRecibidos
    from mpv.web.server import max_body_bytes, shared_socket

    vigilar(padre)
    logging.getLogger("waitress").setLevel(logging.ERROR)  # "Task queue depth" is what a load test does
    services = Services.build(settings_for(carpeta))  # clock-ok: a server process on the wall clock, as mpv serve
    app = create_app(services)
    if papel == "lectura":
        real = app._router.find("/tramites")[0]  # the app's own resource, for its Pages (same renderer)
        captura = _Captura()
        req = falcon.testing.create_req(path="/tramites")
        req.context.usuario = Usuario.get(Usuario.username == "mesa")
        TramitesRecibidos(captura, services).on_get(req, falcon.Response())
        app.add_route("/bench/memoria", Memoria(real._pages, captura.template, captura.context))
    else:
        app.add_route("/bench/derivar/{numero}", DerivacionSimple(services.db, services.clock))
        (carpeta / "bare").mkdir(exist_ok=True)
        app.add_route("/api/bench/bare", BarePost(carpeta / "bare"))  # under /api/: the same middleware path
    services.db.peewee.close()
    propio = socket.socket()
    propio.bind(("127.0.0.1", 0))
    propio.listen(1024)
    sockets = [propio] + ([shared_socket("127.0.0.1", compartido)] if compartido else [])
    server = waitress.create_server(hola_y(app), sockets=sockets, threads=hilos, ident="MPV",
                                    max_request_body_size=max_body_bytes(services.limits))
    print(f"PUERTO {propio.getsockname()[1]}", flush=True)
    server.run()


# -- preparing the databases -----------------------------------------------------------------------------
def sembrada(base: Path, size: int, pesos: dict | None, clock) -> Path:
    """The folder of a database with ``size`` seeded expedientes of the two years before ``clock()``, made
    (or finished) when needed: grown from the largest smaller one there is, since seeding 1M takes minutes.
    The seed is the size, so the same day gives the same database."""
    from mpv.demo import seed as demo_seed
    from mpv.demo.volumen import Barra, sembrar
    from mpv.services import Services

    carpeta = base / str(size)
    if not carpeta.exists():
        menores = sorted(int(p.name) for p in base.glob("[0-9]*") if p.name.isdigit() and int(p.name) < size
                         and (p / "completa").exists())
        if menores:
            print(f"Copiando la base de {menores[-1]:,} expedientes para sembrar la de {size:,}…", file=sys.stderr)
            shutil.copytree(base / str(menores[-1]), carpeta)
            (carpeta / "completa").unlink()
        carpeta.mkdir(parents=True, exist_ok=True)
    services = Services.build(settings_for(carpeta), clock=clock)
    try:
        services.init_db()
        demo_seed(services, 0)  # offices, document types and the demo users, once
        have = Expediente.select().count()
        if have > size:
            raise RuntimeError(f"{carpeta} tiene {have:,} expedientes, más de {size:,}: "
                               "bórrela para sembrarla de nuevo")
        if have < size:
            informe = sembrar(services, size - have, semilla=size, progreso=Barra(sys.stderr), pesos=pesos)
            print(f"Siembra hasta {size:,}: {informe.expedientes:,} expedientes en {informe.segundos:.0f} s",
                  file=sys.stderr)
        (carpeta / "completa").touch()
    finally:
        services.close()
    return carpeta


def trabajo(carpeta: Path, cantidad: int, clock) -> list[str]:
    """A new work database in ``carpeta`` with at least ``cantidad`` expedientes waiting for their derivation
    (clones of one the engine took through its recepción, filed in the 20 days before ``clock()``), and their
    copies in the baseline's table; their numbers.

    A clone filed in the last hours before ``clock()`` (or on the weekend or holiday it falls on) could not
    have been received yet, so the seeder makes it another escenario: how many depends on the day and hour.
    Rounds with their own seeds add the missing ones, so the count never does.
    :raise RuntimeError: when ten rounds were not enough.
    """
    from mpv.demo import seed as demo_seed
    from mpv.demo.volumen import PESOS, sembrar
    from mpv.services import Services

    shutil.rmtree(carpeta, ignore_errors=True)
    carpeta.mkdir(parents=True)
    services = Services.build(settings_for(carpeta), clock=clock)
    # Received the day it came in, or later than that (art. 143: then its derivation is already overdue).
    pesos = {k: (1, 1, 1, 1) if k in ("recibido", "recibido_vencido") else (0, 0, 0, 0) for k in PESOS}
    try:
        services.init_db()
        demo_seed(services, 0)
        numeros: list[str] = []
        for ronda in range(10):
            if len(numeros) >= cantidad:
                break
            sembrar(services, cantidad - len(numeros), dias=20, semilla=ronda, pesos=pesos)
            numeros = [n for (n,) in Expediente.select(Expediente.numero)
                       .join(Tarea, on=Tarea.expediente == Expediente.id)
                       .where((Tarea.spec == DERIVACION) & (Tarea.rol == "mesa")).order_by(Expediente.id).tuples()]
        if len(numeros) < cantidad:
            raise RuntimeError(f"se esperaban {cantidad} expedientes por derivar y hay {len(numeros)} tras diez "
                               "siembras")
        services.db.peewee.create_tables([FilaExpediente, FilaEvento])
        columnas = ", ".join(f.column_name for f in Expediente._meta.sorted_fields)
        with services.db.write():
            services.db.peewee.execute_sql(
                f"INSERT INTO bench_expediente ({columnas}) SELECT {columnas} FROM expediente")
    finally:
        services.close()
    return numeros


def para_seguimiento(carpeta: Path) -> tuple[str, str, int]:
    """(número, tracking code, events) of the expediente with the longest history among the newest 2,000."""
    from mpv.services import Services

    services = Services.build(settings_for(carpeta))  # clock-ok: only reads rows, never the clock
    try:
        recientes = Expediente.select(Expediente.id).order_by(Expediente.id.desc()).limit(2000)
        eid, eventos = (Evento.select(Evento.expediente, pw.fn.COUNT(Evento.id))
                        .where(Evento.expediente.in_(recientes)).group_by(Evento.expediente)
                        .order_by(pw.fn.COUNT(Evento.id).desc()).tuples().first())
        exp = Expediente.get_by_id(eid)
        return exp.numero, exp.codigo, eventos
    finally:
        services.close()


def consultas(carpeta: Path, size: int, clock, repeats: int = 15):
    """Print the median time of each query behind Trámites recibidos (one per filter) at this size."""
    from mpv.tramites import listados
    from mpv.services import Services

    services = Services.build(settings_for(carpeta), clock=clock)
    try:
        tz, search = services.calendario.tz, services.busqueda
        hoy = services.calendario.fecha_local(services.clock())
        primera = listados.tramites(listados.Filtro(), tz, search)
        remitente = Expediente.select().order_by(Expediente.id.desc()).first()
        casos = [
            ("primera página", listados.Filtro()),
            ("página siguiente", listados.Filtro(cursor=primera.siguiente)),
            ("página anterior", listados.Filtro(cursor=primera.siguiente, atras=True)),
            ("estado = En atención", listados.Filtro(estado="En atención")),
            ("estado = Observado", listados.Filtro(estado="Observado")),
            ("estado = Atendido", listados.Filtro(estado="Atendido")),
            ("último mes", listados.Filtro(desde=hoy - datetime.timedelta(days=30), hasta=hoy)),
            ("un mes de hace un año", listados.Filtro(desde=hoy - datetime.timedelta(days=395),
                                                      hasta=hoy - datetime.timedelta(days=365))),
            ("orden = vence", listados.Filtro(orden="vence")),
            ("orden = antiguos", listados.Filtro(orden="antiguos")),
            ("buscar apellido común «quispe»", listados.Filtro(q="quispe")),
            ("buscar nombre completo", listados.Filtro(q=remitente.remitente_nombre)),
            ("buscar asunto «licencia edificación»", listados.Filtro(q="licencia edificación")),
            ("buscar DNI/RUC", listados.Filtro(q=remitente.remitente_documento)),
            ("buscar número", listados.Filtro(q=remitente.numero)),
            ("estado + meses + búsqueda", listados.Filtro(estado="Atendido", q="constancia",
                                                          desde=hoy - datetime.timedelta(days=200),
                                                          hasta=hoy - datetime.timedelta(days=100))),
        ]
        print(f"\nConsultas de Trámites recibidos con {size:,} expedientes (mediana de {repeats}):")
        for nombre, filtro in casos:
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                pagina = listados.tramites(filtro, tz, search)
                times.append((time.perf_counter() - t0) * 1000)
            print(f"  {nombre:40} {statistics.median(times):8.2f} ms  {len(pagina.filas):3d} filas")
    finally:
        services.close()


# -- measuring -------------------------------------------------------------------------------------------
class Pool:
    """Hands out each item once (or round and round with ``ciclo``), to many client threads."""

    def __init__(self, items, ciclo=False):
        self._it = itertools.cycle(items) if ciclo else iter(items)
        self._lock = threading.Lock()

    def next(self):
        with self._lock:
            return next(self._it, None)


@dataclasses.dataclass
class Medida:
    """One thing measured: how, and its (requests/s, p99 ms) of each repetition."""

    nombre: str
    medir: Callable
    runs: list = dataclasses.field(default_factory=list)
    agotado: bool = False

    @property
    def rps(self):
        return statistics.median(r for r, _ in self.runs)

    @property
    def p99(self):
        return statistics.median(p for _, p in self.runs)


def run(argv=None, clock=None) -> tuple[list[dict], str]:
    """Measure everything as ``argv`` asks; (rows of the table, its Markdown document).

    ``clock`` dates the seeded data and the document (tests pass a fixed one; by default the wall clock);
    the servers measured run on the wall clock, as ``mpv serve`` does, and nothing they answer depends on
    the day the data was seeded.
    """
    from mpv.services import system_clock

    clock = clock or system_clock  # clock-ok: a real run is dated by the wall clock, as its servers are
    args = parse(argv)
    base = args.carpeta
    base.mkdir(parents=True, exist_ok=True)
    inicio = clock().astimezone()
    maquina = machine()
    print(maquina, file=sys.stderr)
    sizes = sorted({min(args.min, args.max), args.max})
    pesos = None
    if args.escenarios:
        from mpv.demo.volumen import PESOS

        pesos = {k: (1, 1, 1, 1) if k in args.escenarios.split(",") else (0, 0, 0, 0) for k in PESOS}
    carpetas = {size: sembrada(base, size, pesos, clock) for size in sizes}
    if args.consultas:
        for size in sizes:
            consultas(carpetas[size], size, clock)
    t0 = time.monotonic()
    numeros = trabajo(base / "trabajo", args.derivaciones, clock)
    numero, codigo, eventos = para_seguimiento(carpetas[args.max])
    print(f"Base de trabajo con {len(numeros):,} expedientes por derivar: {time.monotonic() - t0:.1f} s",
          file=sys.stderr)
    gets = load_wrk if not args.python and wrk_available() else load_python
    script = Path(__file__).resolve()
    servidores = []
    try:
        def servidor(carpeta, papel, compartido=None):
            s = Servidor(script, str(carpeta), "--hilos", str(args.hilos), "--papel", papel,
                         *(["--compartido", str(compartido)] if compartido else []))
            servidores.append(s)
            return s

        compartido = puerto_libre()
        lectura = {size: servidor(carpetas[size], "lectura", compartido if size == args.max else None)
                   for size in sizes}
        servidor(carpetas[args.max], "lectura", compartido)  # the second process on the shared port
        escritura = servidor(base / "trabajo", "escritura")
        t0 = time.monotonic()
        for s in servidores:  # they start together; wait for each
            s.port
        print(f"{len(servidores)} servidores listos en {time.monotonic() - t0:.1f} s", file=sys.stderr)
        cookies = {size: login(s.port, "mesa", demo_password(carpetas[size], "mesa")) for size, s in lectura.items()}
        cookie_w = login(escritura.port, "mesa", demo_password(base / "trabajo", "mesa"))
        cuerpo = urlencode({"csrf": csrf_token(escritura.port, cookie_w), **DERIVAR})
        formulario = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie_w}
        por_derivar = Pool(numeros)
        simples = Pool(numeros, ciclo=True)
        pdf = _filing_body()

        def get(port, path, cookie=""):
            return lambda s: gets(port, path, cookie, s, args.conexiones)

        def post(siguiente, expected):
            return lambda s: load_requests(escritura.port, siguiente, s, args.conexiones, expected)

        def derivacion():
            n = por_derivar.next()
            return n and ("POST", f"/expedientes/{n}/derivar", cuerpo, formulario)

        def derivacion_simple():
            return "POST", f"/bench/derivar/{simples.next()}", cuerpo, formulario

        def presentacion(path):
            return lambda: ("POST", path, pdf.next(), {"Content-Type": pdf.content_type})

        top = lectura[args.max]
        medidas = {}
        for size, s in lectura.items():
            medidas[("lista", size)] = Medida(f"lista {size}", get(s.port, "/tramites", cookies[size]))
            medidas[("memoria", size)] = Medida(f"memoria {size}", get(s.port, "/bench/memoria", cookies[size]))
        medidas["dos"] = Medida("lista, 2 procesos", get(compartido, "/tramites", cookies[args.max]))
        medidas["seguimiento"] = Medida("seguimiento", get(top.port, f"/expedientes/{numero}/seguimiento",
                                                            cookies[args.max]))
        medidas["publico"] = Medida("seguimiento público", get(top.port, f"/seguimiento/{codigo}"))
        medidas["hola"] = Medida("hola", get(top.port, "/bench/hola"))
        medidas["derivacion"] = Medida("derivación", post(derivacion, (303,)))
        medidas["derivacion_base"] = Medida("derivación simple", post(derivacion_simple, (303,)))
        medidas["presentacion"] = Medida("presentación", post(presentacion("/api/v1/tramites"), (201,)))
        medidas["presentacion_base"] = Medida("POST simple", post(presentacion("/api/bench/bare"), (201,)))

        for size, s in lectura.items():  # the pages are what they should be before any load
            check_list(s.port, "/tramites", cookies[size])
            check_list(s.port, "/bench/memoria", cookies[size])
        for m in medidas.values():  # warm-up: imports, caches, first rows, the second process
            m.medir(args.calentar)
        for i in range(args.repeticiones):
            print(f"Repetición {i + 1} de {args.repeticiones}…", file=sys.stderr)
            for m in medidas.values():  # interleaved: every figure and its baseline see the same machine
                result = m.medir(args.segundos)
                m.runs.append(result[:2])
                m.agotado |= len(result) > 2 and result[2]
    finally:
        for s in reversed(servidores):
            s.stop()
        shutil.rmtree(base / "trabajo", ignore_errors=True)
    filas = tabla(medidas, sizes)
    notas = [f"Seguimiento: el expediente {numero} ({eventos} eventos), el de más movimientos entre los 2 000 "
             f"más recientes de la base de {args.max:,}."]
    if medidas["derivacion"].agotado:
        notas.append(f"Aviso: se acabaron los {args.derivaciones:,} expedientes por derivar antes del fin de una "
                     "medición (use --derivaciones).")
    doc = documento(filas, args, inicio, maquina, gets is load_wrk, notas)
    return filas, doc


def _filing_body():
    from bench_filing import Body, scanned_pdf

    return Body(scanned_pdf(1, 1024 * 1024, seed=1))


def check_list(port, path, cookie):
    from mpv.tramites.listados import PAGE

    status, _, page = request(port, "GET", path, headers={"Cookie": cookie})
    rows = page.count("<tr>") - 1  # the header row is one
    if status != 200 or rows < PAGE:
        raise RuntimeError(f"{path}: HTTP {status}, {rows} filas (se esperaban {PAGE})")


# -- the table -------------------------------------------------------------------------------------------
def tabla(m: dict, sizes: list[int]) -> list[dict]:
    """The rows: each figure, its baseline, their ratio, and the goal it is checked against (if any)."""
    def fila(cifra, a, base, b, ratio, objetivo=None, cumple=None, pct=True, p99=True):
        ok_p99 = a.p99 < P99_MS if p99 else True
        if cumple is None:
            resultado = "" if not p99 else ("CUMPLE" if ok_p99 else "NO CUMPLE (p99)")
            goal = f"p99 < {P99_MS} ms" if p99 else "—"
        else:
            ok = cumple(ratio)
            fallas = [n for n, bien in (("cociente", ok), ("p99", ok_p99)) if not bien]
            resultado = f"NO CUMPLE ({', '.join(fallas)})" if fallas else "CUMPLE"
            goal = objetivo + (f"; p99 < {P99_MS} ms" if p99 else "")
        return {"cifra": cifra, "rps": a.rps, "p99": a.p99, "base": base, "base_rps": b.rps, "base_p99": b.p99,
                "ratio": ratio, "ratio_txt": f"{ratio:.0%}" if pct else f"{ratio:.2f}×", "objetivo": goal,
                "resultado": resultado}

    rows = []
    for size in sizes:
        rows.append(fila(f"Trámites recibidos, {size:,} expedientes", m[("lista", size)],
                         "las mismas 50 filas desde memoria", m[("memoria", size)],
                         m[("lista", size)].rps / m[("memoria", size)].rps, "≥ 60 %", lambda r: r >= 0.60))
    if len(sizes) > 1:
        small, large = m[("lista", sizes[0])], m[("lista", sizes[-1])]
        rows.append(fila(f"Trámites recibidos, tiempo con {sizes[-1]:,} ÷ con {sizes[0]:,}", large,
                         f"la misma página con {sizes[0]:,}", small, small.rps / large.rps, "≤ 1.25×",
                         lambda r: r <= 1.25, pct=False, p99=False))
    rows.append(fila("Derivación (POST /expedientes/{n}/derivar, motor)", m["derivacion"],
                     "POST simple: carga y guarda una fila como la del expediente y añade otra como Evento",
                     m["derivacion_base"], m["derivacion"].rps / m["derivacion_base"].rps, "≥ 75 %",
                     lambda r: r >= 0.75))
    rows.append(fila("Presentación con PDF de 1 MB (POST /api/v1/tramites)", m["presentacion"],
                     "POST simple del mismo cuerpo a disco con fsync", m["presentacion_base"],
                     m["presentacion"].rps / m["presentacion_base"].rps, "≥ 70 %", lambda r: r >= 0.70))
    rows.append(fila("Seguimiento del personal (/expedientes/{n}/seguimiento)", m["seguimiento"],
                     "hola mundo en Falcon, sin middleware de MPV", m["hola"], m["seguimiento"].rps / m["hola"].rps))
    rows.append(fila("Seguimiento público (/seguimiento/{código})", m["publico"],
                     "hola mundo en Falcon, sin middleware de MPV", m["hola"], m["publico"].rps / m["hola"].rps))
    rows.append(fila(f"Trámites recibidos, {sizes[-1]:,}, 2 procesos en un puerto", m["dos"],
                     "la misma página con 1 proceso", m[("lista", sizes[-1])],
                     m["dos"].rps / m[("lista", sizes[-1])].rps, "≥ 1.5×", lambda r: r >= 1.5, pct=False))
    return rows


def markdown(filas: list[dict]) -> str:
    lines = ["| cifra | sol./s | p99 ms | línea de base | sol./s | p99 ms | cifra / base | objetivo | resultado |",
             "|---|---:|---:|---|---:|---:|---:|---|---|"]
    for f in filas:
        lines.append(f"| {f['cifra']} | {f['rps']:,.1f} | {f['p99']:,.1f} | {f['base']} | {f['base_rps']:,.1f} | "
                     f"{f['base_p99']:,.1f} | {f['ratio_txt']} | {f['objetivo']} | {f['resultado']} |")
    return "\n".join(lines)


def documento(filas, args, inicio, maquina, con_wrk: bool, notas: list[str]) -> str:
    carga = ("wrk (GET, 2 hilos) y un cliente Python acotado (POST)" if con_wrk
             else "un cliente Python acotado (GET y POST)")
    cumplen = [f for f in filas if f["resultado"]]
    resumen = (f"{sum(f['resultado'] == 'CUMPLE' for f in cumplen)} de {len(cumplen)} filas cumplen sus objetivos.")
    return "\n".join([
        "# Rendimiento de MPV: cada cifra junto a su línea de base",
        "",
        f"Medido el {inicio:%Y-%m-%d %H:%M %z} con `python tests/bench/bench_tabla.py"
        f"{' ' + ' '.join(args.argv) if args.argv else ''}` (`make bench` la corre sin argumentos).",
        "",
        f"- Máquina: {maquina}; al terminar: {carga_media()}.",
        f"- Carga: {carga}, {args.conexiones} conexiones, en 127.0.0.1; {args.repeticiones} "
        f"{'repetición' if args.repeticiones == 1 else 'repeticiones'} de {args.segundos:g} s de cada cifra y "
        "cada base, intercaladas; la tabla da medianas.",
        f"- Servidor: waitress con {args.hilos} hilos por proceso (los de `mpv serve`), un proceso salvo la última "
        "fila; SQLite. Las derivaciones y presentaciones van a una base de trabajo nueva; las páginas, a las bases "
        f"sembradas con `mpv.demo.volumen` ({', '.join(f'{s:,}' for s in sorted({min(args.min, args.max), args.max}))} "
        "expedientes).",
        "",
        markdown(filas),
        "",
        resumen,
        "",
        "Líneas de base: la lista desde memoria es la misma plantilla con el mismo contexto, obtenido una vez al "
        "arrancar, detrás del mismo middleware y sesión; la derivación simple lee el formulario y, en una "
        "transacción de escritura (`db.write()`), carga por número una copia de la fila del expediente (con su "
        "estado del motor serializado), la guarda entera y añade una fila con las columnas e índices de Evento; el "
        "POST simple escribe el cuerpo en un archivo en trozos de 64 KiB y hace fsync, sin multipart ni base de "
        "datos; el hola mundo es un `falcon.App` sin middleware servido por el mismo waitress. Cada derivación es "
        "sobre un expediente distinto que espera su derivación (clonado con `mpv.demo.volumen` de uno que el motor "
        "recibió).",
        "",
        *notas,
        "",
    ])


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, help="tamaño mayor de la base (por defecto 1 000 000)")
    parser.add_argument("--min", type=int, help="tamaño menor, para comparar (por defecto 100 000)")
    parser.add_argument("--rapido", action="store_true", help="una prueba corta con bases pequeñas")
    parser.add_argument("--segundos", type=float, help="duración de cada medición (por defecto 10)")
    parser.add_argument("--repeticiones", type=int, help="mediciones de cada cifra (por defecto 3)")
    parser.add_argument("--calentar", type=float, help="segundos de calentamiento de cada cifra")
    parser.add_argument("--conexiones", type=int, default=16)
    parser.add_argument("--hilos", type=int, default=8, help="hilos de waitress (los de «mpv serve»)")
    parser.add_argument("--derivaciones", type=int, help="expedientes por derivar preparados")
    parser.add_argument("--escenarios", help="sembrar solo estos escenarios de mpv.demo.volumen (separados por comas), "
                                                "para pruebas cortas")
    parser.add_argument("--consultas", action="store_true",
                        help="antes de la tabla, el tiempo de cada consulta de la lista (un filtro cada una)")
    parser.add_argument("--python", action="store_true", help="cargar los GET con el cliente Python, no con wrk")
    parser.add_argument("--carpeta", type=Path, default=Path(os.environ.get("MPV_BENCH_DIR", ROOT / "data" / "bench")),
                        help="donde se guardan las bases sembradas (MPV_BENCH_DIR; por defecto ./data/bench)")
    parser.add_argument("--salida", type=Path, help="el documento Markdown (por defecto docs/bench.md; ninguno "
                                                      "con --rapido)")
    parser.add_argument("--servir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--padre", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--compartido", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--papel", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    rapido = args.rapido
    for name, full, quick in (("max", 1_000_000, 3000), ("min", 100_000, 1000), ("segundos", 10, 2),
                              ("repeticiones", 3, 1), ("calentar", 2, 0.5)):
        if getattr(args, name) is None:
            setattr(args, name, quick if rapido else full)
    if args.derivaciones is None:  # enough for ~300 derivations/s through every repetition
        args.derivaciones = int(300 * (args.segundos * args.repeticiones + args.calentar)) + 100
    if args.salida is None and not rapido:
        args.salida = ROOT / "docs" / "bench.md"
    return args


TRAMITE = "## Un trámite completo"


def main(argv=None) -> int:
    args = parse(argv)
    if args.servir:
        servir(args.servir, args.padre, args.hilos, args.compartido, args.papel)
        return 0
    filas, doc = run(argv)
    print(doc)
    if args.salida:
        resto = otras_secciones(args.salida)
        args.salida.write_text(doc.rstrip("\n") + "\n\n" + resto if resto else doc, encoding="utf-8")
        print(f"Escrito en {args.salida}", file=sys.stderr)
        if args.salida.resolve() == (ROOT / "docs" / "bench.md").resolve():
            readme(ROOT / "README.md", doc)
    return 0


def otras_secciones(path: Path) -> str:
    """What other benchmarks wrote after the table, kept when it is rewritten: bench_tramite's section (written by
    hand from its run and profile) and those between the markers after :data:`comun.OTRAS_SECCIONES`."""
    anterior = path.read_text(encoding="utf-8") if path.exists() else ""
    desde = [anterior.index(marca) for marca in (TRAMITE, OTRAS_SECCIONES) if marca in anterior]
    return anterior[min(desde):] if desde else ""


def readme(path: Path, doc: str):
    """Put the run's summary and table between the README's ``<!-- bench -->`` markers, if it has them."""
    text = path.read_text(encoding="utf-8")
    start, end = "<!-- bench: inicio -->", "<!-- bench: fin -->"
    if start not in text or end not in text:
        return
    medido = next(line for line in doc.splitlines() if line.startswith("Medido el"))
    maquina = next(line for line in doc.splitlines() if line.startswith("- Máquina:"))[2:]
    tabla_md = doc[doc.index("| cifra |"):doc.index("\n\n", doc.index("| cifra |"))]
    bloque = f"{start}\n{medido} {maquina}\n\n{tabla_md}\n{end}"
    path.write_text(text[:text.index(start)] + bloque + text[text.index(end) + len(end):], encoding="utf-8")
    print(f"Tabla copiada en {path}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
