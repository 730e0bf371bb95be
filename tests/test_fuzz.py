"""F4 — fuzzing, through the real WSGI app in-process: requests generated from the OpenAPI document
(schemathesis) against /api/v1, and Hypothesis-generated posts to the web forms.

Every answer: no 5xx, no traceback text. API: every status, content type, header and body is one the
document declares, and every error is {"error": "…", "campos": {…}}. Web: refused input is a 4xx
Spanish page. A refused filing leaves no Expediente row and no file behind.

Each test sends a bounded number of requests in `make test` (≥ 5,000 for the API alone, more for the
forms) and prints how many it sent; its variant marked slow sends ten times as many under --soak
(`pytest -m slow --soak`: ≥ 50,000 for the API).
"""
from __future__ import annotations

import base64
import dataclasses
import logging
import re
import time
from collections import Counter
from urllib.parse import quote, urlencode

import pytest
import schemathesis
from helpers import FILING, build_services, derivar, file_tramite, make_user, recibir, step
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from peewee import JOIN
from webclient import Browser

from mpv.demo import sample_pdf
from mpv.engine import Actor
from mpv.models import Adjunto, Escrito, Evento, Expediente, Oficina, Remitente, Tarea
from mpv.web.app import create_app

SOAK = 10  # the slow variants send this many times the bounded counts
TRACEBACK = ("Traceback", 'File "')
PASSWORD = "contraseña-de-prueba-1"
SPANISH_PAGE = '<html lang="es-PE">'

# Requests of the bounded run, per operation and generation mode (each example sends one request).
API_PLAN = [
    ("POST", "/api/v1/tramites", GenerationMode.POSITIVE, 1700),
    ("POST", "/api/v1/tramites", GenerationMode.NEGATIVE, 1300),
    ("GET", "/api/v1/tramites/{codigo}/seguimiento", GenerationMode.POSITIVE, 1000),
    ("GET", "/api/v1/tramites/{codigo}/seguimiento", GenerationMode.NEGATIVE, 700),
    ("GET", "/api/v1/tipos-documento", GenerationMode.POSITIVE, 350),
    ("GET", "/api/v1/openapi.json", GenerationMode.POSITIVE, 250),
]
API_MINIMUM = 5000

# What the document promises is checked by schemathesis's own checks; "positive data is accepted" is
# not one of the promises: a schema-valid DNI of 3 digits or an unknown document type is refused (422).
CONFIG = schemathesis.Config.from_dict({"checks": {"positive_data_acceptance": {"enabled": False}}})


def fuzz_settings(max_examples: int) -> settings:
    # derandomize: the same examples on every run, so CI is reproducible; no example database either.
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck), print_blob=True)


@pytest.fixture(params=["bounded", pytest.param("soak", marks=pytest.mark.slow)])
def scale(request, soak):
    """1 for the bounded run; SOAK for the long variant, which runs only under --soak."""
    if request.param == "soak" and not soak:
        pytest.skip("long variant: run with --soak (pytest -m slow --soak)")
    return SOAK if request.param == "soak" else 1


@pytest.fixture
def services(settings, clock):
    """The real services, with the public rate limits out of the way: the fuzzer is one busy address."""
    wide = dataclasses.replace(settings, limite_presentaciones=10**6, limite_consultas=10**6, limite_ingresos=10**6)
    services = build_services(wide, clock)
    for name, rol, office in (("mesa", "mesa", "MP"), ("gdur", "oficina", "GDUR"), ("rentas", "oficina", "SGAT"),
                              ("portero", "mesa", "MP")):
        make_user(name, rol, office)
    yield services
    services.close()


