"""The auditor's pages: the register with filters, the complete history, the global log, the chain's
verification, CSV exports streamed in batches — and an auditor who reads everything and changes nothing."""
from __future__ import annotations

import csv
import io
import logging
import re
import tracemalloc
from datetime import timedelta

import pytest
from falcon import inspect as falcon_inspect
from falcon import testing
from helpers import base_date, base_moment, derivar, file_tramite, make_user, step
from webclient import Browser

from mpv import history
from mpv.auditoria import auditor, queries
from mpv.auditoria.export import celda
from mpv.engine import Actor
from mpv.errors import NotAllowed, NotFound
from mpv.models import Evento, Expediente, Oficina, Tarea, TipoDocumento, Usuario
from mpv.tramites import listados
from mpv.web.app import create_app


@pytest.fixture
def site(services, staff):
    """Three trámites on two days, of two document types and two senders, one derived to GDUR."""
    make_user("admin", "admin")
    make_user("analista", "analista")
    a = file_tramite(services)
    services.clock.advance(days=1)
    b = file_tramite(services, tipo_documento="CAR", nombres="Luis", apellidos="Pérez Soto",
                     numero_documento_identidad="70112233", asunto="=HYPERLINK(\"http://x\")")
    step(services, b, staff["mesa"], accion="observar", observacion="<script>alert(1)</script> falta firma")
    c = file_tramite(services, asunto="Reclamo por ruido")
    step(services, c, staff["mesa"], accion="conforme")
    derivar(services, c, staff["mesa"], "GDUR")
    app = create_app(services)
    auditor = Browser(app, remote_addr="198.51.100.23")
    auditor.login("auditor")
    return app, auditor, {"a": a, "b": b, "c": c}


def numeros(html: str) -> set[str]:
    return set(re.findall(r'href="/auditoria/expedientes/(\d{4}-\d{6})"', html))


def parse_csv(result) -> list[list[str]]:
    assert result.status_code == 200
    assert result.headers["content-type"].startswith("text/csv")
    assert result.headers["content-disposition"].startswith("attachment;")
    assert result.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    return list(csv.reader(io.StringIO(result.content.decode("utf-8-sig"))))


# -- expedientes ---------------------------------------------------------------------------------------
def test_expedientes_filters(site, services):
    app, auditor, e = site
    a, b, c = e["a"].numero, e["b"].numero, e["c"].numero
    dia = [(base_date() + timedelta(days=n)).isoformat() for n in range(3)]  # a was filed on day 0, b and c on 1
    assert numeros(auditor.get("/auditoria/expedientes").text) == {a, b, c}
    car = TipoDocumento.get(TipoDocumento.codigo == "CAR").id
    gdur = Oficina.get(Oficina.codigo == "GDUR").id
    cases = [
        ({"tipo_documento": str(car)}, {b}),
        ({"remitente": "pérez"}, {b}),
        ({"remitente": "70112233"}, {b}),
        ({"remitente": "Rojas Ana"}, {a, c}),
        ({"oficina": str(gdur)}, {c}),
        ({"estado": Expediente.get_by_id(e["b"].id).estado}, {b}),
        ({"desde": dia[1]}, {b, c}),
        ({"hasta": dia[0]}, {a}),
        ({"desde": dia[2]}, set()),
    ]
    for params, expected in cases:
        assert numeros(auditor.get("/auditoria/expedientes", **params).text) == expected, params
    bad = auditor.get("/auditoria/expedientes", desde="ayer")
    assert bad.status_code == 200 and "Use una fecha válida" in bad.text


def test_expedientes_keyset_pages(services, staff):
    for _ in range(queries.PAGE + 3):
        file_tramite(services)
    app = create_app(services)
    b = Browser(app)
    b.login("auditor")
    first = b.get("/auditoria/expedientes")
    nxt = re.search(r'href="\?([^"]*despues=[^"]+)"', first.text).group(1).replace("&amp;", "&")
    second = b.client.simulate_get(f"/auditoria/expedientes?{nxt}", cookies=b.cookies)
    assert len(numeros(first.text)) == queries.PAGE and len(numeros(second.text)) == 3
    assert not numeros(first.text) & numeros(second.text)


