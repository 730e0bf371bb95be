"""The e-mails to citizens, rendered when they are sent from the expediente and its Evento rows; and the daily
digest to staff (:mod:`mpv.tramites.resumen`), rendered with the figures of the moment it is sent.

Plain text only (``text/plain``, UTF-8): a legal notice should read the same in every mail client,
and text has no markup to inject, so the templates in ``templates/correo/`` are rendered without
autoescape. A citizen never sees what staff marked ``x-mpv-interno`` (the same filter as the public
seguimiento). What a notice says comes from rows that never change, so a message sent a day late,
after a failed attempt, says what it would have said at once.
"""
from __future__ import annotations

import mimetypes
from datetime import date, datetime, timedelta
from email.headerregistry import Address
from email.errors import HeaderParseError
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import orjson
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .. import history
from ..config import PACKAGE_ROOT
from ..models import Correo, Escrito, Evento, Expediente, Notificacion, Oficina, Resumen
from ..pdf import pdf_name
from ..text import tamano
from ..tramites import casilla, constancia, constancia_escrito, resumen, silencio, verificacion
from ..tramites.listados import PLAZOS
from ..correo_direccion import DireccionNoValida, direccion

TEMPLATES = PACKAGE_ROOT / "templates" / "correo"

# The notices MPV knows how to write (a BPMN ``notificacion`` property must name one), as staff call them…
NOMBRES = {
    "constancia": "Constancia de presentación",
    "casilla": "Aviso de depósito en la casilla electrónica",
    "escrito": "Constancia de escrito",
    "observacion": "Observación",
    "atencion": "Respuesta (atención)",
    "archivado": "Archivado",
    "no_presentado": "No presentado",
    "silencio_positivo": "Aprobado por silencio positivo",
    "silencio_negativo": "Silencio negativo",
    "silencio_positivo_oficina": "Silencio positivo (aviso a la oficina)",
    "silencio_negativo_oficina": "Silencio negativo (aviso a la oficina)",
    resumen.TIPO: "Resumen diario a la oficina",
}
# … and the subject line the citizen reads, after the expediente's number.
ASUNTOS = {
    "constancia": "Constancia de presentación",
    "casilla": "Tiene una notificación en su casilla electrónica",
    "escrito": "Constancia de su escrito",
    "observacion": "Observación: subsane su trámite dentro del plazo",
    "atencion": "Respuesta a su trámite",
    "archivado": "Su trámite fue archivado",
    "no_presentado": "Su trámite se considera no presentado",
    "silencio_positivo": "Su solicitud está aprobada por silencio administrativo positivo",
    "silencio_negativo": "Venció el plazo de su trámite: silencio administrativo negativo",
    "silencio_positivo_oficina": "venció el plazo del procedimiento: aprobado por silencio administrativo positivo",
    "silencio_negativo_oficina": "venció el plazo del procedimiento: silencio administrativo negativo",
}

TIPOS_ADJUNTO = {"principal": "documento principal", "anexo": "anexo"}

# Above this, the response files stay out of the e-mail (many servers refuse 20–25 MB messages).
MAX_ADJUNTOS_BYTES = 15 * 1024 * 1024

DERIVACION = "derivacion"  # the mesa de partes task that opens a round of atención (as in mpv.tramites.tareas)
RECEPCION = "recepcion"  # mesa de partes' review of a filing, where it may archive it (as in mpv.tramites.tareas)


class NoEnviable(Exception):
    """A notice that can never be sent as queued (unknown type, expediente or address): no retry helps."""