@pytest.fixture(autouse=True)
def quiet_pypdf():
    """pypdf logs a warning for each defect of a mutated PDF: thousands of lines, none of them news."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.fixture
def app(services):
    return create_app(services)


class Tally:
    """Requests sent per operation and the statuses they got; printed at the end of the test."""

    def __init__(self, name: str):
        self.name = name
        self.sent = Counter()
        self.statuses = Counter()
        self.started = time.monotonic()

    def add(self, operation: str, status: int):
        self.sent[operation] += 1
        self.statuses[status] += 1

    @property
    def total(self) -> int:
        """Requests the test generated (not the pages and logins it needed to get ready)."""
        return sum(n for operation, n in self.sent.items() if operation != "setup")

    def report(self, capsys, record_property):
        seconds = time.monotonic() - self.started
        record_property("requests", self.total)
        record_property("seconds", round(seconds, 1))
        with capsys.disabled():
            print(f"\n{self.name}: {self.total} requests in {seconds:.1f} s; statuses {dict(sorted(self.statuses.items()))}")
            for operation, count in self.sent.items():
                print(f"    {count:6d}  {operation}")


def no_crash(status: int, text: str, request: str):
    assert status < 500, f"{request}\n→ {status}\n{text[:3000]}"
    for marker in TRACEBACK:
        assert marker not in text, f"{request}\n→ {status} shows a traceback\n{text[:3000]}"


def spanish_refusal(result, request: str):
    """A refused browser form: a 4xx HTML page in Spanish."""
    assert 400 <= result.status_code < 500, f"{request}\n→ {result.status_code}\n{result.text[:2000]}"
    assert result.headers.get("content-type", "").startswith("text/html"), request
    assert SPANISH_PAGE in result.text, f"{request}\n→ {result.status_code} is not the Spanish page"


def files_on_disk(services) -> set:
    return {p.relative_to(services.settings.attachments_dir)
            for p in services.settings.attachments_dir.rglob("*") if p.is_file()}


def filing_rows() -> tuple[int, int, int, int]:
    return Expediente.select().count(), Remitente.select().count(), Adjunto.select().count(), Escrito.select().count()


# -- strategies ------------------------------------------------------------------------------------------------
PDFS = [sample_pdf("Solicitud"), sample_pdf("Anexo", 2), sample_pdf("Plano ñandú", 3)]

ODD_TEXTS = ["\x00", "a\x00b", " ", "\t\r\n", "' OR 1=1 --", "<script>alert(1)</script>", "{{ 7 * 7 }}", "%00",
             "../../etc/passwd", "😀" * 10, "ñandú", "\u202eabc", "\ufeff", "NaN", "-1", "1e309", "9" * 40,
             "2026-000001", "20131312955", "45871236", "%PDF-1.7", "\\", '"', "null", "true", "[]", "{}"]

texts = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn"]), max_size=20),
    st.sampled_from(ODD_TEXTS),
    st.builds(lambda c, n: c * n, st.sampled_from(["a", "ñ", "\x00", "😀", " ", "9"]), st.integers(200, 20_000)),
)


@st.composite
def mutated_pdf(draw) -> bytes:
    """A real PDF with a few bytes overwritten, cut short or padded: food for the PDF checks."""
    data = bytearray(draw(st.sampled_from(PDFS)))
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data) - 1))
        data[at:at + 4] = draw(st.binary(min_size=1, max_size=4))
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]
    return bytes(data)


file_contents = st.one_of(
    st.sampled_from(PDFS),
    st.binary(max_size=2000),
    st.binary(max_size=500).map(lambda b: b"%PDF-1.7\n" + b),
    mutated_pdf(),
    st.just(b""),
)


# -- API ---------------------------------------------------------------------------------------------------------
VALID_FIELDS = dict(FILING)  # as the schema types them: folios is an integer


def _valid_filing(data, operation, generated):
    """Most generated filings break a rule the schema cannot say (a DNI has 8 digits, the document type
    exists): this one is a real filing with real PDFs (or not), keeping 0–2 of the ``generated`` values.
    An explicit case: schemathesis does not judge it positive or negative, only checks its answer."""
    body = dict(VALID_FIELDS)
    names = sorted(k for k in (generated.body or {}) if k not in ("archivo", "anexos"))
    for name in data.draw(st.lists(st.sampled_from(names), max_size=2, unique=True) if names else st.just([])):
        body[name] = generated.body[name]
    body["archivo"] = data.draw(st.sampled_from(PDFS) | file_contents, label="archivo")
    anexos = data.draw(st.lists(st.sampled_from(PDFS) | file_contents, max_size=6), label="anexos")
    if anexos:
        body["anexos"] = anexos
    return operation.Case(body=body, media_type="multipart/form-data")


def test_api_openapi_fuzz(services, app, scale, capsys, record_property):
    """Schemathesis against /api/v1 (the document the app serves): ≥ 5,000 requests, every answer
    conforming; refused filings write nothing; some filings succeed and are followed."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=CONFIG)
    codes = [file_tramite(services).codigo, _advanced(services).codigo]
    tally = Tally("API (schemathesis)")
    for method, path, mode, count in API_PLAN:
        _fuzz_operation(services, schema[path][method], mode, count * scale, codes, tally)
    tally.report(capsys, record_property)
    assert tally.total >= API_MINIMUM * scale
    for method, path, mode, count in API_PLAN:
        assert tally.sent[f"{method} {path} [{mode.value}]"] >= count * scale // 2, tally.sent
    assert tally.statuses[201] >= 20 * scale and tally.statuses[200] >= 100 * scale, tally.statuses