# -- the complete history and the chain ----------------------------------------------------------------
def test_history_shows_every_evento_with_payload_and_hashes(site, services):
    app, auditor, e = site
    page = auditor.get(f"/auditoria/expedientes/{e['b'].numero}")
    assert page.status_code == 200
    rows = list(Evento.select().where(Evento.expediente == e["b"].id).order_by(Evento.seq))
    assert len(rows) >= 2
    for row in rows:
        assert f'id="evento-{row.seq}"' in page.text
        assert row.hash in page.text and row.prev_hash in page.text
    observed = next(r for r in rows if r.tipo == "tarea")
    assert "&#34;observacion&#34;: &#34;&lt;script&gt;alert(1)&lt;/script&gt; falta firma&#34;" in page.text
    assert "<script>alert(1)" not in page.text  # escaped, never markup
    assert observed.actor_nombre in page.text and "Mesa de partes" in page.text and "127.0.0.1" in page.text
    local = observed.momento.astimezone(services.calendario.tz).strftime("%d/%m/%Y %H:%M")
    assert local in page.text  # in America/Lima
    assert "Cadena íntegra:" in page.text
    assert auditor.get("/auditoria/expedientes/2026-999999").status_code == 404


def test_tampered_row_is_named_on_the_pages(site, services, clock):
    app, auditor, e = site
    assert "Cadena íntegra:" in auditor.get("/auditoria/eventos").text
    victim = Evento.select().where(Evento.expediente == e["b"].id).order_by(Evento.seq.desc()).first()
    Evento.update(detalle="reescrito").where(Evento.seq == victim.seq).execute()
    # Until the next walk of the whole chain the cached result stands (rows appended since are checked)…
    assert "Cadena íntegra:" in auditor.get("/auditoria/eventos").text
    # …which the page offers to run now, and which runs by itself after ten minutes.
    forced = auditor.get(f"/auditoria/expedientes/{e['b'].numero}", verificar="completa")
    assert f"Cadena ALTERADA en el evento {victim.seq}:" in forced.text and "su contenido fue modificado" in forced.text
    assert f'id="evento-{victim.seq}" class="tarjeta alterado"' in forced.text
    fresh = Browser(create_app(services))
    fresh.login("admin")
    assert f"Cadena ALTERADA en el evento {victim.seq}:" in fresh.get("/auditoria/eventos").text


def test_verification_is_incremental_and_walks_all_every_ten_minutes(services, staff, clock):
    file_tramite(services)
    cache = queries.VerificacionCadena(clock)
    first = cache.resultado()
    assert first.verificacion.ok and not first.incremental
    file_tramite(services)
    second = cache.resultado()
    assert second.incremental and second.verificacion.checked == Evento.select().count() > first.verificacion.checked
    Evento.update(detalle="x").where(Evento.seq == 1).execute()
    assert cache.resultado().verificacion.ok  # rows already verified are trusted until the next full walk
    clock.advance(minutes=10)
    late = cache.resultado()
    assert not late.incremental and (late.verificacion.ok, late.verificacion.seq) == (False, 1)


def test_rows_appended_during_verification_are_no_false_alarm(services, staff):
    """The head is read first: a row committed while the chain is walked is left for the next check."""
    file_tramite(services)
    original = history.hash_values
    appended = []

    def slow_hash(values):  # an append commits in the middle of the walk
        if not appended:
            appended.append("en curso")
            file_tramite(services)
        return original(values)

    history.hash_values = slow_hash
    try:
        result = history.verify()
    finally:
        history.hash_values = original
    assert appended and result.ok and result.checked < Evento.select().count()
    assert history.verify().ok


