"""Benchmark: the CPU one request costs in-process, for the two POSTs of the table next to their baselines.

The table of bench_tabla.py measures throughput over HTTP, which moves with the machine's load; the CPU time of
a request (``time.process_time``, one thread, the app called through Falcon's test client, no server) moves far
less, and says where a ratio comes from: a derivation (POST /expedientes/{n}/derivar) next to the bare POST
that loads, saves and appends rows like it, and a filing with a 1 MB PDF next to the bare POST that writes the
body to disk; then SpiffWorkflow's share of a derivation, part by part, and what every filing must do
besides writing its file and its rows.
Run: ``make bench`` (or ``python tests/bench/bench_peticion.py``).
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_tabla  # noqa: E402
from bench_filing import BarePost  # noqa: E402
from comun import CSRF, demo_password, settings_for  # noqa: E402
from helpers import FakeClock, base_moment  # noqa: E402

POR_RONDA = 200
RONDAS = 3


def cliente(carpeta: Path):
    """(test client, staff cookie, CSRF token) of the app over the work database in ``carpeta``."""
    import falcon.testing

    from mpv.services import Services
    from mpv.web.app import create_app

    services = Services.build(settings_for(carpeta))  # clock-ok: the app as mpv serve runs it (CPU only)
    app = create_app(services)
    app.add_route("/bench/derivar/{numero}", bench_tabla.DerivacionSimple(services.db, services.clock))
    (carpeta / "bare").mkdir(exist_ok=True)
    app.add_route("/api/bench/bare", BarePost(carpeta / "bare"))
    client = falcon.testing.TestClient(app)
    page = client.simulate_get("/login")
    csrf_cookie = page.cookies["mpv_csrf"].value
    login = client.simulate_post("/login", headers={"Content-Type": "application/x-www-form-urlencoded",
                                                    "Cookie": f"mpv_csrf={csrf_cookie}"},
                                 body=urlencode({"csrf": CSRF.search(page.text).group(1), "username": "mesa",
                                                 "password": demo_password(carpeta, "mesa")}))
    if login.status_code != 303:
        raise RuntimeError(f"no se pudo iniciar sesión: HTTP {login.status}")
    cookie = f"mpv_sesion={login.cookies['mpv_sesion'].value}; mpv_csrf={csrf_cookie}"
    inicio = client.simulate_get("/inicio", headers={"Cookie": cookie})
    return services, client, cookie, CSRF.search(inicio.text).group(1)


def cpu_ms(hacer, veces: int) -> float:
    """CPU milliseconds per call of ``hacer()``."""
    t0 = time.process_time()
    for _ in range(veces):
        hacer()
    return (time.process_time() - t0) / veces * 1000


def spiff(services, numeros: list[str]) -> dict[str, float]:
    """CPU ms of SpiffWorkflow's part of a derivation, in memory (nothing saved): restore the instance, complete
    the task and run the engine, prune the finished tasks, serialize."""
    from SpiffWorkflow.util.task import TaskState

    from mpv.engine import prune_finished
    from mpv.models import Expediente

    engine = services.engine
    valores = {k: v for k, v in bench_tabla.DERIVAR.items() if k != "paso"} | {"plazo_dias": 5}
    partes = {"restaurar": 0.0, "completar y correr el motor": 0.0, "podar": 0.0, "serializar": 0.0}
    for numero in numeros:
        expediente = Expediente.get(Expediente.numero == numero)
        definition = services.definitions.get(expediente.definicion_id)
        t0 = time.process_time()
        workflow = engine.load(expediente, definition)
        t1 = time.process_time()
        task = next(t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                    if t.task_spec.name == bench_tabla.DERIVACION)
        task.set_data(**valores)
        task.run()
        workflow.do_engine_steps()
        t2 = time.process_time()
        prune_finished(workflow)
        t3 = time.process_time()
        engine.dump(workflow)
        t4 = time.process_time()
        for parte, tiempo in zip(partes, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            partes[parte] += tiempo
    return {parte: total / len(numeros) * 1000 for parte, total in partes.items()}


def presentacion(services, veces: int) -> dict[str, float]:
    """CPU ms of what every filing must do besides writing its 1 MB PDF and its rows, each alone: read the
    multipart body (Falcon), hash the PDF (its SHA-256 is its name), check it (mpv.pdf.check_pdf, pypdf), and
    start the instance in memory (SpiffWorkflow: create, run to the first task, prune, serialize)."""
    import hashlib
    import io

    import falcon
    import falcon.testing

    from bench_filing import scanned_pdf

    from mpv.pdf import check_pdf

    pdf = scanned_pdf(1, 1024 * 1024, seed=1)
    body = bench_tabla._filing_body()
    cuerpo = body.next()

    class Partes:
        def on_post(self, req, resp):
            for part in req.get_media():
                while part.stream.read(64 * 1024):
                    pass

    app = falcon.App()
    app.add_route("/partes", Partes())
    environ = falcon.testing.create_environ(method="POST", path="/partes", headers={"Content-Type": body.content_type})

    def leer_multipart():
        app({**environ, "wsgi.input": io.BytesIO(cuerpo), "CONTENT_LENGTH": str(len(cuerpo))}, lambda *a: None)

    engine, definition = services.engine, services.definitions.active("tramite")

    def iniciar():
        from mpv.engine import prune_finished

        workflow = engine.new_instance(definition, {"numero": "2026-000001", "tipo_documento": "SOL",
                                                    "fecha_presentacion": "2026-03-02", "calificacion": "",
                                                    "plazo_procedimiento": 0})  # a documento simple
        workflow.do_engine_steps()
        prune_finished(workflow)
        engine.dump(workflow)

    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        return {"leer el multipart": cpu_ms(leer_multipart, veces),
                "SHA-256 del PDF": cpu_ms(lambda: hashlib.sha256(pdf).hexdigest(), veces),
                "revisión del PDF": cpu_ms(lambda: check_pdf(Path(f.name), "escaneo.pdf"), veces),
                "iniciar la instancia": cpu_ms(iniciar, veces)}


def medir(por_ronda: int = POR_RONDA, rondas: int = RONDAS, clock=None) -> dict[str, float]:
    """CPU ms per request of each case (median of the rounds), and of SpiffWorkflow's parts of a derivation.

    ``clock`` dates the work database (by default the tests' base moment: the day changes no CPU figure).
    """
    with tempfile.TemporaryDirectory() as tmp:
        carpeta = Path(tmp)
        # SpiffWorkflow's share, the warm-up and the rounds, each on its own expediente
        numeros = iter(bench_tabla.trabajo(carpeta, por_ronda * (rondas + 1) + 20,
                                           clock or FakeClock(base_moment(9, 30))))
        services, client, cookie, csrf = cliente(carpeta)
        try:
            motor = spiff(services, [next(numeros) for _ in range(por_ronda)])
            formulario = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
            cuerpo = urlencode({"csrf": csrf, **bench_tabla.DERIVAR})
            pdf = bench_tabla._filing_body()
            simple = next(numeros)

            def post(path, body, headers, esperado):
                def hacer():
                    resp = client.simulate_post(path() if callable(path) else path, body=body(), headers=headers)
                    if resp.status_code != esperado:
                        raise RuntimeError(f"{path}: HTTP {resp.status} {resp.text[:200]}")
                return hacer

            multipart = {"Content-Type": pdf.content_type}
            casos = {
                "derivación": post(lambda: f"/expedientes/{next(numeros)}/derivar", lambda: cuerpo, formulario, 303),
                "derivación simple": post(f"/bench/derivar/{simple}", lambda: cuerpo, formulario, 303),
                "presentación 1 MB": post("/api/v1/tramites", pdf.next, multipart, 201),
                "POST simple 1 MB": post("/api/bench/bare", pdf.next, multipart, 201),
            }
            for hacer in casos.values():  # warm-up: imports, caches, first rows
                for _ in range(10):
                    hacer()
            medidas = {nombre: [] for nombre in casos}
            for _ in range(rondas):  # interleaved
                for nombre, hacer in casos.items():
                    medidas[nombre].append(cpu_ms(hacer, por_ronda))
            archivo = presentacion(services, por_ronda)
        finally:
            services.close()
    return {nombre: statistics.median(v) for nombre, v in medidas.items()} | motor | archivo


def main():
    ms = medir()
    print(f"CPU por solicitud en el proceso (mediana de {RONDAS} rondas de {POR_RONDA}; SQLite)")
    print("| solicitud | CPU ms | línea de base | CPU ms | base ÷ solicitud |")
    print("|---|---:|---|---:|---:|")
    for cifra, base in (("derivación", "derivación simple"), ("presentación 1 MB", "POST simple 1 MB")):
        print(f"| {cifra} | {ms[cifra]:.2f} | {base} | {ms[base]:.2f} | {ms[base] / ms[cifra]:.0%} |")
    print("\nDe una derivación, lo que hace SpiffWorkflow (CPU ms, en memoria):")
    for parte in ("restaurar", "completar y correr el motor", "podar", "serializar"):
        print(f"- {parte}: {ms[parte]:.2f}")
    print("\nDe una presentación, lo que toda presentación hace además de escribir su PDF de 1 MB y sus filas (CPU ms):")
    for parte in ("leer el multipart", "SHA-256 del PDF", "revisión del PDF", "iniciar la instancia"):
        print(f"- {parte}: {ms[parte]:.2f}")


if __name__ == "__main__":
    main()