def _fuzz_operation(services, operation, mode, examples, codes, tally):
    """Send ``examples`` generated requests to ``operation``; check each answer."""
    strategy = operation.as_strategy(generation_mode=mode)
    label = f"{operation.method.upper()} {operation.path} [{mode.value}]"
    filing = operation.method.upper() == "POST" and operation.path == "/api/v1/tramites"
    escrito = operation.method.upper() == "POST" and operation.path.endswith("/escritos")

    @fuzz_settings(examples)
    @given(data=st.data())
    def send(data):
        try:
            case = data.draw(strategy, label="case")
        except ValueError as exc:
            # schemathesis 4.32 cannot validate the Binary wrapper of a multipart file inside one of its
            # negative mutations (its fixed issues #3547 and #4268 are the same kind): skip that draw.
            if "Unsupported type: 'Binary'" not in str(exc):
                raise
            reject()
        extra = {}
        if filing and mode is GenerationMode.POSITIVE and data.draw(st.integers(0, 2)):
            case = _valid_filing(data, operation, case)
        elif escrito and data.draw(st.booleans()):
            case = _valid_escrito(data, operation, case, codes)
        elif "{codigo}" in operation.path and mode is GenerationMode.POSITIVE and data.draw(st.booleans()):
            codigo = codes[data.draw(st.integers(0, 10**6)) % len(codes)]  # a real one, maybe in lower case
            case = operation.Case(path_parameters={"codigo": data.draw(st.sampled_from([codigo, codigo.lower()]))})
        elif not filing and not escrito and "{" not in operation.path:
            # Nothing to generate: vary the query string, which the app must ignore.
            extra["params"] = data.draw(st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=20),
                                                        max_size=3), label="query")
        before = (filing_rows(), files_on_disk(services)) if filing or escrito else None
        response = case.call(**extra)
        tally.add(label, response.status_code)
        request = case.as_curl_command()
        no_crash(response.status_code, response.text, request)
        case.validate_response(response)  # status, content type, headers and body as the document declares
        assert response.headers.get("content-type", [""])[0].startswith("application/json"), request
        if response.status_code >= 400:
            body = response.json()
            assert set(body) <= {"error", "campos", "incidente"} and body["error"], request
            assert all(isinstance(v, str) and v for v in body["campos"].values()), request
        if filing or escrito:
            if response.status_code == 201:
                if filing:
                    codes.append(response.json()["codigo"])
            else:
                assert (filing_rows(), files_on_disk(services)) == before, f"{request}\nwrote something"
            assert not list(services.storage.tmp.iterdir()), request

    send()


def _valid_escrito(data, operation, generated, codes):
    """An escrito on a real expediente (or on one that has concluded), with real PDFs or generated bytes, keeping
    the generated ``descripcion`` now and then."""
    body = {"archivo": data.draw(st.sampled_from(PDFS) | file_contents, label="archivo")}
    anexos = data.draw(st.lists(st.sampled_from(PDFS) | file_contents, max_size=6), label="anexos")
    if anexos:
        body["anexos"] = anexos
    # A negative case's body may be any JSON value (a number, a list), not only an object.
    if isinstance(generated.body, dict) and "descripcion" in generated.body and data.draw(st.booleans()):
        body["descripcion"] = generated.body["descripcion"]
    codigo = codes[data.draw(st.integers(0, 10**6)) % len(codes)]
    return operation.Case(path_parameters={"codigo": codigo}, body=body, media_type="multipart/form-data")


