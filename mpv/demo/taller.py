"""The workshop where each template is made: the real engine, under its own clock, inside a transaction that is
always rolled back (:mod:`mpv.demo.escenarios` says what a template is)."""
from __future__ import annotations

import contextlib
import dataclasses
import io
import random
from datetime import datetime

import orjson

from ..engine import Actor, Engine
from ..models import Adjunto, Copia, Evento, Expediente, Tarea, Temporizador
from ..tramites.presentacion import presentar
from . import personas
from .escenarios import (COPIA_A, ESCENARIOS, ISO_DATE, ISO_MOMENT, Acto, Dias, Molde, Plantilla, actos, fecha,
                         momento, usa_oficinas)


class _Reloj:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class _Descartar(Exception):
    pass


class _Coinciden(Exception):
    """Two timers of a template fall due at the same moment, counted differently."""


@contextlib.contextmanager
def descartado(database):
    """A write transaction that is always rolled back (the engine's own transactions nest in it)."""
    try:
        with database.write():
            yield
            raise _Descartar
    except _Descartar:
        pass


class Taller:
    """Builds templates on demand with the real engine, under its own clock, and keeps them."""

    def __init__(self, services, mesa: Actor, personal: dict[str, Actor], dias: Dias, inicio: datetime,
                 principal: bytes):
        self.reloj = _Reloj(inicio)
        self.engine = Engine(services.db, services.definitions, services.calendario, self.reloj,
                             prune=services.engine.prune,
                             dias_notificacion=services.engine.dias_notificacion)
        self.services = dataclasses.replace(services, clock=self.reloj, engine=self.engine)
        self.mesa = mesa
        self.personal = personal  # office code -> a user of that office
        self.dias = dias
        self.inicio = inicio
        self.principal = principal
        self._hechas: dict[tuple[str, str], Plantilla] = {}

    def siguiente(self, x: str) -> str:
        """The office X sends on what it cannot settle (a fixed partner, so one template per X)."""
        y = personas.SIGUIENTE.get(x)
        if y in self.personal and y != x:
            return y
        return next(c for c in sorted(self.personal) if c != x)

    def plantilla(self, escenario: str, x: str) -> Plantilla:
        key = (escenario, x if usa_oficinas(escenario) else "")
        if key not in self._hechas:
            self._hechas[key] = self._sin_coincidencias(*key)
        return self._hechas[key]

    def _sin_coincidencias(self, escenario: str, x: str) -> Plantilla:
        """The template, built again with other plazos while two of its timers would share a due time without
        counting the same days from the same date: a clone could not tell them apart."""
        for intento in range(8):
            try:
                return self._build(escenario, x, intento)
            except _Coinciden:
                continue
        raise ValueError(f"la plantilla {escenario} ({x}) no logra plazos distintos")

    def __len__(self):
        return len(self._hechas)

    def _build(self, escenario: str, x: str, intento: int = 0) -> Plantilla:
        rng = random.Random(f"{escenario}:{x}" + (f":{intento}" if intento else ""))
        offices = {"X": x, "Y": self.siguiente(x) if x else ""}
        steps = actos(ESCENARIOS[escenario])
        with descartado(self.services.db):
            moments = [self.inicio]
            self.reloj.now = self.inicio
            exp = self._presentar()
            dues: dict[str, int] = {}  # due time (ISO) -> timer index
            timers, pendientes = [], [[]]
            pendientes.append(self._timers(exp.id, 0, moments[0], dues, timers))
            for k, acto in enumerate(steps, 1):
                waiting = [datetime.fromisoformat(d) for d in dues if dues[d] in pendientes[k]]
                when = momento(acto, moments[-1], waiting, rng, self.dias, plantilla=True)
                moments.append(when)
                self.reloj.now = when
                self._act(acto, exp, offices, rng)
                pendientes.append(self._timers(exp.id, k, when, dues, timers))
            disparos = [[] if k == 0 or steps[k - 1].tipo != "vence" else
                         [i for i in pendientes[k] if i not in pendientes[k + 1]] for k in range(len(steps) + 1)]
            return self._capture(escenario, x, steps, exp.id, moments, dues, timers, pendientes, disparos)

    def _presentar(self) -> Expediente:
        services = self.services
        received = services.storage.receive(io.BytesIO(self.principal), "solicitud.pdf",
                                            services.limits.principal_bytes)
        datos = {"tipo_persona": "natural", "tipo_documento_identidad": "DNI", "numero_documento_identidad": "00000000",
                 "nombres": "Plantilla", "apellidos": "De Siembra", "email": "plantilla@example.com",
                 "telefono": "900000000", "direccion": "Jr. Plantilla 1", "tipo_documento": "SOL",
                 "asunto": "Plantilla", "folios": 1, "acepta_notificacion": "true"}
        return presentar(services, datos, received, [], ip="10.0.0.1")

    def _timers(self, expediente_id, k, when, dues, timers) -> list[int]:
        """The timers waiting after act k; new ones are numbered with the act and plazo that started them."""
        waiting = []
        for row in Temporizador.select().where(Temporizador.expediente == expediente_id):
            value = row.vence.isoformat()
            desde = row.desde or when.astimezone(self.dias.tz).date()
            cuenta = (desde, self.dias.plazo_de(desde, row.vence))
            if value not in dues:
                dues[value] = len(timers)
                timers.append((k, *cuenta))
            elif timers[dues[value]][1:] != cuenta:  # the same due time, by another count (see _sin_coincidencias)
                raise _Coinciden(value)
            waiting.append(dues[value])
        return waiting

    def _act(self, acto: Acto, exp: Expediente, offices: dict, rng):
        engine, mesa = self.engine, self.mesa
        x = offices.get(acto.oficina, "")
        oficina = self.personal.get(x)
        if acto.tipo == "conforme":
            self._step(exp, mesa, {"accion": "conforme"})
        elif acto.tipo == "observar":
            self._step(exp, mesa, {"accion": "observar", "observacion": rng.choice(personas.OBSERVACIONES)})
        elif acto.tipo == "archivar":
            self._step(exp, mesa, {"accion": "archivar", "motivo": rng.choice(personas.MOTIVOS)})
        elif acto.tipo == "subsanar":
            ciudadano = Actor.ciudadano(Expediente.get_by_id(exp.id), ip="10.0.0.1")
            self._step(exp, ciudadano, {"descripcion": rng.choice(personas.SUBSANACIONES)})
        elif acto.tipo == "derivar":
            otras = [offices[acto.otra]] if acto.otra else []
            copia = [c for c in COPIA_A if c in self.personal and c != x and c not in otras][:1] if acto.copia else []
            self._step(exp, mesa, {"oficina_destino": x, "oficinas_adicionales": otras, "con_copia": copia,
                                   "prioridad": "urgente" if rng.random() < 0.2 else "normal",
                                   "plazo_dias": rng.choice((5, 7, 7, 10, 15)),
                                   "proveido": rng.choice(personas.PROVEIDOS)})
        elif acto.tipo == "recibir":
            self._step(exp, oficina, {})
        elif acto.tipo == "atender":
            self._step(exp, oficina, {"accion": "atender", "respuesta": rng.choice(personas.RESPUESTAS)})
        elif acto.tipo == "rederivar":
            self._step(exp, oficina, {"accion": "derivar", "oficina": offices[acto.otra],
                                      "plazo_dias": rng.choice((5, 7, 10)),
                                      "proveido": rng.choice(personas.PROVEIDOS)})
        elif acto.tipo == "devolver":
            self._step(exp, oficina, {"accion": "devolver", "proveido": "No corresponde a esta oficina; se devuelve."})
        elif acto.tipo == "anular":
            engine.send_event(exp.id, "anulacion", mesa)
        elif acto.tipo == "vence":
            if not engine.fire_timers(exp.id):
                raise ValueError("el temporizador de la plantilla no se disparó")

    def _step(self, exp, actor, data):
        tasks = list(self.engine.tasks_for(actor, exp.id))
        if len(tasks) != 1:
            raise ValueError(f"{actor.nombre}: se esperaba una tarea lista, hay {[t.spec for t in tasks]}")
        self.engine.complete(exp.id, tasks[0].task_id, actor, data)

    def _capture(self, escenario, x, steps, expediente_id, moments, dues, timers, pendientes, disparos) -> Plantilla:
        act = {m: k for k, m in enumerate(moments)}
        # Each date the template counts from stands for the filing date or the date of the first act done on it
        # (acts are a business day apart unless the law makes them the same day).
        fechas = {}
        for k in range(len(moments) - 1, -1, -1):
            fechas[fecha(moments, k, self.dias).isoformat()] = k
        fechas[fecha(moments, "P", self.dias).isoformat()] = "P"
        timers = [(k, fechas[desde.isoformat()], n) for k, desde, n in timers]
        row = Expediente.get_by_id(expediente_id)
        slots: dict[str, object] = {f'"numero":"{row.numero}"': "numero",
                                    f'"tipo_documento":"{row.tipo_documento.codigo}"': "tipo"}
        slots.update({f'"{value}"': index for value, index in dues.items()})
        slots.update({f'"{value}"': ("fecha", base) for value, base in fechas.items()})
        text = row.estado_motor
        unknown = {s for s in ISO_MOMENT.findall(text) + ISO_DATE.findall(text) if s not in slots}
        if unknown or text.count(row.numero) != text.count(f'"numero":"{row.numero}"'):
            raise ValueError(f"la plantilla {escenario} guarda valores que la copia no sabría cambiar: {unknown}")
        eventos = []
        for e in Evento.select().where(Evento.expediente == expediente_id).order_by(Evento.seq):
            ciudadano = e.rol == "ciudadano"
            if e.tipo == "inicio":  # the clone's own filing data, with these files
                payload = orjson.loads(e.payload)["adjuntos"]
            elif any(value in e.payload for value in dues) or ISO_DATE.search(e.payload):
                payload = Molde(e.payload, {s: slots[s] for s in ISO_MOMENT.findall(e.payload)
                                            + ISO_DATE.findall(e.payload) if s in slots})
            else:
                payload = e.payload
            eventos.append((act[e.momento], e.tipo, e.accion, e.descripcion, e.actor_id,
                            None if ciudadano else e.actor_nombre, e.rol, e.actor_oficina, None if ciudadano else e.ip,
                            e.tarea, e.tarea_id, act[e.tarea_desde] if e.tarea_desde else None,
                            e.oficina_origen, e.oficina_destino, e.detalle, payload))
        return Plantilla(
            escenario=escenario, oficina=x, actos=steps,
            expediente={name: getattr(row, name) for name in (
                "estado", "tarea_actual", "oficina_actual_id", "vencido", "terminado", "version", "definicion_id",
                "formato_estado", "silencio")},
            vence=dues[row.vence.isoformat()] if row.vence else None, actualizado=act[row.actualizado_en],
            estado_motor=Molde(text, slots), eventos=eventos,
            tareas=[(t.task_id, t.spec, t.nombre, t.rol, t.oficina_id, act[t.desde])
                    for t in Tarea.select().where(Tarea.expediente == expediente_id).order_by(Tarea.id)],
            temporizadores=[(t.task_id, t.nombre, dues[t.vence.isoformat()])
                            for t in Temporizador.select().where(Temporizador.expediente == expediente_id)],
            copias=[(c.oficina_id, act[c.desde], c.tarea)
                    for c in Copia.select().where(Copia.expediente == expediente_id)],
            adjuntos=[(a.sha256, a.nombre, a.tamano, a.tipo, act[a.creado_en])
                      for a in Adjunto.select().where(Adjunto.expediente == expediente_id)],
            timers=timers, fechas=fechas, pendientes=pendientes, disparos=disparos, finales=pendientes[-1])