class Mensajes:
    """Builds the :class:`EmailMessage` of a queued :class:`Correo` row."""

    def __init__(self, services):
        self._services = services
        self._settings = services.settings
        self._calendario = services.calendario
        self._storage = services.storage
        self._definitions = services.definitions
        self._parametros = services.parametros
        self._env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=False,  # text/plain only
                                undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                keep_trailing_newline=True,  # a stat per message only in development
                                auto_reload=services.settings.recargar_plantillas)
        self._env.filters.update(fecha=self._fecha, fechahora=self._fechahora, tamano=tamano,
                                 ultimo_dia=self._ultimo_dia)

    def build(self, correo: Correo, now: datetime) -> EmailMessage:
        """The message for ``correo``, dated ``now``.

        :raise NoEnviable: unknown notice type, missing expediente or history row, invalid address.
        :raise OSError: a response file is missing from storage (it may come back: worth a retry).
        """
        if correo.tipo == resumen.TIPO:
            return self._resumen_diario(correo, now)
        if correo.tipo not in ASUNTOS:
            raise NoEnviable(f"No hay plantilla de correo para el aviso «{correo.tipo}» "
                             f"(conocidos: {', '.join(ASUNTOS)}); corrija la propiedad «notificacion» del BPMN.")
        expediente = Expediente.get_or_none(Expediente.id == correo.expediente_id)
        if expediente is None:
            raise NoEnviable("El correo no está ligado a un expediente.")
        evento = Evento.get_or_none((Evento.expediente == expediente.id) & (Evento.seq == correo.evento_seq))
        if evento is None:
            raise NoEnviable(f"No existe el evento {correo.evento_seq} del expediente {expediente.numero}.")
        base = self._settings.base_url
        context = {
            "entidad": self._parametros.get("entidad_nombre"), "e": expediente, "evento": evento,
            "nombre": expediente.remitente_nombre, "seguimiento_url": f"{base}/seguimiento/{expediente.codigo}",
            "constancia_url": f"{base}/constancia/{expediente.codigo}",
        }
        archivos = getattr(self, f"_{correo.tipo}")(expediente, evento, context)
        oficina = correo.tipo.endswith("_oficina")  # to staff: the office's notice, not the citizen's
        msg = self._message(correo, now, f"Expediente N° {expediente.numero}: {ASUNTOS[correo.tipo]}",
                            _address("" if oficina else expediente.remitente_nombre, correo.destinatario), context)
        for nombre, data in archivos:
            maintype, _, subtype = (mimetypes.guess_type(nombre)[0] or "application/octet-stream").partition("/")
            msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=nombre)
        return msg

    def _message(self, correo: Correo, now: datetime, asunto: str, to: Address, context: dict) -> EmailMessage:
        """The message of ``correo``: its headers and its template rendered with ``context``."""
        msg = EmailMessage()
        msg["Subject"] = asunto
        msg["From"] = self._settings.smtp_from
        msg["To"] = to
        msg["Date"] = format_datetime(now.astimezone(self._calendario.tz))
        # Stable across retries, so a server that got a message twice (a lost reply) can drop the copy.
        msg["Message-ID"] = f"<mpv-correo-{correo.id}.{int(correo.creado_en.timestamp())}@{self._domain()}>"
        msg.set_content(self._env.get_template(f"{correo.tipo}.txt").render(**context))
        return msg

    def _resumen_diario(self, correo: Correo, now: datetime) -> EmailMessage:
        """The office's digest: what it has vencido and por vencer as it is ``now``, with a link to each list.

        :raise NoEnviable: the digest row is gone (its office was deleted).
        """
        row = Resumen.get_or_none(Resumen.id == correo.resumen_id)
        if row is None:
            raise NoEnviable("El correo no está ligado a un resumen diario de una oficina.")
        p = resumen.pendientes(self._services, row.oficina, now)
        base = self._settings.base_url
        listas = [{"titulo": PLAZOS[plazo], "cifra": p.cifras[clave], "filas": p.filas[clave], "campo": campo,
                   "url": f"{base}/tramites?{p.consultas[clave]}"}
                  for clave, plazo, campo in (("vencidos", "vencido", "vence"), ("por_vencer", "por_vencer", "vence"),
                                              ("procedimientos_por_vencer", "procedimiento_por_vencer", "plazo_vence"))]
        context = {"entidad": self._parametros.get("entidad_nombre"), "oficina": row.oficina, "fecha": row.fecha,
                   "ahora": now, "p": p, "listas": listas, "inicio_url": f"{base}/inicio"}
        asunto = (f"Resumen diario del {row.fecha:%d/%m/%Y}, {row.oficina.nombre}: "
                  f"{p.cifras['vencidos']} vencido(s), {p.cifras['por_vencer']} por vencer"
                  + (f", {n} plazo(s) de procedimiento por vencer" if (n := p.cifras["procedimientos_por_vencer"]) else ""))
        return self._message(correo, now, asunto, _address("", correo.destinatario), context)

    # -- one method per notice: fill ``context``, return the files to attach ---------------------
    def _constancia(self, expediente, evento, context) -> list:
        payload = orjson.loads(evento.payload)
        enviado = expediente.presentado_en.astimezone(self._calendario.tz)
        context.update(
            enviado=expediente.presentado_en, otro_dia=expediente.fecha_presentacion != enviado.date(),
            documentos=[{**a, "clase": TIPOS_ADJUNTO.get(a.get("tipo"), a.get("tipo", ""))}
                        for a in payload.get("adjuntos", [])])
        _, pdf = verificacion.constancia_registrada(self._services, expediente)  # the copy /verificar recognises
        return [(f"constancia-{expediente.numero}.pdf", pdf)]

    def _casilla(self, expediente, evento, context) -> list:
        """The alert of a deposit: the act's kind and the link, nothing of its content (Ley 31736)."""
        n = Notificacion.get_or_none((Notificacion.expediente == expediente.id) & (Notificacion.evento_seq == evento.seq))
        context.update(acto=casilla.acto(n.tipo if n else ""), depositada=n.depositada_en if n else evento.momento,
                       casilla_url=f"{self._settings.base_url}/casilla?codigo={expediente.codigo}")
        return []

    def _escrito(self, expediente, evento, context) -> list:
        escrito = Escrito.get_or_none(Escrito.evento_seq == evento.seq)
        if escrito is None:
            raise NoEnviable(f"El evento {evento.seq} no registra un escrito del expediente {expediente.numero}.")
        proof = constancia_escrito.de_codigo(self._services, escrito.codigo)
        context.update(c=proof, escrito_url=proof.url)
        return [(f"constancia-escrito-{proof.numero}.pdf", constancia_escrito.sellada(self._services, proof))]

    def _observacion(self, expediente, evento, context) -> list:
        observacion = _ultimo(expediente.id, evento.seq, "observar")
        # ``vence`` is the subsanación's deadline only while nothing has happened since this notice (the way it
        # was notified, decided in the same step, is not something that happened).
        vigente = expediente.vence is not None and not Evento.select().where(
            (Evento.expediente == expediente.id) & (Evento.seq > evento.seq) & (Evento.tipo != "decision")).exists()
        context.update(observacion=self._nota(expediente, observacion), observado=evento.momento,
                       ultimo_dia=self._fecha(expediente.vence - timedelta(minutes=1)) if vigente else "")
        return []

    def _atencion(self, expediente, evento, context) -> list:
        derivacion = (Evento.select(Evento.seq)
                      .where((Evento.expediente == expediente.id) & (Evento.tipo == "tarea")
                             & (Evento.tarea == DERIVACION) & (Evento.seq <= evento.seq))
                      .order_by(Evento.seq.desc()).scalar()) or 0
        rows = list(Evento.select().where(
            (Evento.expediente == expediente.id) & (Evento.tipo == "tarea") & (Evento.accion == "atender")
            & (Evento.seq > derivacion) & (Evento.seq <= evento.seq)).order_by(Evento.seq))
        oficinas = Oficina.nombres()
        respuestas, archivos = [], []
        for row in rows:
            adjuntos = orjson.loads(row.payload).get("adjuntos", [])
            respuestas.append({"oficina": oficinas.get(row.oficina_origen, row.oficina_origen),
                               "momento": row.momento, "texto": self._nota(expediente, row),
                               "archivos": [a["nombre"] for a in adjuntos]})
            archivos.extend((pdf_name(a["nombre"]), a["sha256"]) for a in adjuntos)
        total = sum(self._storage.path(sha).stat().st_size for _, sha in archivos)
        adjuntar = total <= MAX_ADJUNTOS_BYTES
        context.update(respuestas=respuestas, adjuntos_omitidos=total if archivos and not adjuntar else 0)
        return [(nombre, self._storage.path(sha).read_bytes()) for nombre, sha in archivos] if adjuntar else []

    def _archivado(self, expediente, evento, context) -> list:
        """Who archived it and why: mesa de partes at its recepción, or the office (each office, in a parallel
        derivation that none attended) with its reason."""
        ultimo = _ultimo(expediente.id, evento.seq, "archivar")
        filas = [ultimo] if ultimo is not None else []
        if ultimo is not None and ultimo.tarea != RECEPCION:  # an office's atención: every office's since the round
            desde = (Evento.select(Evento.seq)
                     .where((Evento.expediente == expediente.id) & (Evento.tipo == "tarea")
                            & (Evento.tarea.in_((DERIVACION, RECEPCION))) & (Evento.seq < ultimo.seq))
                     .order_by(Evento.seq.desc()).scalar()) or 0
            filas = list(Evento.select().where(
                (Evento.expediente == expediente.id) & (Evento.tipo == "tarea") & (Evento.accion == "archivar")
                & (Evento.seq > desde) & (Evento.seq <= evento.seq)).order_by(Evento.seq))
        oficinas = Oficina.nombres()
        context.update(motivo=self._nota(expediente, ultimo), por_mesa=not filas or filas[-1].tarea == RECEPCION,
                       motivos=[{"oficina": oficinas.get(f.oficina_origen, f.oficina_origen),
                                 "motivo": self._nota(expediente, f)} for f in filas])
        return []

    def _no_presentado(self, expediente, evento, context) -> list:
        observacion = _ultimo(expediente.id, evento.seq, "observar")
        context.update(observacion=self._nota(expediente, observacion),
                       observado=observacion.momento if observacion else None)
        return []

    def _silencio_positivo(self, expediente, evento, context) -> list:
        s, pdf = verificacion.silencio_registrado(self._services, expediente)  # the copy /verificar recognises
        context.update(s=s, silencio_url=f"{self._settings.base_url}/seguimiento/{expediente.codigo}/silencio.pdf")
        return [(f"silencio-positivo-{expediente.numero}.pdf", pdf)]

    def _silencio_negativo(self, expediente, evento, context) -> list:
        context.update(s=silencio.de_expediente(self._services, expediente))
        return []

    def _silencio_positivo_oficina(self, expediente, evento, context) -> list:
        context.update(s=silencio.de_expediente(self._services, expediente),
                       expediente_url=f"{self._settings.base_url}/expedientes/{expediente.numero}")
        return []

    _silencio_negativo_oficina = _silencio_positivo_oficina

    # -- helpers -----------------------------------------------------------------------------------
    def _nota(self, expediente, row: Evento | None) -> str:
        """What the citizen may read of a task's notes (fields not marked ``x-mpv-interno``)."""
        if row is None:
            return ""
        definition = self._definitions.get(expediente.definicion_id)
        # The public seguimiento's own filter: one rule for what a citizen sees.
        return history.public_notes(definition, row, orjson.loads(row.payload))

    def _domain(self) -> str:
        address = parseaddr(self._settings.smtp_from)[1]
        return address.rpartition("@")[2] or "mpv.localhost"

    def _fecha(self, value) -> str:
        if isinstance(value, datetime):
            value = value.astimezone(self._calendario.tz).date()
        return value.strftime("%d/%m/%Y") if isinstance(value, date) else "—"

    def _ultimo_dia(self, vence: datetime | None) -> str:
        """The last day of a plazo that runs out at ``vence`` (the midnight that ends it)."""
        return "—" if vence is None else self._fecha(vence - timedelta(minutes=1))

    def _fechahora(self, value: datetime | None) -> str:
        return "—" if value is None else value.astimezone(self._calendario.tz).strftime("%d/%m/%Y a las %H:%M")