# -- the global log ------------------------------------------------------------------------------------
def test_global_log_filters(site, services, clock):
    app, auditor, e = site
    intruder = Browser(app, remote_addr="203.0.113.66")
    intruder.get("/login")
    intruder.post("/login", {"username": "mesa", "password": "no-es-la-clave-1"})
    mesa = Browser(app)
    mesa.login("mesa")
    clock.advance(minutes=2)
    assert mesa.get("/auditoria/eventos").status_code == 403  # the denial is in the log too

    def descripciones(**params):
        page = auditor.get("/auditoria/eventos", **params)
        assert page.status_code == 200
        return re.findall(r'<td data-label="Descripción">([^<]*)</td>', page.text)

    everything = descripciones()
    assert "Intento de ingreso fallido" in everything and "Trámite presentado" in everything
    assert "Acceso denegado: GET /auditoria/eventos" in everything
    assert set(descripciones(tipo="acceso")) >= {"Ingreso al sistema", "Intento de ingreso fallido"}
    assert "Trámite presentado" not in descripciones(tipo="acceso")
    assert descripciones(ip="203.0.113.66") == ["Intento de ingreso fallido"]
    assert set(descripciones(usuario="auditor")) == {"Ingreso al sistema"}
    by_exp = descripciones(expediente=e["c"].numero)
    assert by_exp and len(by_exp) == Evento.select().where(Evento.expediente == e["c"].id).count()
    assert descripciones(desde=(base_date() + timedelta(days=2)).isoformat()) == []
    first_day = descripciones(hasta=base_date().isoformat())
    assert first_day and "Ingreso al sistema" not in first_day  # every login was on the next day
    unknown = auditor.get("/auditoria/eventos", expediente="2099-000001")
    assert "No existe el expediente 2099-000001" in unknown.text and "No hay eventos" in unknown.text


def test_global_log_pages_by_keyset(services, staff, clock):
    rows = [{"expediente": None, "momento": clock(), "tipo": "acceso", "accion": "ingreso", "descripcion": f"fila {i}",
             "actor": None, "actor_nombre": "x", "rol": "", "actor_oficina": "", "ip": "", "payload": {}}
            for i in range(queries.PAGE + 5)]  # the same moment: seq breaks the tie
    with services.db.write():
        history.append(services.db, rows)
    seen, cursor = [], ""
    while True:
        pagina = queries.eventos(queries.FiltroEventos(usuario="x", cursor=cursor), services.calendario.tz)
        seen += [f["descripcion"] for f in pagina.filas]
        if not pagina.siguiente:
            break
        cursor = pagina.siguiente
    assert seen == [f"fila {i}" for i in reversed(range(queries.PAGE + 5))]


# -- CSV -----------------------------------------------------------------------------------------------
def test_csv_exports_parse_back_with_the_same_filters(site, services):
    app, auditor, e = site
    rows = parse_csv(auditor.get("/auditoria/expedientes/csv"))
    assert rows[0][0] == "N° de expediente" and len(rows) == 4
    by_number = {r[0]: r for r in rows[1:]}
    assert by_number[e["b"].numero][6] == "'=HYPERLINK(\"http://x\")"  # a formula stays text
    assert by_number[e["b"].numero][3] == "Luis Pérez Soto"
    car = TipoDocumento.get(TipoDocumento.codigo == "CAR").id
    assert [r[0] for r in parse_csv(auditor.get("/auditoria/expedientes/csv", tipo_documento=str(car)))[1:]] == [
        e["b"].numero]

    history_rows = parse_csv(auditor.get(f"/auditoria/expedientes/{e['c'].numero}/csv"))
    stored = list(Evento.select().where(Evento.expediente == e["c"].id).order_by(Evento.seq))
    assert [int(r[0]) for r in history_rows[1:]] == [row.seq for row in stored]  # chain order
    for line, row in zip(history_rows[1:], stored):
        assert (line[5], line[15], line[16]) == (e["c"].numero, row.prev_hash, row.hash)
        assert line[14] == row.payload or line[14] == "'" + row.payload

    log = parse_csv(auditor.get("/auditoria/eventos/csv", tipo="acceso"))
    assert log[0][:3] == ["Seq", "Momento (hora de Lima)", "Tipo"] and {r[2] for r in log[1:]} == {"acceso"}
    assert len(log) - 1 == Evento.select().where(Evento.tipo == "acceso").count()


