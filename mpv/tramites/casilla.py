"""The casilla electrónica of an expediente (DOMAIN rule 15, Ley 31736): the citizen's revocable consent, the acts
deposited in it, each opening and the acuse de recibo, and the day each act takes effect.

The casilla is reached with the expediente's código de seguimiento together with the sender's identity document:
both must match, and a mismatch of either says the same words (nothing is learnt from it). An act takes effect on
the day of its acuse or, without one, on the configured business day after its deposit (``dias_efecto``, the
Parámetro in force when it was deposited); the process itself waits for the observation's acuse with an engine
timer (``workflows/tramite.bpmn``), and the dates shown here follow the same rule on the same calendar.
"""
from __future__ import annotations

import dataclasses
from datetime import date, datetime

import orjson

from .. import history, identidad
from ..engine import Actor
from ..errors import NotFound
from ..models import AperturaNotificacion, ConsentimientoCasilla, Evento, Expediente, Notificacion, Tarea
from ..models_notificaciones import CASILLA, VIAS
from ..pdf import pdf_name
from .expedientes import por_codigo

OTORGA, REVOCA = "otorga", "revoca"
ACUSE = "acuse"  # the citizen's task the observation deposited in the casilla waits on (tramite.bpmn)
NO_COINCIDE = ("No encontramos una casilla electrónica con ese código de seguimiento y ese documento de identidad. "
               "Revise ambos datos: el código está en su constancia de presentación y el documento es el del remitente.")
# What each act is called in the casilla and its alert (the BPMN ``notificacion`` kinds).
ACTOS = {
    "observacion": "Observación de su trámite",
    "atencion": "Respuesta a su trámite",
    "archivado": "Archivo de su trámite",
    "no_presentado": "Trámite considerado no presentado",
    "silencio_positivo": "Aprobación por silencio administrativo positivo",
    "silencio_negativo": "Silencio administrativo negativo",
}


def acto(tipo: str) -> str:
    return ACTOS.get(tipo, tipo.replace("_", " ").capitalize())


# -- consent ---------------------------------------------------------------------------------------------
def registrar_consentimiento(expediente: Expediente, accion: str, momento: datetime, ip: str) -> dict:
    """Record a consent or a revocation (call inside the caller's write transaction); return its history row."""
    ConsentimientoCasilla.create(expediente=expediente.id, accion=accion, momento=momento, ip=ip)
    otorga = accion == OTORGA
    return {"expediente": expediente.id, "momento": momento, "tipo": "casilla",
            "accion": "otorgar_casilla" if otorga else "revocar_casilla",
            "descripcion": "Casilla electrónica aceptada" if otorga else "Casilla electrónica revocada",
            "actor": None, "actor_nombre": expediente.remitente_nombre, "rol": "ciudadano",
            "actor_oficina": "ciudadano", "ip": ip, "oficina_origen": "ciudadano",
            "detalle": ("El remitente aceptó ser notificado en la casilla electrónica (Ley 31736)." if otorga else
                        "El remitente revocó la casilla electrónica: los actos siguientes se notifican por correo."),
            "payload": {"accion": accion}}


def cambiar_consentimiento(services, codigo: str, otorga: bool, ip: str = "") -> bool:
    """The citizen (with the tracking code) opts in to or revokes the casilla of his expediente; return whether it
    changed anything (asking for what is already so records nothing). :raise NotFound: unknown code."""
    expediente = por_codigo(codigo)
    with services.db.write():
        if ConsentimientoCasilla.vigente(expediente.id) == otorga:
            return False
        row = registrar_consentimiento(expediente, OTORGA if otorga else REVOCA, services.clock(), ip)
        history.append(services.db, [row])
    return True


def vigente(expediente: Expediente) -> bool:
    return ConsentimientoCasilla.vigente(expediente.id)


# -- the casilla -------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Vista:
    """One notification as the casilla and the staff pages show it."""

    id: int
    tipo: str
    acto: str
    via: str
    depositada_en: datetime
    documentos: list[dict]
    aperturas: list[AperturaNotificacion]
    acuse_en: datetime | None
    efecto: date | None  # the day it took effect (None: not yet)
    efecto_previsto: date | None  # without acuse, the day it will take effect
    estado: str
    contenido: str = ""
    por_casilla: bool = False


