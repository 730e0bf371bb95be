"""F5 — the process against a model of it: a Hypothesis state machine files trámites and has random users
(every role and office, the right citizen or another one) try random actions with random (sometimes
invalid) form data, through the engine and sometimes through the web app, while the clock moves and
timers fire.

A small pure-Python model of workflows/tramite.bpmn says what each expediente waits for and who may
do it: Recepción (mesa de partes: conforme, observar, archivar) → Subsanación (the citizen, within 2
business days, else No presentado) → Derivación (mesa de partes, to one or several offices) → per
office Recepción en la oficina, then Atención (atender, derivar a otra oficina, devolver, archivar); mesa de
partes may anular a derivación while an office has not received it.

Checked: an action the model allows succeeds, any other is refused with NotAllowed, Conflict, NotFound
or InvalidInput (a 4xx over HTTP) and changes nothing; after every step the Tarea projection is the
model's ready tasks, the Evento rows of the actions equal the successful actions, the hash chain
verifies and a finished expediente waits for nothing.

The bounded run is part of `make test`; the variant marked slow runs longer under --soak.
"""
from __future__ import annotations

import contextlib
import dataclasses
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from falcon import testing
from helpers import FILING, FakeClock, base_moment, build_services, file_tramite, fresh_database, make_user
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from peewee import JOIN, fn
from webclient import Browser, multipart

from mpv import history
from mpv.config import Settings
from mpv.demo import OFICINAS, sample_pdf
from mpv.engine import Actor
from mpv.errors import Conflict, InvalidInput, NotAllowed, NotFound
from mpv.models import Copia, Evento, Expediente, Oficina, Sesion, Tarea
from mpv.web.app import create_app

BOUNDED = {"max_examples": 30, "stateful_step_count": 80}
SOAK = {"max_examples": 150, "stateful_step_count": 150}
PASSWORD = "contraseña-de-prueba-1"
REFUSALS = (NotAllowed, Conflict, NotFound, InvalidInput)
ACTIONS = ("tarea", "inicio", "accion")  # the Evento rows of what people do (the engine's own are not counted)
FINISHED = ("Atendido", "Archivado", "No presentado")
ESTADOS = {"recepcion": "Registrado", "subsanacion": "Observado", "derivacion": "Recibido"}  # the others: the stage

# Offices a derivation may name (the catalogue: every active office but mesa de partes); GDUR and SGAT have
# staff here, GDS has nobody (its tasks wait until mesa de partes withdraws them).
CATALOG = {code for code, _, mesa in OFICINAS if not mesa}
TARGETS = ["GDUR", "SGAT", "GDS"]
STAFF = {"mesa": ("mesa", "MP"), "gdur": ("oficina", "GDUR"), "rentas": ("oficina", "SGAT"),
         "auditor": ("auditor", None), "analista": ("analista", None), "admin": ("admin", None)}
OFFICE_USER = {"GDUR": "gdur", "SGAT": "rentas"}


class _Missing:
    def __repr__(self):
        return "<falta>"


MISSING = _Missing()  # a form field left out


# -- the model -------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Branch:
    """One office's instance of a derivation: it waits to be received, then attended; or it is done."""

    office: str
    step: str = "recibir"  # recibir | atencion | done
    result: str = ""


@dataclasses.dataclass
class Model:
    """What tramite.bpmn allows for one expediente."""

    id: int
    numero: str
    codigo: str
    stage: str = "recepcion"  # recepcion | subsanacion | derivacion | oficinas | Atendido | Archivado | No presentado
    due: object = None  # when the subsanación runs out
    branches: list = dataclasses.field(default_factory=list)
    actions: int = 1  # Evento rows of kinds ACTIONS: the filing is the first
    copias: int = 0

    @property
    def finished(self) -> bool:
        return self.stage in FINISHED

    def ready(self) -> Counter:
        """The ready user tasks as (task, office): mesa de partes' are MP's, the citizen's no office's."""
        if self.stage in ("recepcion", "derivacion"):
            return Counter({(self.stage, "MP"): 1})
        if self.stage == "subsanacion":
            return Counter({("subsanacion", None): 1})
        return Counter((b.step, b.office) for b in self.branches if b.step != "done")

    def resolve(self):
        """When every office is done: all withdrawn → Derivación again; one returned it → Recepción;
        one archived it and none attended it → Archivado; else Atendido."""
        if any(b.step != "done" for b in self.branches):
            return
        results = [b.result for b in self.branches]
        self.branches = []
        if all(r == "anulado" for r in results):
            self.stage = "derivacion"
        elif "devolver" in results:
            self.stage = "recepcion"
        elif "archivar" in results and "atender" not in results:
            self.stage = "Archivado"
        else:
            self.stage = "Atendido"


