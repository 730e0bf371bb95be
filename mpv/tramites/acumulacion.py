"""Acumulación (TUO de la Ley 27444, art. 160): join expedientes closely connected so they are processed together.

One is the principal; the others are accumulated to it and follow its course: while accumulated, an expediente's own
staff tasks are not worked on their own, and each step of the principal's (a derivation, a recepción, an atención,
a return; an event such as «Anular derivación») is applied, with the same form, to the task each accumulated
expediente has in the same tray — all in one transaction, each expediente with its own engine step and history.
Desacumular separates them again; the acumulación's row stays as the record, and both histories show each act.

Who: whoever holds the tray where both wait (mesa de partes for its own, an office for its own), and only while both
wait there for the same task. Desacumular: mesa de partes, or an office that holds either expediente.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import peewee as pw

from .. import history
from ..engine import Actor, StepResult
from ..engine.definitions import ESCRITO
from ..errors import Conflict, InvalidInput, NotAllowed, NotFound
from ..models import Acumulacion, Expediente, Oficina, Tarea
from .expedientes import oficina_de, visible
from .roles import exigir_rol

ACUMULAN = ("mesa", "oficina")
PERSONAL = ("mesa", "oficina")  # the roles whose tasks an accumulated expediente does not work on its own
SOLO_PERSONAL = "Solo mesa de partes y las oficinas acumulan o desacumulan expedientes."
MAX_MOTIVO = 1000


@dataclasses.dataclass
class Vista:
    """The expediente page's «Acumulación» section: its principal (when it is accumulated), the expedientes
    accumulated to it, and whether ``actor`` may accumulate others to it or separate them now."""

    principal: Acumulacion | None
    acumulados: list[Acumulacion]
    puede_acumular: bool
    puede_desacumular: bool


def acumulado_a(expediente: Expediente, principal: Expediente) -> str:
    return f"El expediente {expediente.numero} está acumulado al {principal.numero}; se tramita con él."


def exigir_libre(expediente: Expediente):
    """:raise Conflict: ``expediente`` is accumulated to another: its staff tasks go with its principal's."""
    activa = Acumulacion.activa_de(expediente.id)
    if activa is not None:
        raise Conflict(acumulado_a(expediente, activa.principal)
                       + " Desacumúlelo desde la página del expediente principal para tramitarlo por separado.")


# -- where an expediente waits ---------------------------------------------------------------------------
def sigue_al_principal(services, expediente: Expediente, spec: str, rol: str) -> bool:
    """Whether the task ``spec`` of ``expediente`` goes with its principal's while it is accumulated: a mesa or
    office task of the trámite's own flow (the review of an escrito is the expediente's own)."""
    propiedades = services.definitions.get(expediente.definicion_id).properties(spec)
    return rol in PERSONAL and propiedades.get(ESCRITO) != "true"


def _lugar(services, expediente: Expediente) -> set[tuple[str, int]]:
    """The (task, office) pairs where ``expediente`` waits for staff (the tasks that go with a principal's)."""
    filas = Tarea.select(Tarea.spec, Tarea.rol, Tarea.oficina).where(Tarea.expediente == expediente.id).tuples()
    return {(spec, oficina) for spec, rol, oficina in filas
            if oficina is not None and sigue_al_principal(services, expediente, spec, rol)}


def _bandeja_de(actor: Actor) -> int | None:
    """The id of the office whose tray ``actor`` works: mesa de partes' for mesa, their own for an office."""
    if actor.rol == "mesa":
        mesa = Oficina.mesa_de_partes()
        return mesa.id if mesa else None
    return oficina_de(actor)


def _describir(lugar: set[tuple[str, int]], services, expediente: Expediente) -> str:
    info = services.definitions.get(expediente.definicion_id).user_tasks
    nombres = dict(Oficina.select(Oficina.id, Oficina.nombre).tuples())
    return ", ".join(f"«{info[spec].label if spec in info else spec}» de {nombres.get(oficina, '')}"
                     for spec, oficina in sorted(lugar))