def efecto(n: Notificacion, calendario, ahora: datetime) -> tuple[date | None, date | None]:
    """(the day ``n`` took effect or None, the day it will take effect without acuse) by rule 15."""
    depositada = calendario.fecha_presentacion(n.depositada_en)
    if n.via != CASILLA:
        return depositada, None
    limite = calendario.sumar_habiles(depositada, n.dias_efecto)
    if n.acuse_en is not None:
        return min(calendario.fecha_presentacion(n.acuse_en), limite), None
    if calendario.vencimiento(depositada, n.dias_efecto) <= ahora:
        return limite, None
    return None, limite


def vista(n: Notificacion, calendario, ahora: datetime) -> Vista:
    aperturas = list(AperturaNotificacion.select().where(AperturaNotificacion.notificacion == n.id)
                     .order_by(AperturaNotificacion.id))
    surtio, previsto = efecto(n, calendario, ahora)
    if n.via != CASILLA:
        estado = "Enviada por correo electrónico"
    elif surtio is not None:
        estado = f"Surtió efecto el {surtio:%d/%m/%Y}" + (" (acuse de recibo)" if n.acuse_en else " (sin acuse)")
    elif any(a.tipo == "apertura" for a in aperturas):
        estado = "Leída, sin acuse de recibo"
    else:
        estado = "Depositada"
    return Vista(n.id, n.tipo, acto(n.tipo), VIAS.get(n.via, n.via), n.depositada_en, orjson.loads(n.documentos),
                 aperturas, n.acuse_en, surtio, previsto, estado, por_casilla=n.via == CASILLA)


def de_expediente(services, expediente: Expediente) -> list[Vista]:
    """Every act notified on ``expediente``, newest first (the staff page and the casilla)."""
    ahora = services.clock()
    return [vista(n, services.calendario, ahora) for n in
            Notificacion.select().where(Notificacion.expediente == expediente.id).order_by(Notificacion.id.desc())]


def acceder(codigo: str, documento: str) -> Expediente:
    """The expediente whose casilla the tracking code and the sender's identity document open.
    :raise NotFound: either does not match (the same words for both)."""
    documento = identidad.normalizar(documento or "")
    try:
        expediente = por_codigo((codigo or "").strip())
    except NotFound:
        raise NotFound(NO_COINCIDE) from None
    if not documento or expediente.remitente_documento != documento:
        raise NotFound(NO_COINCIDE)
    return expediente


def en_casilla(expediente: Expediente, notificacion_id) -> Notificacion:
    """A notification deposited in the casilla of ``expediente``. :raise NotFound:"""
    try:
        key = int(notificacion_id)
    except (TypeError, ValueError):
        key = 0
    n = (Notificacion.get_or_none((Notificacion.id == key) & (Notificacion.expediente == expediente.id)
                                  & (Notificacion.via == CASILLA)) if 0 < key < 2 ** 63 else None)
    if n is None:
        raise NotFound("Esa notificación no está en esta casilla electrónica.")
    return n


def abrir(services, codigo: str, documento: str, notificacion_id, ip: str = "") -> tuple[Expediente, Vista]:
    """Open a deposited notification: record the opening (time, address) and return it with the act's text.
    :raise NotFound: wrong code or document, or not a notification of this casilla."""
    expediente = acceder(codigo, documento)
    n = en_casilla(expediente, notificacion_id)
    with services.db.write():
        AperturaNotificacion.create(notificacion=n.id, tipo="apertura", momento=services.clock(), ip=ip)
    v = vista(n, services.calendario, services.clock())
    v.contenido = contenido(services, expediente, n)
    return expediente, v