def test_csv_exports_are_named_for_the_day_in_lima_of_the_services_clock(services, staff, clock):
    clock.set(base_moment(23, 40))  # already the next day in UTC, and never the day the suite runs on
    file_tramite(services)
    auditor = Browser(create_app(services), remote_addr="198.51.100.23")
    auditor.login("auditor")
    for path, nombre in (("/auditoria/expedientes/csv", "expedientes"), ("/auditoria/eventos/csv", "eventos")):
        disposition = auditor.get(path).headers["content-disposition"]
        assert f"{nombre}-{base_date().isoformat()}.csv" in disposition, disposition


@pytest.mark.parametrize("text, cell", [("=1+1", "'=1+1"), ("+51 987", "'+51 987"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
                                        ("\tx", "'\tx"), ("normal", "normal"), (None, ""), (12, "12")])
def test_csv_cells_never_run_as_formulas(text, cell):
    assert celda(text) == cell


def _seed_log(services, clock, n: int):
    rows = [{"expediente": None, "momento": clock() - timedelta(seconds=n - i), "tipo": "acceso", "accion": "ingreso",
             "descripcion": "Ingreso al sistema", "actor": None, "actor_nombre": "muestra" if i % 10 == 0 else f"usuario{i % 50}", "rol": "mesa",
             "actor_oficina": "MP", "ip": f"10.0.{i % 250}.{i % 200}", "detalle": "x" * 80,
             "payload": {"campo": "valor " * 10}} for i in range(n)]
    with services.db.write():
        for start in range(0, n, 5000):
            history.append(services.db, rows[start:start + 5000])


class _Queries(logging.Handler):
    """Counts the queries peewee sends that read the Evento table."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record):
        sql = record.msg[0] if isinstance(record.msg, tuple) else str(record.msg)
        if sql.startswith("SELECT") and 'FROM "evento"' in sql:
            self.count += 1


def _stream(app, cookies: dict, path: str) -> tuple[int, int, int]:
    """(chunks, bytes, peak traced memory) of a response read chunk by chunk, as a WSGI server does."""
    path, _, query = path.partition("?")
    environ = testing.create_environ(path=path, query_string=query, headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())})
    chunks = size = 0
    tracemalloc.start()
    try:
        body = app(environ, lambda status, headers, exc_info=None: None)
        for chunk in body:
            chunks, size = chunks + 1, size + len(chunk)
        getattr(body, "close", lambda: None)()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return chunks, size, peak


def test_csv_export_streams_in_batches_not_all_rows(services, staff, clock):
    """20,000 rows go out in batches of LOTE rows (one query each), in about the memory of 2,000 rows."""
    _seed_log(services, clock, 20_000)
    app = create_app(services)
    b = Browser(app)
    b.login("auditor")
    few_chunks, few_bytes, few_peak = _stream(app, b.cookies, "/auditoria/eventos/csv?usuario=muestra")
    assert few_chunks == 1 + 2000 // queries.LOTE
    handler = _Queries()
    peewee_log = logging.getLogger("peewee")
    peewee_log.addHandler(handler)
    level = peewee_log.level
    peewee_log.setLevel(logging.DEBUG)
    try:
        chunks, size, peak = _stream(app, b.cookies, "/auditoria/eventos/csv")
    finally:
        peewee_log.removeHandler(handler)
        peewee_log.setLevel(level)
    total = Evento.select().count()
    assert chunks == 1 + -(-total // queries.LOTE)  # the header, then one chunk per batch
    assert handler.count == -(-total // queries.LOTE)  # one query of LOTE rows per batch
    assert size > 20_000 * 200
    print(f"\nCSV de {total} eventos: {size / 1e6:.1f} MB en {chunks} partes, pico de memoria {peak / 1e6:.2f} MB; "
          f"de 2000 eventos: {few_bytes / 1e6:.1f} MB, pico {few_peak / 1e6:.2f} MB")
    assert peak < few_peak * 1.5  # ten times the rows, not ten times the memory


# -- read-only -----------------------------------------------------------------------------------------
# Not refused to an auditor: the citizen's public routes, and their own session and password (/cuenta).
PUBLIC = ("/login", "/logout", "/cuenta", "/presentar", "/seguimiento", "/escritos/", "/verificar", "/casilla",
          "/api/")


def test_auditor_reads_everything_and_changes_nothing(site, services, clock):
    """Every unsafe staff route refuses the auditor with 403, writes nothing but the audit row of the refusal."""
    app, auditor, e = site
    values = {"numero": e["c"].numero, "task_id": Tarea.get(Tarea.expediente == e["c"].id).task_id,
              "nombre": "anulacion", "definicion_id": "1", "id": "1", "adjunto_id": "1"}
    routes = sorted({r.path for r in falcon_inspect.inspect_app(app).routes for m in r.methods
                     if m.method == "POST" and not m.internal and not r.path.startswith(PUBLIC)})
    assert routes
    before = Evento.select().where(Evento.tipo != "acceso").count()
    expedientes = [(x.numero, x.estado, x.version) for x in Expediente.select().order_by(Expediente.id)]
    for template in routes:
        url = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values.get(m.group(1), "1"), template)
        clock.advance(seconds=61)  # past the minute in which refusals are folded into one row
        denials = Evento.select().where((Evento.accion == "denegado") & (Evento.actor_nombre == "auditor")).count()
        result = auditor.post(url, {"accion": "archivar"})
        assert result.status_code == 403, (url, result.status_code)
        assert Evento.select().where((Evento.accion == "denegado") & (Evento.actor_nombre == "auditor")).count() == \
            denials + 1, url
    assert Evento.select().where(Evento.tipo != "acceso").count() == before
    assert [(x.numero, x.estado, x.version) for x in Expediente.select().order_by(Expediente.id)] == expedientes
    for path in ("/auditoria", "/auditoria/expedientes", f"/auditoria/expedientes/{e['a'].numero}", "/auditoria/eventos",
                 "/tramites", f"/expedientes/{e['a'].numero}"):
        assert auditor.get(path).status_code in (200, 303), path
    assert 'href="/auditoria"' in auditor.get("/inicio").text  # the menu entry


def test_analista_and_office_may_not_read_the_audit(site):
    app, auditor, e = site
    for username in ("analista", "gdur"):
        b = Browser(app)
        b.login(username)
        for path in ("/auditoria/expedientes", "/auditoria/eventos/csv", f"/auditoria/expedientes/{e['a'].numero}"):
            assert b.get(path).status_code == 403, (username, path)


def test_a_walk_in_progress_does_not_block_the_other_pages(services, staff, clock):
    file_tramite(services)
    cache = queries.VerificacionCadena(clock)
    first = cache.resultado()
    with cache._lock:  # another request is walking the chain
        assert cache.resultado(completa=True) is first
    assert cache.resultado(completa=True) is not first


# -- the actions behind the pages (mpv.auditoria.auditor), driven directly -----------------------------
def csv_de(exportacion) -> list[list[str]]:
    contenido = b"".join(exportacion.contenido)
    assert contenido.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(contenido.decode("utf-8-sig"))))


def test_the_auditor_reads_the_register_the_history_and_the_log(site, services, staff):
    _, _, e = site
    lector = staff["auditor"]
    car = TipoDocumento.get(TipoDocumento.codigo == "CAR").id
    registro = auditor.ver_expedientes(services, lector, listados.Filtro(tipo_documento_id=car))
    assert [f["numero"] for f in registro.pagina.filas] == [e["b"].numero]
    assert "CAR" in {t.codigo for t in registro.tipos} and "GDUR" in {o.codigo for o in registro.oficinas}
    assert Expediente.get_by_id(e["b"].id).estado in registro.estados
    exportado = auditor.exportar_expedientes(services, lector, listados.Filtro())
    assert exportado.nombre == f"expedientes-{services.calendario.fecha_local(services.clock()).isoformat()}.csv"
    assert {r[0] for r in csv_de(exportado)[1:]} == {e["a"].numero, e["b"].numero, e["c"].numero}

    historial = auditor.ver_historial(lector, e["c"].numero)
    seqs = [row.seq for row in Evento.select().where(Evento.expediente == e["c"].id).order_by(Evento.seq)]
    assert historial.expediente.id == e["c"].id and [row.seq for row, _ in historial.filas] == seqs
    assert historial.oficinas["GDUR"] == Oficina.get(Oficina.codigo == "GDUR").nombre
    exportado = auditor.exportar_historial(services, lector, e["c"].numero)
    assert exportado.nombre == f"historial-{e['c'].numero}.csv"
    assert [int(r[0]) for r in csv_de(exportado)[1:]] == seqs
    with pytest.raises(NotFound, match="No existe el expediente 2026-999999"):
        auditor.ver_historial(lector, "2026-999999")

    bitacora = auditor.ver_eventos(services, lector, queries.FiltroEventos(), f" {e['c'].numero} ")
    assert bitacora.errores == {} and bitacora.filtro.expediente_id == e["c"].id
    assert sorted(f["seq"] for f in bitacora.pagina.filas) == seqs
    desconocido = auditor.ver_eventos(services, lector, queries.FiltroEventos(tipo="acceso"), "2099-000001")
    assert desconocido.errores == {"expediente": "No existe el expediente 2099-000001."}
    assert desconocido.pagina.filas == [] and desconocido.filtro.tipo == "acceso"
    assert csv_de(auditor.exportar_eventos(services, lector, queries.FiltroEventos(), "2099-000001"))[1:] == []
    log = csv_de(auditor.exportar_eventos(services, lector, queries.FiltroEventos(cursor="x"), e["a"].numero))
    assert {r[5] for r in log[1:]} == {e["a"].numero}
    assert auditor.verificar_cadena(lector, queries.VerificacionCadena(services.clock)).verificacion.ok


def test_only_auditors_and_administrators_read_the_audit(site, services, staff):
    _, _, e = site
    admin = Actor.de_usuario(Usuario.get(Usuario.username == "admin"))
    assert auditor.ver_historial(admin, e["a"].numero).expediente.id == e["a"].id
    analista = Actor.de_usuario(Usuario.get(Usuario.username == "analista"))
    antes = Evento.select().count()
    cadena = queries.VerificacionCadena(services.clock)
    for actor in (analista, staff["mesa"], staff["gdur"]):
        for intento in (lambda: auditor.lector(actor),
                        lambda: auditor.ver_expedientes(services, actor, listados.Filtro()),
                        lambda: auditor.exportar_expedientes(services, actor, listados.Filtro()),
                        lambda: auditor.ver_historial(actor, e["a"].numero),
                        lambda: auditor.exportar_historial(services, actor, e["a"].numero),
                        lambda: auditor.ver_eventos(services, actor, queries.FiltroEventos()),
                        lambda: auditor.exportar_eventos(services, actor, queries.FiltroEventos()),
                        lambda: auditor.verificar_cadena(actor, cadena)):
            with pytest.raises(NotAllowed, match="Su rol no tiene acceso"):  # at once, not when the CSV is read
                intento()
    assert Evento.select().count() == antes