def _en_su_bandeja(services, actor: Actor, principal: Expediente) -> set[tuple[str, int]]:
    """Where the principal waits, when that is the actor's tray. :raise Conflict: it has concluded, or is itself
    accumulated. :raise NotAllowed: it waits elsewhere (or in several trays at once)."""
    if principal.terminado:
        raise Conflict(f"El expediente {principal.numero} ya concluyó («{principal.estado}»): "
                       "no se le pueden acumular otros expedientes.")
    activa = Acumulacion.activa_de(principal.id)
    if activa is not None:
        raise Conflict(f"El expediente {principal.numero} está acumulado al {activa.principal.numero}: "
                       f"acumule los expedientes a ese, que es el principal.")
    lugar = _lugar(services, principal)
    bandeja = _bandeja_de(actor)
    if not lugar or {oficina for _, oficina in lugar} != {bandeja}:
        raise NotAllowed(f"El expediente {principal.numero} no espera en su bandeja: acumula quien lo tiene "
                         "(mesa de partes o la oficina donde está), cuando espera en una sola bandeja.")
    return lugar


# -- acumular, desacumular -------------------------------------------------------------------------------
def para_acumular(services, actor: Actor, numero: str) -> Expediente:
    """The principal, when ``actor`` may accumulate others to it now (to show the form).
    :raise NotAllowed: / :raise NotFound: / :raise Conflict: as :func:`acumular`."""
    exigir_rol(actor, ACUMULAN, SOLO_PERSONAL)
    principal = visible(actor, numero)
    _en_su_bandeja(services, actor, principal)
    return principal


def validar(numero_acumulado: str, motivo: str) -> tuple[str, str]:
    """The accumulated expediente's number and the reason, cleaned. :raise InvalidInput: naming each field."""
    numero, motivo = (numero_acumulado or "").strip(), (motivo or "").strip()
    campos = {}
    if not numero:
        campos["acumulado"] = "Escriba el número del expediente que se acumula (por ejemplo, 2026-000123)."
    elif len(numero) > 16:
        campos["acumulado"] = "El número de expediente tiene la forma AAAA-NNNNNN (por ejemplo, 2026-000123)."
    if not motivo:
        campos["motivo"] = "Escriba el motivo de la acumulación: qué conexión tienen los expedientes."
    elif len(motivo) > MAX_MOTIVO:
        campos["motivo"] = f"Escriba el motivo en {MAX_MOTIVO} caracteres como máximo (tiene {len(motivo)})."
    if campos:
        raise InvalidInput("Revise los campos marcados.", campos)
    return numero, motivo


def acumular(services, actor: Actor, numero: str, numero_acumulado: str, motivo: str) -> Acumulacion:
    """Accumulate the expediente ``numero_acumulado`` to ``numero`` (the principal), with the reason ``motivo``;
    both histories record it, in one transaction.

    :raise NotAllowed: not mesa de partes or an office, or the principal is not in the actor's tray.
    :raise InvalidInput: a field to fix (no such expediente, itself). :raise Conflict: either has concluded, the
    principal is itself accumulated, the other is already accumulated or has its own accumulated expedientes, or
    they do not wait in the same tray for the same task. Nothing is written when refused.
    """
    para_acumular(services, actor, numero)  # refused before the form is read
    numero_acumulado, motivo = validar(numero_acumulado, motivo)
    now = services.clock()
    with services.db.write():
        principal = _bloquear(services, numero)
        lugar = _en_su_bandeja(services, actor, principal)
        if numero_acumulado == principal.numero:
            raise InvalidInput("Un expediente no se acumula a sí mismo.",
                               {"acumulado": "Escriba el número de otro expediente."})
        acumulado = _bloquear(services, numero_acumulado)
        if acumulado is None:
            raise InvalidInput("Revise los campos marcados.", {"acumulado": f"No existe el expediente "
                                                                            f"{numero_acumulado}."})
        _puede_seguir(services, principal, acumulado, lugar)
        try:
            with services.db.peewee.atomic():
                fila = Acumulacion.create(principal=principal, acumulado=acumulado, usuario=actor.usuario_id,
                                          usuario_nombre=actor.nombre, desde=now, motivo=motivo)
        except pw.IntegrityError:  # another clerk accumulated it elsewhere a moment ago
            raise Conflict(f"El expediente {acumulado.numero} acaba de ser acumulado a otro expediente. "
                           "Actualice la página.") from None
        history.append(services.db, [
            _evento(actor, principal, now, "acumular", f"Se le acumuló el expediente {acumulado.numero}",
                    f"Motivo: {motivo}", {"acumulado": acumulado.numero, "motivo": motivo}),
            _evento(actor, acumulado, now, "acumular", f"Acumulado al expediente {principal.numero}",
                    f"Motivo: {motivo}", {"principal": principal.numero, "motivo": motivo})])
    return fila