def acusar(services, codigo: str, documento: str, notificacion_id, ip: str = "") -> Notificacion:
    """The citizen's acuse de recibo of a deposited notification, in one transaction: the notification, the opening
    register and, for the observation the process waits on, the engine's step that starts the subsanación (else
    a history row). A second acuse changes nothing. :raise NotFound: as :func:`abrir`."""
    expediente = acceder(codigo, documento)
    n = en_casilla(expediente, notificacion_id)
    with services.db.write():
        n = services.db.locked(Notificacion.select().where(Notificacion.id == n.id)).get()
        if n.acuse_en is not None:
            return n
        ahora = services.clock()
        n.acuse_en, n.acuse_ip = ahora, ip
        n.save()
        AperturaNotificacion.create(notificacion=n.id, tipo="acuse", momento=ahora, ip=ip)
        detalle = f"Acuse de recibo en la casilla electrónica: {acto(n.tipo)}."
        ultima = (Notificacion.select(Notificacion.id).where((Notificacion.expediente == expediente.id)
                                                             & (Notificacion.tipo == n.tipo))
                  .order_by(Notificacion.id.desc()).scalar())
        tarea = Tarea.get_or_none((Tarea.expediente == expediente.id) & (Tarea.spec == ACUSE))
        if n.tipo == "observacion" and ultima == n.id and tarea is not None:
            # The process waits for it: the citizen's task «Acuse de recibo», completed as one engine step.
            services.engine.complete(expediente.id, tarea.task_id, Actor.ciudadano(expediente, ip), {})
        else:
            history.append(services.db, [{
                "expediente": expediente.id, "momento": ahora, "tipo": "accion", "accion": "acuse_recibo",
                "descripcion": "Acuse de recibo de la notificación", "actor": None,
                "actor_nombre": expediente.remitente_nombre, "rol": "ciudadano", "actor_oficina": "ciudadano",
                "ip": ip, "oficina_origen": "ciudadano", "detalle": detalle,
                "payload": {"notificacion": n.id, "evento_seq": n.evento_seq}}])
    return n


def pendiente_de_acuse(expediente: Expediente) -> Notificacion | None:
    """The deposited observation the process waits on, while it waits (the citizen acknowledges it to subsanar)."""
    if not Tarea.select().where((Tarea.expediente == expediente.id) & (Tarea.spec == ACUSE)).exists():
        return None
    return (Notificacion.select().where((Notificacion.expediente == expediente.id)
                                        & (Notificacion.tipo == "observacion") & (Notificacion.via == CASILLA))
            .order_by(Notificacion.id.desc()).first())


def contenido(services, expediente: Expediente, n: Notificacion) -> str:
    """What the act says: its history row and the notes (those a citizen may read) of the task that made it."""
    evento = Evento.get_or_none((Evento.expediente == expediente.id) & (Evento.seq == n.evento_seq))
    if evento is None:
        return ""
    tarea = (Evento.select().where((Evento.expediente == expediente.id) & (Evento.tipo == "tarea")
                                   & (Evento.seq < evento.seq) & (Evento.momento == evento.momento))
             .order_by(Evento.seq.desc()).first())
    definition = services.definitions.get(expediente.definicion_id)
    notas = history.public_notes(definition, tarea, orjson.loads(tarea.payload)) if tarea else ""
    return "\n\n".join(x for x in (evento.descripcion, notas) if x)


@dataclasses.dataclass
class Archivo:
    path: object
    nombre: str


def documento(services, codigo: str, documento_identidad: str, notificacion_id, indice: int) -> Archivo:
    """A document a deposited notification carries. :raise NotFound:"""
    expediente = acceder(codigo, documento_identidad)
    n = en_casilla(expediente, notificacion_id)
    documentos = orjson.loads(n.documentos)
    if not 0 <= indice < len(documentos):
        raise NotFound("Ese documento no está en esta notificación.")
    path = services.storage.path(documentos[indice]["sha256"])
    if not path.exists():
        raise NotFound("Ese documento no está en esta notificación.")
    return Archivo(path, pdf_name(documentos[indice]["nombre"]))


def notificacion_de(expediente: Expediente, notificacion_id) -> Notificacion:
    """A notification (any via) of ``expediente``, for staff. :raise NotFound:"""
    try:
        key = int(notificacion_id)
    except (TypeError, ValueError):
        key = 0
    n = (Notificacion.get_or_none((Notificacion.id == key) & (Notificacion.expediente == expediente.id))
         if 0 < key < 2 ** 63 else None)
    if n is None:
        raise NotFound("Esa notificación no existe en este expediente.")
    return n