def _ultimo(expediente_id: int, hasta_seq: int, accion: str) -> Evento | None:
    """The latest task row with ``accion`` at or before ``hasta_seq``."""
    return (Evento.select()
            .where((Evento.expediente == expediente_id) & (Evento.tipo == "tarea") & (Evento.accion == accion)
                   & (Evento.seq <= hasta_seq))
            .order_by(Evento.seq.desc()).first())


def _address(nombre: str, email: str) -> Address:
    """The recipient, by the rule the filing applied (``mpv.correo_direccion``), in the ASCII form every
    relay takes. A control character in the name (a row from before the filing refused them) becomes a
    space: a name never breaks the header, and the notice still goes out.

    :raise NoEnviable: when ``email`` is not an address a message can be sent to.
    """
    try:
        envio = direccion(email).envio
    except DireccionNoValida as exc:
        raise NoEnviable(f"La dirección del remitente no es válida: «{email}» ({exc.motivo}).") from None
    nombre = " ".join("".join(c if c.isprintable() else " " for c in nombre).split())
    try:
        return Address(display_name=nombre, addr_spec=envio)
    except (ValueError, IndexError, HeaderParseError):  # the parser signals some bad input as IndexError
        raise NoEnviable(f"La dirección del remitente no es válida: «{email}».") from None