def test_api_escritos_fuzz(services, app, scale, capsys, record_property):
    """Schemathesis against POST /api/v1/tramites/{codigo}/escritos: every answer as the document declares, a
    refused escrito writes nothing, some are accepted (and one on a concluded expediente is a 409)."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=CONFIG)
    archivado = file_tramite(services)
    step(services, archivado, Actor.de_usuario(make_user("mesa-escritos", "mesa", "MP")), accion="archivar",
         motivo="Duplicado")
    codes = [file_tramite(services).codigo, _advanced(services).codigo, archivado.codigo]
    tally = Tally("API escritos (schemathesis)")
    path = "/api/v1/tramites/{codigo}/escritos"
    for mode, count in ((GenerationMode.POSITIVE, 300), (GenerationMode.NEGATIVE, 200)):
        _fuzz_operation(services, schema[path]["POST"], mode, count * scale, codes, tally)
    tally.report(capsys, record_property)
    assert tally.statuses[201] >= 10 * scale and tally.statuses[409] >= 10 * scale, tally.statuses


def _advanced(services):
    """An expediente with a long public timeline: observed, corrected, derived, attended."""
    mesa = Actor.de_usuario(make_user("mesa-api", "mesa", "MP"))
    gdur = Actor.de_usuario(make_user("gdur-api", "oficina", "GDUR"))
    expediente = file_tramite(services, asunto="Licencia «especial» <b>negrita</b>")
    step(services, expediente, mesa, accion="observar", observacion="Falta la firma \x01 en la página 2")
    step(services, expediente, Actor.ciudadano(expediente), descripcion="Firmado 😀")
    step(services, expediente, mesa, accion="conforme")
    derivar(services, expediente, mesa, "GDUR", "SGAT", proveido="Interno")
    recibir(services, expediente, gdur)
    step(services, expediente, gdur, accion="atender", respuesta="Listo")
    return expediente


# -- web forms ---------------------------------------------------------------------------------------------------
# Generated posts (or GETs) per test in the bounded run; the requests a test needs to get ready (a page for its
# CSRF token, a login) are counted apart, as "setup".
WEB_PLAN = {"presentar": 700, "login": 150, "derivar": 500, "tarea": 700, "tramites": 900, "seguimiento": 800}
MISSING = object()  # a field the post leaves out

field_names = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
file_names = st.one_of(
    st.sampled_from(["solicitud.pdf", "ANEXO.PDF", "../../etc/passwd.pdf", "con.pdf", "a" * 300 + ".pdf",
                     "sin extension", ".pdf", "ñandú 😀.pdf", "C:\\Users\\ana\\x.pdf", "\x01.pdf"]),
    st.text(st.characters(codec="utf-8", exclude_characters='"\r\n'), min_size=1, max_size=40))


def rarely(strategy):
    """None nine times in ten (the right thing: the page's token, the real expediente), else ``strategy``."""
    # The first choice is the one Hypothesis leans to: keep it the common case.
    return st.sampled_from([False] * 9 + [True]).flatmap(lambda rare: strategy if rare else st.none())


csrf_tokens = rarely(st.one_of(st.just(""), texts))  # None: the page's own token


@st.composite
def form(draw, valid: dict, bad: dict | None = None):
    """(pairs to post, untouched) for a form whose right values are ``valid`` (a value or a list of
    acceptable ones per field); ``bad`` adds known wrong values per field. Up to four fields get odd
    text, several values, a wrong value, or are left out; unknown fields may ride along."""
    names = list(valid)
    spoiled = set(draw(st.lists(st.sampled_from(names), max_size=4, unique=True))) if names else set()
    pairs = []
    for name, right in valid.items():
        value = draw(st.sampled_from(right)) if isinstance(right, list) else right
        if name in spoiled:
            wrong = [texts, st.lists(texts, min_size=2, max_size=3), st.just(MISSING)]
            if bad and name in bad:
                wrong.append(st.sampled_from(bad[name]))
            spoilt = draw(st.one_of(*wrong))
            if spoilt is MISSING or spoilt != value:
                value = spoilt
            else:
                spoiled.discard(name)
        if value is not MISSING:
            pairs.extend((name, v) for v in (value if isinstance(value, list) else [value]))
    extra = draw(st.lists(st.tuples(field_names.filter(lambda n: n not in valid and n != "csrf"), texts), max_size=2))
    # A NUL anywhere spoils a form, even in a field the app does not read (no person types one).
    return draw(st.permutations(pairs + extra)), not spoiled and not any("\x00" in v for _, v in extra)


class Web:
    """A browser over the app that checks every answer (no 5xx, no traceback, refusals in Spanish) and counts it."""

    def __init__(self, app, tally: Tally, username: str | None = None):
        self.browser = Browser(app)
        self.tally = tally
        if username:
            self.browser.login(username)

    def get(self, operation: str, path: str, query: str = ""):
        b = self.browser
        result = b._keep(b.client.simulate_get(path, query_string=query, cookies=b.cookies,
                                               remote_addr=b.remote_addr))
        return self._seen(operation, f"GET {path}?{query}", result)

    def post(self, operation: str, path: str, pairs, files=None, csrf: str | None = None):
        """POST ``pairs`` (and ``files``, multipart); ``csrf`` None sends the page's token, else this one."""
        if csrf is not None:
            pairs = [("csrf", csrf)] + list(pairs)
        result = self.browser.post(path, pairs, files=files, csrf=csrf is None)
        shown = [(k, v if len(str(v)) < 80 else f"{str(v)[:60]}…({len(str(v))} chars)") for k, v in pairs]
        shown_files = [(f, n, len(c)) for f, n, c in files] if files is not None else None
        return self._seen(operation, f"POST {path} {shown} files={shown_files} csrf={csrf!r}", result)

    def _seen(self, operation, request, result):
        self.tally.add(operation, result.status_code)
        is_pdf = "pdf" in result.headers.get("content-type", "")
        no_crash(result.status_code, "" if is_pdf else result.text, request)
        if result.status_code >= 400:
            spanish_refusal(result, request)
        result.request_shown = request
        return result


@st.composite
def uploads(draw, fields: dict[str, int]):
    """Files for the multipart ``fields`` (name → most files that are right): (parts, all right), or
    (None, …) for a post that is not multipart at all. A third of them are real PDFs, within limits."""
    if not draw(st.integers(0, 9)):
        return None, False
    real = draw(st.integers(0, 2)) == 0
    parts, right = [], True
    for name, most in fields.items():
        if real:
            contents = draw(st.lists(st.sampled_from(PDFS), min_size=int(name == "archivo"), max_size=most))
        else:
            contents = draw(st.lists(st.sampled_from(PDFS) | file_contents, max_size=most + 2))
        right &= len(contents) <= most and all(c in PDFS for c in contents)
        parts += [(name, draw(file_names), c) for c in contents]
    return draw(st.permutations(parts)), right


PRESENTAR = {**{k: str(v) for k, v in FILING.items()}, "tipo_documento": ["SOL", "DEN"], "declaracion": "true",
             "numero_documento": "S/N"}
PRESENTAR_BAD = {"tipo_persona": ["juridica", "otra"], "tipo_documento_identidad": ["RUC", "LM"],
                 "numero_documento_identidad": ["4587123", "20131312956"], "email": ["ana-arroba-example"],
                 "folios": ["0", "10001", "tres"], "acepta_notificacion": ["false"], "tipo_documento": ["XYZ"]}


def test_presentar_form_fuzz(services, app, scale, capsys, record_property):
    """The public filing form: odd text, lists, missing fields, random and real PDFs. Refused: a 4xx Spanish
    page, no Expediente row, no file left. Every field and file right: accepted."""
    tally = Tally("web POST /presentar")
    web = Web(app, tally)
    web.get("setup", "/presentar")

    @fuzz_settings(WEB_PLAN["presentar"] * scale)
    @given(fields=form(PRESENTAR, PRESENTAR_BAD), files=uploads({"archivo": 1, "anexos": 5}), csrf=csrf_tokens)
    def post(fields, files, csrf):
        (pairs, untouched), (parts, files_right) = fields, files
        right = untouched and files_right and parts is not None and csrf is None and any(
            name == "archivo" for name, _, _ in parts)
        before = (filing_rows(), files_on_disk(services))
        result = web.post("POST /presentar", "/presentar", pairs, files=parts, csrf=csrf)
        if result.status_code == 303:
            assert result.headers["location"].startswith("/constancia/"), result.request_shown
            assert filing_rows()[0] == before[0][0] + 1, result.request_shown
        else:
            assert not right, f"{result.request_shown}\n→ {result.status_code}: a right filing was refused"
            assert (filing_rows(), files_on_disk(services)) == before, f"{result.request_shown}\nwrote something"
        assert not list(services.storage.tmp.iterdir()), result.request_shown

    post()
    tally.report(capsys, record_property)
    assert tally.statuses[303] >= 10 * scale and tally.statuses[422] >= 100 * scale, tally.statuses


def test_login_form_fuzz(services, app, clock, scale, capsys, record_property):
    """The login form: only the right user and password open a session (and only to a path of this site);
    anything else is a Spanish 4xx."""
    tally = Tally("web POST /login")
    web = Web(app, tally)
    web.get("setup", "/login")
    valid = {"username": ["portero", " portero "], "password": PASSWORD,
             "siguiente": ["/tramites", "//evil.example/x", "https://evil.example/", "/\\evil.example"]}

    @fuzz_settings(WEB_PLAN["login"] * scale)
    @given(fields=form(valid, {"username": ["nadie", "PORTERO", "portero\x00"], "password": [PASSWORD.upper()]}),
           csrf=csrf_tokens)
    def post(fields, csrf):
        pairs, untouched = fields
        clock.advance(minutes=20)  # past the wait a run of failed logins imposes on the account
        result = web.post("POST /login", "/login", pairs, csrf=csrf)
        if result.status_code == 303:
            sent = dict(pairs)  # the form reads the last value of a repeated field
            assert csrf is None and sent["username"].strip() == "portero" and sent["password"] == PASSWORD, \
                result.request_shown
            location = result.headers["location"]
            assert location.startswith("/") and not location.startswith("//") and "\\" not in location, location
            web.browser.cookies.clear()
            web.get("setup", "/login")
        elif untouched and csrf is None:
            assert result.status_code == 429, f"{result.request_shown}\n→ {result.status_code}: right password refused"

    post()
    tally.report(capsys, record_property)
    assert tally.statuses[303] >= 5 * scale and tally.statuses[401] >= 20 * scale, tally.statuses


class Pool:
    """Expedientes waiting at each task the staff forms work on; one more is filed when a post used one up."""

    def __init__(self, services):
        self.services = services
        self.mesa = Actor.de_usuario(make_user("mesa-pool", "mesa", "MP"))
        self.offices = {"GDUR": Actor.de_usuario(make_user("gdur-pool", "oficina", "GDUR")),
                        "SGAT": Actor.de_usuario(make_user("sgat-pool", "oficina", "SGAT"))}

    def pending(self, spec: str, oficina: str | None = None) -> Tarea:
        query = Tarea.select(Tarea).join(Oficina, JOIN.LEFT_OUTER).where(Tarea.spec == spec)
        if oficina:
            query = query.where(Oficina.codigo == oficina)
        return query.order_by(Tarea.id).first() or self._new(spec, oficina)

    def _new(self, spec: str, oficina: str | None) -> Tarea:
        services, exp = self.services, file_tramite(self.services)
        if spec != "recepcion":
            step(services, exp, self.mesa, accion="conforme")
        if spec in ("recibir", "atencion"):
            derivar(services, exp, self.mesa, oficina)
        if spec == "atencion":
            recibir(services, exp, self.offices[oficina])
        return Tarea.get((Tarea.expediente == exp.id) & (Tarea.spec == spec))


def state_of(expediente_id: int):
    """What a refused post must not change: the expediente's version, its task rows and its history."""
    return (Expediente.get_by_id(expediente_id).version,
            sorted(t.task_id for t in Tarea.select().where(Tarea.expediente == expediente_id)),
            Evento.select().where(Evento.expediente == expediente_id).count())


numeros = rarely(st.one_of(st.sampled_from(["2026-999999", "2026-1", "0"]),
                           st.text(st.characters(codec="utf-8", exclude_characters="/?#%"), min_size=1, max_size=20)))
OFFICES = ["GDUR", "SGAT", "GDS", "OAJ"]


def test_derivar_form_fuzz(services, app, scale, capsys, record_property):
    """Mesa de partes' Derivar trámite (review, confirm, correct) on a filing in Recepción or Derivación:
    random offices, lists, plazos and steps; a refused post changes nothing."""
    tally = Tally("web POST /expedientes/{n}/derivar")
    pool = Pool(services)
    web = Web(app, tally, "mesa")
    valid = {"oficina_destino": OFFICES, "proveido": "Evaluar y responder", "prioridad": ["normal", "urgente"],
             "plazo_dias": ["1", "7", "30"], "oficinas_adicionales": OFFICES, "con_copia": OFFICES,
             "paso": ["confirmar", "confirmar", "revisar", "corregir"]}
    bad = {"oficina_destino": ["MP", "NOPE", ""], "oficinas_adicionales": ["MP", "NOPE"], "con_copia": ["MP"],
           "prioridad": ["alta"], "plazo_dias": ["0", "31", "siete", "1.5"], "paso": ["otro"]}

    @fuzz_settings(WEB_PLAN["derivar"] * scale)
    @given(fields=form(valid, bad), spec=st.sampled_from(["recepcion", "derivacion"]), numero=numeros,
           csrf=csrf_tokens)
    def post(fields, spec, numero, csrf):
        pairs, untouched = fields
        exp = pool.pending(spec).expediente
        before = state_of(exp.id)
        result = web.post("POST /expedientes/{n}/derivar", f"/expedientes/{numero or exp.numero}/derivar", pairs,
                          csrf=csrf)
        paso = dict(pairs).get("paso")
        if result.status_code == 303:
            assert numero is None and csrf is None and paso == "confirmar", result.request_shown
            version, _, eventos = state_of(exp.id)
            assert version == before[0] + 1 and eventos > before[2], result.request_shown
        else:
            assert state_of(exp.id) == before, f"{result.request_shown}\nchanged the expediente"
            if untouched and numero is None and csrf is None:
                assert result.status_code == (303 if paso == "confirmar" else 200), \
                    f"{result.request_shown}\n→ {result.status_code}: a right derivation was refused"

    post()
    tally.report(capsys, record_property)
    assert tally.statuses[303] >= 20 * scale and tally.statuses[200] >= 20 * scale, tally.statuses


TASKS = {  # task → (who works it, its right forms, known wrong values, its file fields: most files)
    "recepcion": ("mesa", [{"accion": "conforme"},
                           {"accion": "observar", "observacion": "Falta la firma", "_vista": "observar"},
                           {"accion": "archivar", "motivo": "Presentado por duplicado", "_vista": "archivar"}],
                  {"accion": ["Conforme", "aprobar", ""], "observacion": [" ", "x" * 2001], "motivo": ["\t"]}, {}),
    "recibir": ("gdur", [{}], {}, {}),
    "atencion": ("gdur", [{"accion": "atender", "_vista": "atender", "respuesta": "Licencia otorgada"},
                          {"accion": "derivar", "_vista": "derivar", "oficina": ["SGAT", "GDS", "GDUR"],
                           "proveido": "Corresponde a otra área", "plazo_dias": ["3", "30"]},
                          {"accion": "devolver", "_vista": "devolver", "proveido": "No es de nuestra competencia"}],
                 {"accion": ["responder"], "respuesta": [" ", "r" * 5001], "oficina": ["MP", "XX"],
                  "plazo_dias": ["0", "31", "x"], "proveido": [" "]}, {"archivo_respuesta": 1}),
}


@st.composite
def task_posts(draw):
    """(task, pairs, untouched, files, files right) for one of the task forms."""
    spec = draw(st.sampled_from(sorted(TASKS)))
    _, forms, bad, file_fields = TASKS[spec]
    pairs, untouched = draw(form(draw(st.sampled_from(forms)), bad))
    if file_fields and draw(st.booleans()):
        parts, right = draw(uploads({**file_fields, "otro_archivo": 0}))
        return spec, pairs, untouched, parts, right
    return spec, pairs, untouched, None, True


def test_task_form_fuzz(services, app, scale, capsys, record_property):
    """Task forms (Recepción, Recepción en la oficina, Atención with its PDF) posted by the staff user
    who works them, with random values, files and task ids; a refused post changes nothing."""
    tally = Tally("web POST /expedientes/{n}/tareas/{id}")
    pool = Pool(services)
    webs = {"mesa": Web(app, tally, "mesa"), "gdur": Web(app, tally, "gdur")}
    task_ids = rarely(st.one_of(  # None: the real task
        st.uuids().map(str), st.sampled_from(["x", "0", "00000000-0000-0000-0000-000000000000", "otra-oficina"]),
        st.text(st.characters(codec="utf-8", exclude_characters="/?#%"), min_size=1, max_size=40)))

    @fuzz_settings(WEB_PLAN["tarea"] * scale)
    @given(post=task_posts(), task_id=task_ids, csrf=csrf_tokens)
    def send(post, task_id, csrf):
        spec, pairs, untouched, files, files_right = post
        who = TASKS[spec][0]
        tarea = pool.pending(spec, "GDUR" if who == "gdur" else None)
        if task_id == "otra-oficina":
            task_id = pool.pending("recibir", "SGAT").task_id
        exp = tarea.expediente
        before, disk = state_of(exp.id), files_on_disk(services)
        result = webs[who].post("POST /expedientes/{n}/tareas/{id}",
                                f"/expedientes/{exp.numero}/tareas/{task_id or tarea.task_id}", pairs, files=files,
                                csrf=csrf)
        if result.status_code == 303:
            assert task_id is None and csrf is None, result.request_shown
            version, tasks, _ = state_of(exp.id)
            assert version == before[0] + 1 and tarea.task_id not in tasks, result.request_shown
        else:
            assert (state_of(exp.id), files_on_disk(services)) == (before, disk), \
                f"{result.request_shown}\nchanged the expediente"
            assert not (untouched and files_right and task_id is None and csrf is None), \
                f"{result.request_shown}\n→ {result.status_code}: a right post was refused"
        assert not list(services.storage.tmp.iterdir()), result.request_shown

    send()
    tally.report(capsys, record_property)
    assert tally.statuses[303] >= 50 * scale and tally.statuses[422] >= 50 * scale, tally.statuses


def cursor_texts(real: list[str]):
    """Keyset cursors for /tramites: real ones seen on pages, tampered ones, and forged ones."""
    forged = st.builds(
        lambda key, ident: base64.urlsafe_b64encode(f"{key}|{ident}".encode()).decode().rstrip("="),
        st.one_of(st.sampled_from(["", "x", "2026-03-02T14:30:00+00:00", "0001-01-01T00:00:00", "9999-12-31",
                                   "2026-03-02 14:30:00", "2026-02-30T00:00:00"]), st.datetimes().map(str), texts),
        st.one_of(st.integers(-10, 100), st.integers(), st.sampled_from(["x", "", "1e3", "١٢"]), texts))
    seen = st.integers(0, 10**6).map(lambda i: real[i % len(real)] if real else "")
    tampered = st.tuples(seen, st.integers(0, 40), st.characters(codec="utf-8")).map(
        lambda t: t[0][:t[1]] + t[2] + t[0][t[1] + 1:])
    return st.one_of(seen, tampered, forged, texts)


def test_tramites_search_fuzz(services, app, clock, scale, capsys, record_property):
    """Trámites recibidos with random search text, filters, dates, order and cursors, as mesa de partes and
    as an office: a page (or a Spanish 4xx), never a 5xx."""
    tally = Tally("web GET /tramites")
    pool = Pool(services)
    for i in range(60):
        clock.advance(minutes=37)
        file_tramite(services, asunto=f"Solicitud número {i} ñandú", numero_documento_identidad=f"{45871200 + i}")
    pool.pending("atencion", "GDUR")
    pool.pending("recibir", "SGAT")
    webs = {"mesa": Web(app, tally, "mesa"), "gdur": Web(app, tally, "gdur")}
    cursors: list[str] = []
    dates = st.one_of(st.dates().map(str), st.sampled_from(["2026-03-02", "02/30/2026", "2026-13-01", "9999-12-31",
                                                            "0001-01-01", "2026-03-02T10:00"]), texts)
    values = {"q": st.one_of(texts, st.sampled_from(["2026-5", "2026-000007", "45871203", "ñandu", "número 4",
                                                     "s", "a b c d e f g h i", "\"", "*", "OR", "-x", "a:b"])),
              "estado": st.one_of(texts, st.sampled_from(["Registrado", "Derivado", "En atención", "Atendido"])),
              "desde": dates, "hasta": dates,
              "orden": st.one_of(texts, st.sampled_from(["recientes", "antiguos", "vence"])),
              "plazo": st.one_of(texts, st.sampled_from(["vencido", "por_vencer", "en_plazo"])),
              "ubicacion": st.one_of(texts, st.sampled_from(["mesa", "oficinas", "remitente"])),
              "despues": st.deferred(lambda: cursor_texts(cursors)), "antes": st.deferred(lambda: cursor_texts(cursors))}
    params = st.lists(st.sampled_from(sorted(values)), max_size=5).flatmap(
        lambda names: st.tuples(*[st.tuples(st.just(n), values[n]) for n in names]))

    @fuzz_settings(WEB_PLAN["tramites"] * scale)
    @given(query=params, who=st.sampled_from(["mesa", "mesa", "gdur"]))
    def get(query, who):
        result = webs[who].get("GET /tramites", "/tramites", urlencode(list(query)))
        assert result.status_code == (400 if any("\x00" in v for _, v in query) else 200), result.request_shown
        cursors.extend(re.findall(r"(?:despues|antes)=([A-Za-z0-9_-]+)", result.text))

    get()
    tally.report(capsys, record_property)
    assert cursors


def test_seguimiento_fuzz(services, app, scale, capsys, record_property):
    """The citizen's lookup by code, or by número and document, and the pages behind a code: random and real
    values; a found trámite is a 303 to its page, anything else a page or a Spanish 404."""
    tally = Tally("web GET /seguimiento")
    web = Web(app, tally)
    expedientes = [file_tramite(services), _advanced(services),
                   file_tramite(services, tipo_persona="juridica", tipo_documento_identidad="RUC",
                                numero_documento_identidad="20131312955", razon_social="Loreto S.A.C.",
                                nombres="", apellidos="")]
    reales = st.sampled_from(expedientes)
    lookups = st.fixed_dictionaries({}, optional={
        "codigo": st.one_of(texts, reales.map(lambda e: e.codigo), reales.map(lambda e: e.codigo.lower() + " ")),
        "numero": st.one_of(texts, reales.map(lambda e: e.numero), reales.map(lambda e: e.numero.replace("-00000", "-")),
                            st.sampled_from(["2026-", "2026-1234567", "-1"])),
        "documento": st.one_of(texts, reales.map(lambda e: e.remitente_documento),
                               reales.map(lambda e: e.remitente_documento.lower()))})
    codes = st.one_of(reales.map(lambda e: e.codigo), reales.map(lambda e: e.codigo.lower()), texts.filter(bool))
    pages = st.one_of(
        st.tuples(st.just("/seguimiento"), lookups.map(lambda d: urlencode(d))),
        st.tuples(codes.map(lambda c: f"/seguimiento/{quote(c, safe='')}"), st.just("")),
        st.tuples(codes.map(lambda c: f"/seguimiento/{quote(c, safe='')}/subsanar"), st.just("")),
        st.tuples(codes.map(lambda c: f"/constancia/{quote(c, safe='')}"), st.just("")))

    @fuzz_settings(WEB_PLAN["seguimiento"] * scale)
    @given(page=pages)
    def get(page):
        path, query = page
        result = web.get("GET " + re.sub(r"/(seguimiento|constancia)/[^/]+", r"/\1/{codigo}", path), path, query)
        if result.status_code == 303:
            assert result.headers["location"].startswith("/seguimiento/"), result.request_shown
        else:
            assert result.status_code in (200, 400, 404, 409), result.request_shown
            assert (result.status_code == 400) == ("%00" in query), result.request_shown

    get()
    tally.report(capsys, record_property)
    assert tally.statuses[303] >= 20 * scale and tally.statuses[200] >= 10 * scale, tally.statuses


def test_auditor_and_analyst_reads_fuzz(services, app, clock, scale, capsys, record_property):
    """The auditor's lists, histories and CSVs, the analytics and the definition pages with random filters,
    cursors and ids: a page or a CSV (or a Spanish 4xx), never a 5xx; a NUL in the query is a 400."""
    tally = Tally("web GET auditoría/analítica/definiciones")
    make_user("auditor", "auditor")
    make_user("analista", "analista")
    pool = Pool(services)
    for i in range(12):
        clock.advance(hours=5)
        file_tramite(services, asunto=f"Consulta {i}")
    pool.pending("atencion", "GDUR")
    numeros = [n for (n,) in Expediente.select(Expediente.numero).tuples()]
    webs = {"auditor": Web(app, tally, "auditor"), "analista": Web(app, tally, "analista")}
    cursors: list[str] = []
    dates = st.one_of(st.dates().map(str), st.sampled_from(["2026-03-02", "2026-02-30", "9999-12-31", "0001-01-01"]),
                      texts)
    ids = st.one_of(st.integers(-5, 10**12).map(str), st.sampled_from(["1", "x", "١", "1e9", ""]), texts)
    values = {"desde": dates, "hasta": dates, "estado": st.one_of(texts, st.sampled_from(["Atendido", "En atención"])),
              "oficina": st.one_of(ids, st.sampled_from(["GDUR", "MP", "ciudadano"])), "tipo_documento": ids,
              "tipo": st.one_of(ids, st.sampled_from(["tarea", "acceso", "definicion", "migracion"])),
              "remitente": texts, "usuario": texts, "ip": texts,
              "expediente": st.one_of(texts, st.sampled_from(numeros)), "orden": texts,
              "verificar": st.sampled_from(["1", "si", ""]),
              "despues": st.deferred(lambda: cursor_texts(cursors)), "antes": st.deferred(lambda: cursor_texts(cursors))}
    params = st.lists(st.sampled_from(sorted(values)), max_size=5).flatmap(
        lambda names: st.tuples(*[st.tuples(st.just(n), values[n]) for n in names]))
    paths = st.one_of(
        st.sampled_from(["/auditoria", "/auditoria/expedientes", "/auditoria/expedientes/csv", "/auditoria/eventos",
                         "/auditoria/eventos/csv", "/analitica", "/analitica/tareas.csv", "/analitica/por-dia.csv",
                         "/definiciones", "/definiciones/1"]),
        st.one_of(st.sampled_from(numeros), st.text("0123456789-", max_size=14))
        .flatmap(lambda n: st.sampled_from([f"/auditoria/expedientes/{n}", f"/auditoria/expedientes/{n}/csv"])),
        st.integers(-3, 10**10).map(lambda i: f"/definiciones/{i}"))

    @fuzz_settings(300 * scale)
    @given(path=paths, query=params, who=st.sampled_from(["auditor", "analista"]))
    def get(path, query, who):
        result = webs[who].get(f"GET {path.split('/')[1]}", quote(path), urlencode(list(query)))
        if any("\x00" in v for _, v in query):
            assert result.status_code == 400, result.request_shown
        else:
            assert result.status_code in (200, 303, 403, 404), result.request_shown
        cursors.extend(re.findall(r"(?:despues|antes)=([A-Za-z0-9_-]+)", result.text))

    get()
    tally.report(capsys, record_property)
    assert tally.statuses[200] >= 50 * scale, tally.statuses  # real pages and CSVs, not only refusals