def _bloquear(services, numero: str) -> Expediente | None:
    """The expediente ``numero``, its row locked for this transaction (SQLite's write lock is already held)."""
    return services.db.locked(Expediente.select().where(Expediente.numero == numero)).first()


def _puede_seguir(services, principal: Expediente, acumulado: Expediente, lugar: set):
    """:raise Conflict: ``acumulado`` cannot follow ``principal`` (see :func:`acumular`)."""
    if acumulado.terminado:
        raise Conflict(f"El expediente {acumulado.numero} ya concluyó («{acumulado.estado}»): no se puede acumular.")
    activa = Acumulacion.activa_de(acumulado.id)
    if activa is not None:
        cual = "este" if activa.principal_id == principal.id else "otro"
        raise Conflict(f"El expediente {acumulado.numero} ya está acumulado al {activa.principal.numero} ({cual} "
                       "expediente): desacumúlelo primero.")
    if Acumulacion.activas_en(acumulado.id):
        raise Conflict(f"El expediente {acumulado.numero} tiene sus propios expedientes acumulados: acumule al "
                       f"{principal.numero} cada uno de ellos, o acumule el {principal.numero} al "
                       f"{acumulado.numero}.")
    if _lugar(services, acumulado) != lugar:
        raise Conflict(f"El expediente {acumulado.numero} no espera en la misma bandeja que el {principal.numero} "
                       f"({_describir(lugar, services, principal)}): solo se acumulan expedientes que esperan "
                       "juntos la misma tarea.")


def desacumular(services, actor: Actor, numero: str, numero_acumulado: str) -> Acumulacion:
    """Separate ``numero_acumulado`` from its principal ``numero``: from now on each is processed on its own.
    The acumulación's row stays (with who ended it and when); both histories record it.

    :raise NotAllowed: not mesa de partes, nor an office that holds either. :raise NotFound: they are not
    accumulated (or no longer)."""
    exigir_rol(actor, ACUMULAN, SOLO_PERSONAL)
    visible(actor, numero)
    now = services.clock()
    with services.db.write():
        principal = _bloquear(services, numero)
        acumulado = _bloquear(services, numero_acumulado)
        fila = Acumulacion.activa_de(acumulado.id) if acumulado is not None else None
        if fila is None or fila.principal_id != principal.id:
            raise NotFound(f"El expediente {numero_acumulado} no está acumulado al {numero}.")
        if actor.rol == "oficina" and not _lo_tiene(services, actor, principal, acumulado):
            raise NotAllowed(f"Desacumula mesa de partes o la oficina donde está el expediente {numero} o el "
                             f"{numero_acumulado}.")
        fila.hasta, fila.desacumulado_por, fila.desacumulado_por_nombre = now, actor.usuario_id, actor.nombre
        fila.save()
        history.append(services.db, [
            _evento(actor, principal, now, "desacumular", f"Se desacumuló el expediente {acumulado.numero}", "",
                    {"acumulado": acumulado.numero}),
            _evento(actor, acumulado, now, "desacumular", f"Desacumulado del expediente {principal.numero}: se "
                    "tramita por separado", "", {"principal": principal.numero})])
    return fila


def _lo_tiene(services, actor: Actor, *expedientes: Expediente) -> bool:
    bandeja = _bandeja_de(actor)
    return any(oficina == bandeja for e in expedientes for _, oficina in _lugar(services, e))