def _text(value, limit: int) -> bool:
    """A text field as the form accepts it: left out or blank (both dropped), or text within ``limit``."""
    if value is MISSING:
        return True
    return isinstance(value, str) and "\x00" not in value and len(value.strip()) <= limit


def _present(value) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _choice(value, options) -> bool:
    return isinstance(value, str) and value.strip() in options


def _plazo(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 30


def _offices(value) -> bool:
    return value is MISSING or value == [] or (
        isinstance(value, list) and len(set(value)) == len(value) and all(v in CATALOG for v in value))


def valid(spec: str, data: dict) -> bool:
    """Whether ``data`` fills the form of task ``spec`` (workflows/*.schema.json) correctly."""
    get = lambda name: data.get(name, MISSING)  # noqa: E731
    if spec == "recepcion":
        accion = get("accion")
        return (_choice(accion, ("conforme", "observar", "archivar")) and _text(get("observacion"), 2000)
                and _text(get("motivo"), 2000)
                and (accion.strip() != "observar" or _present(get("observacion")))
                and (accion.strip() != "archivar" or _present(get("motivo"))))
    if spec == "subsanacion":
        return _present(get("descripcion")) and _text(get("descripcion"), 2000)
    if spec == "derivacion":
        return (_choice(get("oficina_destino"), CATALOG) and _offices(get("oficinas_adicionales"))
                and _offices(get("con_copia")) and _choice(get("prioridad"), ("normal", "urgente"))
                and _plazo(get("plazo_dias")) and _text(get("proveido"), 2000))
    if spec == "recibir":
        return True
    if spec == "atencion":
        accion, oficina = get("accion"), get("oficina")
        return (_choice(accion, ("atender", "derivar", "devolver", "archivar")) and _text(get("respuesta"), 5000)
                and _text(get("motivo"), 2000) and (accion.strip() != "archivar" or _present(get("motivo")))
                and _text(get("proveido"), 2000) and (not _present(oficina) or _choice(oficina, CATALOG))
                and (get("plazo_dias") is MISSING or _plazo(get("plazo_dias")))
                and (accion.strip() != "atender" or _present(get("respuesta")))
                and (accion.strip() != "derivar" or _present(oficina))
                and (accion.strip() != "devolver" or _present(get("proveido"))))
    raise AssertionError(spec)


def over_http(data: dict, integers=("plazo_dias",)) -> dict:
    """``data`` as a browser form carries it (text), read back the way the task pages read it."""
    read = {}
    for name, value in data.items():
        if value is MISSING:
            continue
        if isinstance(value, list):
            read[name] = [str(v) for v in value]
            continue
        text = str(value).strip()
        if name in integers:
            try:
                text = int(text)
            except ValueError:
                pass
        read[name] = text
    return {k: v for k, v in read.items() if v not in ("", [])}


def has_nul(data: dict) -> bool:
    return any("\x00" in value for _, value in form_pairs(data))


def form_pairs(data: dict) -> list:
    pairs = []
    for name, value in data.items():
        if value is not MISSING:
            pairs.extend((name, str(v)) for v in (value if isinstance(value, list) else [value]))
    return pairs


# -- form data: right values, wrong ones, or none ------------------------------------------------------------------
TEXTS = ["Falta la copia del DNI", "  con espacios  ", "ñandú 😀", "   ", "", "x" * 2001, "a\x00b", MISSING]
OFFICE_LISTS = [MISSING, [], ["SGAT"], ["GDUR", "SGAT"], ["GDS"], ["SGAT", "SGAT"], ["MP"], ["NOPE"]]
FIELDS = {
    "recepcion": {"accion": ["conforme", "observar", "archivar", " observar ", "Conforme", "", MISSING],
                  "observacion": TEXTS + [12], "motivo": TEXTS},
    "subsanacion": {"descripcion": TEXTS + [7]},
    "derivacion": {"oficina_destino": TARGETS + ["MP", "NOPE", " GDUR ", MISSING], "oficinas_adicionales": OFFICE_LISTS,
                   "con_copia": OFFICE_LISTS, "prioridad": ["normal", "urgente", "alta", MISSING],
                   "plazo_dias": [7, 1, 30, 0, 31, "7", 7.5, MISSING], "proveido": TEXTS},
    "recibir": {"nota": ["x", MISSING]},
    "atencion": {"accion": ["atender", "derivar", "devolver", "archivar", "responder", MISSING], "motivo": TEXTS,
                 "respuesta": ["Licencia otorgada"] + TEXTS, "oficina": TARGETS + ["MP", "GDUR", MISSING],
                 "proveido": ["No es de nuestra competencia"] + TEXTS, "plazo_dias": [MISSING, 5, 0, "x"]},
}
RIGHT = {  # right forms, for the examples that should mostly succeed
    "recepcion": [{"accion": "conforme"}, {"accion": "observar", "observacion": "Falta la firma"},
                  {"accion": "archivar", "motivo": "Duplicado"}],
    "subsanacion": [{"descripcion": "Adjunto el documento firmado"}],
    "derivacion": [{"oficina_destino": "GDUR", "prioridad": "normal", "plazo_dias": 7},
                   {"oficina_destino": "SGAT", "oficinas_adicionales": ["GDUR"], "con_copia": ["OAJ"],
                    "prioridad": "urgente", "plazo_dias": 3, "proveido": "Informe de cada área"},
                   {"oficina_destino": "GDUR", "oficinas_adicionales": ["GDS"], "prioridad": "normal", "plazo_dias": 2}],
    "recibir": [{}],
    "atencion": [{"accion": "atender", "respuesta": "Licencia otorgada"},
                 {"accion": "derivar", "oficina": "SGAT", "proveido": "Corresponde a rentas", "plazo_dias": 5},
                 {"accion": "derivar", "oficina": "GDUR"}, {"accion": "devolver", "proveido": "No corresponde"},
                 {"accion": "archivar", "motivo": "El solicitante desistió"}],
}


@st.composite
def form_data(draw, spec: str) -> dict:
    if draw(st.sampled_from([True, True, False])):
        return dict(draw(st.sampled_from(RIGHT[spec])))
    return {name: draw(st.sampled_from(values)) for name, values in FIELDS[spec].items()}


# -- the world the machine runs in -----------------------------------------------------------------------------------
class World:
    """Real services on a fresh database (a SQLite file, or a PostgreSQL schema), staff of every role, the app."""

    def __init__(self, backend: str):
        self.tmp = Path(tempfile.mkdtemp(prefix="mpv-model-"))
        self._database = contextlib.ExitStack()
        url = self._database.enter_context(fresh_database(backend, self.tmp))
        self.clock = FakeClock(base_moment(9, 30))
        settings = Settings(data_dir=self.tmp / "data", database_url=url, limite_ingresos=10**6,
                            limite_consultas=10**6, limite_presentaciones=10**6)
        self.services = build_services(settings, self.clock)
        self.staff = {name: Actor.de_usuario(make_user(name, rol, office)) for name, (rol, office) in STAFF.items()}
        self.app = create_app(self.services)
        self.api = testing.TestClient(self.app)
        self.browsers: dict[str, Browser] = {}

    def browser(self, name: str | None) -> Browser:
        """The browser of staff ``name``, signed in; None: the citizens' (an anonymous one with its CSRF cookie)."""
        key = name or "ciudadano"
        if key not in self.browsers:
            b = self.browsers[key] = Browser(self.app)
            if name:
                b.login(name, PASSWORD)
            else:
                b.get("/presentar")
        return self.browsers[key]

    def advance(self, delta: timedelta):
        """Time passes while the staff keep working: their sessions stay open (expiry is test_security's),
        which spares a login, an argon2 check, per page after each move of the clock."""
        self.clock.advance(seconds=delta.total_seconds())
        with self.services.db.write():
            Sesion.update(ultimo_uso=self.clock(), creada=self.clock()).execute()

    def close(self):
        self.services.close()
        self._database.close()


def snapshot(expediente_id: int):
    """What a refused action must leave as it was."""
    row = Expediente.get_by_id(expediente_id)
    return (row.version, row.estado_motor, row.estado,
            sorted((t.task_id, t.spec) for t in Tarea.select().where(Tarea.expediente == expediente_id)),
            Evento.select().where(Evento.expediente == expediente_id).count(),
            Copia.select().where(Copia.expediente == expediente_id).count())


class Outcome:
    OK, REFUSED, EXPIRED = "ok", "refused", "expired"


class TramiteMachine(RuleBasedStateMachine):
    """Random people try random steps; the model says what must happen."""

    backend = "sqlite"
    stats: Counter = Counter()

    def __init__(self):
        super().__init__()
        self.world = World(self.backend)
        self.models: list[Model] = []
        self.stale: list[str] = []  # task ids that were ready once
        self.total_actions = 0

    def teardown(self):
        self.world.close()

    # -- helpers ---------------------------------------------------------------------------------
    @property
    def services(self):
        return self.world.services

    def tareas(self, model: Model) -> list[Tarea]:
        return list(Tarea.select().where(Tarea.expediente == model.id).order_by(Tarea.id))

    def is_due(self, model: Model) -> bool:
        return model.stage == "subsanacion" and self.world.clock() >= model.due

    def expire(self, model: Model):
        """The subsanación timer fired: No presentado."""
        model.stage, model.due = "No presentado", None

    def actor(self, name: str, model: Model) -> Actor:
        if name in STAFF:
            return self.world.staff[name]
        mine = Actor.ciudadano(Expediente.get_by_id(model.id))
        if name == "ciudadano":
            return mine
        others = [m for m in self.models if m.id != model.id]  # the citizen of another expediente
        return Actor.ciudadano(Expediente.get_by_id(others[0].id)) if others else \
            dataclasses.replace(mine, expediente_id=-1)

    def choose(self, data, wanted=lambda model: True) -> Model:
        """An expediente: usually an open one (``wanted`` ones first), now and then any."""
        for pool in ([m for m in self.models if not m.finished and wanted(m)],
                     [m for m in self.models if not m.finished]):
            if pool and data.draw(st.sampled_from([True, True, True, False]), label="an open one"):
                return data.draw(st.sampled_from(pool), label="expediente")
        return data.draw(st.sampled_from(self.models), label="expediente")

    @staticmethod
    def may(actor: Actor, spec: str, office: str | None, model: Model) -> bool:
        """Whether ``actor`` works task ``spec`` of ``model`` (held by ``office``)."""
        if spec in ("recepcion", "derivacion"):
            return actor.rol == "mesa"
        if spec == "subsanacion":
            return actor.rol == "ciudadano" and actor.expediente_id == model.id
        return actor.rol == "oficina" and actor.oficina == office

    def apply(self, model: Model, spec: str, office: str | None, data: dict):
        """Advance the model by a successful step on task ``spec`` (of the branch at ``office``)."""
        get = lambda name: data.get(name, MISSING)  # noqa: E731
        model.actions += 1
        if spec == "recepcion":
            accion = get("accion").strip()
            if accion == "conforme":
                model.stage = "derivacion"
            elif accion == "observar":
                model.stage = "subsanacion"
                cal = self.services.calendario
                model.due = cal.vencimiento(cal.fecha_local(self.world.clock()), 2)
            else:
                model.stage = "Archivado"
        elif spec == "subsanacion":
            model.stage, model.due = "recepcion", None
        elif spec == "derivacion":
            destino = get("oficina_destino").strip()
            adicionales = [o for o in (get("oficinas_adicionales") or []) if o != destino] \
                if isinstance(get("oficinas_adicionales"), list) else []
            model.stage = "oficinas"
            model.branches = [Branch(o) for o in [destino] + adicionales]
            copias = get("con_copia")
            model.copias += len(copias) if isinstance(copias, list) else 0
        else:
            branch = next(b for b in model.branches if b.step == spec and b.office == office)
            if spec == "recibir":
                branch.step = "atencion"
            else:
                accion = get("accion").strip()
                if accion == "derivar":
                    branch.office, branch.step = get("oficina").strip(), "recibir"
                else:
                    branch.step, branch.result = "done", accion
            model.resolve()

    def pick(self, data, model: Model):
        """A task id to act on, and what the model knows of it: ("ready", spec, office), or a kind of wrong id."""
        tareas = self.tareas(model)
        kinds = ["ready"] * 12 + ["stale", "foreign", "random", "garbage"]
        kind = data.draw(st.sampled_from(kinds), label="task id")
        if kind == "ready" and tareas:
            tarea = data.draw(st.sampled_from(tareas), label="task")
            return tarea.task_id, ("ready", tarea.spec, tarea.oficina.codigo if tarea.oficina_id else None)
        if kind == "stale" and self.stale:
            return data.draw(st.sampled_from(self.stale), label="stale task"), ("stale",)
        if kind == "foreign":
            others = [t for m in self.models if m.id != model.id for t in self.tareas(m)]
            if others:
                return data.draw(st.sampled_from(others), label="foreign task").task_id, ("foreign",)
        if kind == "garbage":
            return data.draw(st.sampled_from(["x", "", "1; DROP TABLE tarea", "ñ"]), label="garbage id"), ("garbage",)
        return str(data.draw(st.uuids(), label="unknown task id")), ("random",)

    def who(self, data, spec: str | None, office: str | None) -> str:
        """Usually the person who works the task; else anybody."""
        right = {"recepcion": "mesa", "derivacion": "mesa", "subsanacion": "ciudadano"}.get(spec) or \
            OFFICE_USER.get(office or "")
        names = list(STAFF) + ["ciudadano", "otro_ciudadano"]
        if right and data.draw(st.sampled_from([True, True, True, False]), label="the right person"):
            return right
        return data.draw(st.sampled_from(names), label="person")

    def expect(self, model: Model, target, actor: Actor, data: dict, http: bool = False):
        """(outcome, refusal) the model predicts for completing ``target`` with ``data``: through the
        engine, or through a task page (which authorizes before the engine fires due timers)."""
        kind = target[0]
        if kind == "garbage":
            return Outcome.REFUSED, NotFound
        if kind != "ready":
            return Outcome.REFUSED, Conflict
        _, spec, office = target
        allowed = self.may(actor, spec, office, model)
        if http and not allowed:
            return Outcome.REFUSED, NotAllowed
        if self.is_due(model):
            return Outcome.EXPIRED, Conflict  # the due timer fires first: the task is gone
        if not allowed:
            return Outcome.REFUSED, NotAllowed
        form = over_http(data) if http else {k: v for k, v in data.items() if v is not MISSING}
        if not valid(spec, form):
            return Outcome.REFUSED, InvalidInput
        return Outcome.OK, None

    def check(self, model, before, outcome, refusal, error, what, way):
        """Compare what happened with what the model expected (``way``: how the action was tried)."""
        self.stats[outcome] += 1
        self.stats[f"{way} {outcome}"] += 1
        if outcome == Outcome.OK:
            assert error is None, f"{what}: the model allows it, the app refused: {error!r}"
        else:
            assert error is not None, f"{what}: the model refuses it ({refusal.__name__}), the app did it"
            if refusal is not None and not isinstance(error, int):
                assert isinstance(error, refusal), f"{what}: expected {refusal.__name__}, got {error!r}"
            if outcome == Outcome.REFUSED:
                assert snapshot(model.id) == before, f"{what}: refused, and still changed the expediente"

    def remember(self, model: Model, before_ids: set):
        now = {t.task_id for t in self.tareas(model)}
        self.stale.extend(before_ids - now)

    # -- rules -----------------------------------------------------------------------------------
    @precondition(lambda self: len(self.models) < 12 and sum(not m.finished for m in self.models) < 4)
    @rule(data=st.data())
    def presentar(self, data):
        """A citizen files a trámite (through the engine or the JSON API); sometimes with a wrong DNI."""
        right = data.draw(st.sampled_from([True, True, True, False]), label="right filing")
        fields = dict(FILING) if right else {**FILING, "numero_documento_identidad": "123"}
        before = Expediente.select().count()
        if data.draw(st.booleans(), label="through the API"):
            body, ctype = multipart([(k, str(v)) for k, v in fields.items()],
                                    [("archivo", "solicitud.pdf", sample_pdf("Solicitud"))])
            result = self.world.api.simulate_post("/api/v1/tramites", body=body, headers={"Content-Type": ctype})
            assert result.status_code == (201 if right else 422), result.text
            codigo = result.json["codigo"] if right else None
        else:
            try:
                codigo = file_tramite(self.services, **fields).codigo
                assert right, "a filing with a wrong DNI was accepted"
            except InvalidInput:
                assert not right
                codigo = None
        assert Expediente.select().count() == before + (1 if right else 0)
        if codigo:
            row = Expediente.get(Expediente.codigo == codigo)
            self.models.append(Model(row.id, row.numero, row.codigo))
            self.total_actions += 1

    @precondition(lambda self: self.models)
    @rule(data=st.data())
    def completar(self, data):
        """Somebody completes a task (or tries to) through the engine."""
        model = self.choose(data)
        task_id, target = self.pick(data, model)
        spec = target[1] if target[0] == "ready" else data.draw(st.sampled_from(sorted(FIELDS)), label="form")
        name = self.who(data, spec, target[2] if target[0] == "ready" else None)
        self.attempt(model, task_id, target, name, data.draw(form_data(spec), label="data"))

    def attempt(self, model: Model, task_id: str, target, name: str, form: dict):
        actor = self.actor(name, model)
        outcome, refusal = self.expect(model, target, actor, form)
        before, ids = snapshot(model.id), {t.task_id for t in self.tareas(model)}
        error = None
        try:
            self.services.engine.complete(model.id, task_id, actor,
                                          {k: v for k, v in form.items() if v is not MISSING})
        except REFUSALS as exc:
            error = exc
        self.check(model, before, outcome, refusal, error, f"{name} completes {target} with {form}", "engine")
        if outcome == Outcome.OK:
            self.step_done(model, target[1], target[2], form)
        elif outcome == Outcome.EXPIRED:
            self.expire(model)
        self.remember(model, ids)

    @precondition(lambda self: any(m.stage == "recepcion" for m in self.models))
    @rule(data=st.data())
    def conforme_y_derivar(self, data):
        """Mesa de partes records Recepción and Derivación in one step (complete_chain)."""
        model = data.draw(st.sampled_from([m for m in self.models if m.stage == "recepcion"]), label="expediente")
        tarea = self.tareas(model)[0]
        name = self.who(data, "recepcion", None)
        actor = self.actor(name, model)
        first = data.draw(st.sampled_from([{"accion": "conforme"}, {"accion": "conforme"},
                                           {"accion": "observar", "observacion": "x"}, {"accion": "bueno"}]),
                          label="recepción")
        second = data.draw(form_data("derivacion"), label="derivación")
        second_clean = {k: v for k, v in second.items() if v is not MISSING}
        if actor.rol != "mesa":
            outcome, refusal = Outcome.REFUSED, NotAllowed
        elif not valid("recepcion", first):
            outcome, refusal = Outcome.REFUSED, InvalidInput
        elif first["accion"] != "conforme":
            outcome, refusal = Outcome.REFUSED, Conflict  # the process never reaches Derivación
        elif not valid("derivacion", second):
            outcome, refusal = Outcome.REFUSED, InvalidInput
        else:
            outcome, refusal = Outcome.OK, None
        before, ids = snapshot(model.id), {t.task_id for t in self.tareas(model)}
        error = None
        try:
            self.services.engine.complete_chain(model.id, actor, [(tarea.task_id, first), ("derivacion", second_clean)])
        except REFUSALS as exc:
            error = exc
        self.check(model, before, outcome, refusal, error, f"{name} chains {first} + {second}", "chain")
        if outcome == Outcome.OK:
            self.step_done(model, "recepcion", "MP", first)
            self.step_done(model, "derivacion", "MP", second)
        self.remember(model, ids)

    @precondition(lambda self: any(m.stage == "oficinas" for m in self.models))
    @rule(data=st.data())
    def anular(self, data):
        """Somebody withdraws a derivation (the «Anular derivación» event), or tries to."""
        model = self.choose(data, lambda m: any(b.step == "recibir" for b in m.branches))
        waiting = any(b.step == "recibir" for b in model.branches) if model.stage == "oficinas" else False
        name = data.draw(st.sampled_from(["mesa", "mesa", "mesa", "gdur", "auditor", "admin", "ciudadano"]),
                         label="person")
        actor = self.actor(name, model)
        event = data.draw(st.sampled_from(["anulacion"] * 5 + ["otro_evento"]), label="event")
        if event != "anulacion":
            outcome, refusal = Outcome.REFUSED, NotFound
        elif actor.rol != "mesa":
            outcome, refusal = Outcome.REFUSED, NotAllowed
        elif not waiting:
            outcome, refusal = Outcome.REFUSED, Conflict
        else:
            outcome, refusal = Outcome.OK, None
        before, ids = snapshot(model.id), {t.task_id for t in self.tareas(model)}
        error = None
        try:
            self.services.engine.send_event(model.id, event, actor)
        except REFUSALS as exc:
            error = exc
        self.check(model, before, outcome, refusal, error, f"{name} sends {event} to {model.stage}", "event")
        if outcome == Outcome.OK:
            self.withdraw(model)
        self.remember(model, ids)

    @precondition(lambda self: self.models)
    @rule(data=st.data())
    def por_la_web(self, data):
        """The same steps through the web app: a task page, Derivar trámite, Anular derivación, or the
        citizen's subsanación page. Success is a 303; a refusal a 4xx that changes nothing."""
        pages = {"tarea": lambda m: not m.finished, "derivar": lambda m: m.stage in ("recepcion", "derivacion"),
                 "anular": lambda m: any(b.step == "recibir" for b in m.branches),
                 "subsanar": lambda m: m.stage == "subsanacion"}
        open_pages = [p for p, fits in pages.items() if any(fits(m) for m in self.models)]
        route = data.draw(st.sampled_from(open_pages + ["tarea"]), label="page")
        model = self.choose(data, pages[route])
        before, ids = snapshot(model.id), {t.task_id for t in self.tareas(model)}
        outcome, result, done = getattr(self, f"_web_{route}")(data, model)
        status, location = result.status_code, result.headers.get("location", "")
        what = f"web {route} on {model.numero} ({model.stage}) → {status} {location}"
        assert not location.startswith("/login"), f"{what}: the session ran out"
        assert status == 303 or 400 <= status < 500, f"{what}\n{result.text[:2000]}"
        assert "Traceback" not in result.text, what
        self.check(model, before, outcome, None, None if status == 303 else status, what, f"web-{route}")
        if outcome == Outcome.OK:
            done()
        elif outcome == Outcome.EXPIRED:
            self.expire(model)
        self.remember(model, ids)

    def _web_tarea(self, data, model):
        task_id, target = self.pick(data, model)
        ready = target[0] == "ready"
        spec = target[1] if ready else data.draw(st.sampled_from(sorted(FIELDS)), label="form")
        name = self.who(data, spec, target[2] if ready else None)
        name = name if name in STAFF else "mesa"  # citizens have no task pages
        form = data.draw(form_data(spec), label="data")
        outcome, _ = self.expect(model, target, self.world.staff[name], form, http=True)
        result = self.world.browser(name).post(f"/expedientes/{model.numero}/tareas/{task_id}", form_pairs(form))
        return outcome, result, lambda: self.step_done(model, target[1], target[2], over_http(form))

    def _web_derivar(self, data, model):
        name = data.draw(st.sampled_from(["mesa", "mesa", "mesa", "gdur", "auditor"]), label="person")
        form = data.draw(form_data("derivacion"), label="data")
        ok = name == "mesa" and model.stage in ("recepcion", "derivacion") and valid("derivacion", over_http(form))
        result = self.world.browser(name).post(f"/expedientes/{model.numero}/derivar",
                                               form_pairs(form) + [("paso", "confirmar")])

        def done():  # on a filing still in Recepción, the page records the recepción (conforme) too
            if model.stage == "recepcion":
                self.step_done(model, "recepcion", "MP", {"accion": "conforme"})
            self.step_done(model, "derivacion", "MP", over_http(form))
        return (Outcome.OK if ok else Outcome.REFUSED), result, done

    def _web_anular(self, data, model):
        name = data.draw(st.sampled_from(["mesa", "mesa", "gdur"]), label="person")
        ok = name == "mesa" and any(b.step == "recibir" for b in model.branches)
        result = self.world.browser(name).post(f"/expedientes/{model.numero}/eventos/anulacion", [])
        return (Outcome.OK if ok else Outcome.REFUSED), result, lambda: self.withdraw(model)

    def _web_subsanar(self, data, model):
        form = data.draw(form_data("subsanacion"), label="data")
        if model.stage != "subsanacion" or has_nul(form):  # a NUL is refused as the form is read
            outcome = Outcome.REFUSED
        elif self.is_due(model):
            outcome = Outcome.EXPIRED
        else:
            outcome = Outcome.OK if valid("subsanacion", over_http(form)) else Outcome.REFUSED
        result = self.world.browser(None).post(f"/seguimiento/{model.codigo}/subsanar", form_pairs(form))
        return outcome, result, lambda: self.step_done(model, "subsanacion", None, over_http(form))

    def step_done(self, model: Model, spec: str, office: str | None, data: dict):
        self.apply(model, spec, office, data)
        self.total_actions += 1

    def withdraw(self, model: Model):
        """«Anular derivación»: every office that has not received the expediente is done, as withdrawn."""
        for branch in model.branches:
            if branch.step == "recibir":
                branch.step, branch.result = "done", "anulado"
        model.actions += 1
        self.total_actions += 1
        model.resolve()

    @rule(hours=st.sampled_from([1, 5, 13, 24, 49, 72, 100]), fire=st.sampled_from([True, True, True, False]))
    def pasa_el_tiempo(self, hours, fire):
        """The clock moves on; usually the timer round runs (`mpv timers`), sometimes it has not yet."""
        self.world.advance(timedelta(hours=hours))
        if fire:
            self.fire_timers()

    @precondition(lambda self: any(m.stage == "subsanacion" for m in self.models))
    @rule(data=st.data())
    def vence_la_subsanacion(self, data):
        """The clock goes to just before or just past the end of an observation's 2 business days; the
        timer round may run, or not yet (then a late subsanación must find the timer first)."""
        model = data.draw(st.sampled_from([m for m in self.models if m.stage == "subsanacion"]), label="expediente")
        moment = model.due + timedelta(minutes=data.draw(st.sampled_from([1, -1, 90, -90]), label="minutes"))
        if moment > self.world.clock():
            self.world.advance(moment - self.world.clock())
        if data.draw(st.sampled_from([False, False, True]), label="timer round"):
            self.fire_timers()
        else:  # the citizen answers now
            tarea = self.tareas(model)[0]
            self.attempt(model, tarea.task_id, ("ready", "subsanacion", None), "ciudadano",
                         {"descripcion": "Adjunto lo que faltaba"})

    def fire_timers(self):
        self.services.engine.fire_due_timers()
        for model in self.models:
            if self.is_due(model):
                self.expire(model)
                self.stats["timer No presentado"] += 1

    # -- invariants ------------------------------------------------------------------------------
    @invariant()
    def coincide_con_el_modelo(self):
        """Tasks, action rows, copies and estado of every expediente are the model's."""
        tareas = {m.id: Counter() for m in self.models}
        for expediente, spec, office in (Tarea.select(Tarea.expediente, Tarea.spec, Oficina.codigo)
                                         .join(Oficina, JOIN.LEFT_OUTER).tuples()):
            tareas.setdefault(expediente, Counter())[(spec, office)] += 1
        acciones = dict(Evento.select(Evento.expediente, fn.COUNT(Evento.seq)).where(Evento.tipo.in_(ACTIONS))
                        .group_by(Evento.expediente).tuples())
        copias = dict(Copia.select(Copia.expediente, fn.COUNT(Copia.id)).group_by(Copia.expediente).tuples())
        rows = {i: (estado, terminado) for i, estado, terminado in
                Expediente.select(Expediente.id, Expediente.estado, Expediente.terminado).tuples()}
        assert set(rows) == {m.id for m in self.models} and set(tareas) == set(rows), "an expediente the model lacks"
        for m in self.models:
            assert tareas[m.id] == m.ready(), f"{m.numero} ({m.stage}): tasks {dict(tareas[m.id])} ≠ {dict(m.ready())}"
            assert acciones.get(m.id, 0) == m.actions, f"{m.numero}: {acciones.get(m.id)} action rows ≠ {m.actions}"
            assert copias.get(m.id, 0) == m.copias, f"{m.numero}: {copias.get(m.id)} copies ≠ {m.copias}"
            estado, terminado = rows[m.id]
            assert terminado == m.finished, (m.numero, m.stage, estado)
            if m.stage == "oficinas":
                assert estado in ("Derivado", "En atención"), (m.numero, estado)
            else:
                assert estado == ESTADOS.get(m.stage, m.stage), (m.numero, m.stage, estado)
            assert not (m.finished and tareas[m.id]), f"{m.numero} is {m.stage} and still waits for a task"
        assert sum(acciones.values()) == self.total_actions

    @invariant()
    def la_cadena_verifica(self):
        result = history.verify()
        assert result.ok, result


@pytest.fixture(params=["bounded", pytest.param("soak", marks=pytest.mark.slow)])
def scale(request, soak):
    if request.param == "soak" and not soak:
        pytest.skip("long variant: run with --soak (pytest -m slow --soak)")
    return SOAK if request.param == "soak" else BOUNDED


def test_only_what_the_bpmn_allows_happens(backend, scale, capsys, record_property):
    machine = type("Machine", (TramiteMachine,), {"backend": backend, "stats": Counter()})
    started = time.monotonic()
    run_state_machine_as_test(machine, settings=settings(
        max_examples=scale["max_examples"], stateful_step_count=scale["stateful_step_count"], deadline=None,
        derandomize=True, database=None, suppress_health_check=list(HealthCheck),
        # No shrinking: a failing run is printed step by step as it happened (derandomized: rerun to see it
        # again), instead of minutes spent on a real database making it shorter.
        phases=[Phase.explicit, Phase.reuse, Phase.generate]))
    seconds = time.monotonic() - started
    stats = machine.stats
    checked = stats[Outcome.OK] + stats[Outcome.REFUSED] + stats[Outcome.EXPIRED]
    record_property("actions", checked)
    with capsys.disabled():
        print(f"\nmodel ({backend}): {checked} checked actions in {seconds:.1f} s")
        for key in sorted(k for k in stats if " " in k):
            print(f"    {stats[key]:5d}  {key}")
    assert stats[Outcome.OK] >= 100 and stats[Outcome.REFUSED] >= 100, stats
    assert stats[Outcome.EXPIRED] + stats["timer No presentado"] >= 2, stats