def _evento(actor: Actor, expediente: Expediente, now, accion: str, descripcion: str, detalle: str,
            payload: dict, oficina: str | None = None) -> dict:
    """A history row of the acumulación (as :mod:`mpv.tramites.documentos` records its non-engine acts)."""
    return {"expediente": expediente.id, "momento": now, "tipo": "accion", "accion": accion,
            "descripcion": descripcion[:200], "actor": actor.usuario_id, "actor_nombre": actor.nombre,
            "rol": actor.rol, "actor_oficina": actor.oficina, "ip": actor.ip,
            "oficina_origen": actor.oficina if oficina is None else oficina, "detalle": detalle, "payload": payload}


# -- processed together ----------------------------------------------------------------------------------
def tarea_igual(acumulado_id: int, specs, oficina_id: int | None) -> Tarea | None:
    """The accumulated expediente's pending task named one of ``specs`` in the same office (None: it does not
    wait there)."""
    return (Tarea.select().where((Tarea.expediente == acumulado_id) & Tarea.spec.in_(list(specs))
                                 & (Tarea.oficina == oficina_id)).order_by(Tarea.id).first())


def que_siguen(expediente: Expediente, specs, oficina_id: int | None) -> list[str]:
    """The numbers of the expedientes accumulated to ``expediente`` that wait for one of the tasks ``specs`` in the
    office ``oficina_id``: those the principal's step there moves too."""
    return [fila.acumulado.numero for fila in Acumulacion.activas_en(expediente.id)
            if tarea_igual(fila.acumulado_id, specs, oficina_id) is not None]


def con_acumulados(services, actor: Actor, expediente: Expediente, de_personal: bool,
                   hacer: Callable[[], StepResult], seguir: Callable[[Expediente], StepResult | None]) -> StepResult:
    """Do ``hacer`` (a step of ``expediente``) and, when it is a staff step (``de_personal``), ``seguir`` for each
    expediente accumulated to it — the same step on its task in the same tray (``seguir`` returns None when it
    does not wait there, and it stays) — all in one transaction: when one fails, none moved. Each follower's
    history adds a row saying it went with its principal.

    :raise Conflict: ``expediente`` is itself accumulated (its staff steps go with its principal's); and whatever
    ``hacer`` or ``seguir`` raise."""
    if not de_personal:
        return hacer()
    exigir_libre(expediente)
    if not Acumulacion.activas_en(expediente.id):
        return hacer()
    with services.db.write():
        _bloquear(services, expediente.numero)
        exigir_libre(expediente)
        resultado = hacer()
        for fila in Acumulacion.activas_en(expediente.id):  # read again under the principal's lock
            paso = seguir(fila.acumulado)
            if paso is None:
                continue
            hechos = [e for e in paso.eventos if e.tipo in ("tarea", "accion")]
            texto = f"Tramitado con su principal {expediente.numero}"
            texto += f": {hechos[-1].descripcion}" if hechos else ""
            history.append(services.db, [_evento(
                actor, fila.acumulado, services.clock(), "con_principal", texto, "",
                {"principal": expediente.numero, "destino": hechos[-1].oficina_destino if hechos else ""},
                oficina=hechos[-1].oficina_origen if hechos else actor.oficina)])
    return resultado


# -- what the expediente page shows ----------------------------------------------------------------------
def vista(services, actor: Actor, expediente: Expediente) -> Vista:
    """The «Acumulación» section of the expediente page for ``actor`` (who already may see it)."""
    principal = Acumulacion.activa_de(expediente.id)
    acumulados = Acumulacion.activas_en(expediente.id)
    puede_acumular = False
    if actor.rol in ACUMULAN and principal is None:
        try:
            _en_su_bandeja(services, actor, expediente)
            puede_acumular = True
        except (NotAllowed, Conflict):  # a question here, not an act: the form is simply not offered
            puede_acumular = False
    otros = [a.acumulado for a in acumulados] + ([principal.principal] if principal else [])
    puede_desacumular = bool(otros) and (actor.rol == "mesa" or (
        actor.rol == "oficina" and _lo_tiene(services, actor, expediente, *otros)))
    return Vista(principal, acumulados, puede_acumular, puede_desacumular)
