"""What the citizen holds when the procedure's deadline ran out with no decision notified (TUO de la Ley 27444,
arts. 35–38 and 199): for silencio positivo, a PDF stating that the request stands approved by law, which he may
show together with his declaración jurada; for silencio negativo, what he may do (appeal, or wait for the
decision). The dates come from the expediente and the history row the engine wrote when its timer fired.
"""
from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

from .. import sello
from ..errors import NotFound
from ..models import Evento, Expediente
from . import tupa
from .hoja_pdf import fecha_larga, filas, hoja, latin1

TEXTO_POSITIVO = (
    "Vencido el plazo máximo del procedimiento sin que la entidad notificara su pronunciamiento, la solicitud se "
    "considera APROBADA por silencio administrativo positivo (TUO de la Ley 27444, arts. 35, 36 y 199). El "
    "administrado puede hacer valer esta aprobación ante la propia entidad o ante terceros con el cargo de su "
    "solicitud (la constancia de presentación) y una declaración jurada; la entidad la registra en el expediente. "
    "Solo puede dejarse sin efecto mediante la declaración de nulidad de oficio prevista en la ley.")
TEXTO_NEGATIVO = (
    "Vencido el plazo máximo del procedimiento sin que la entidad notificara su pronunciamiento, se aplica el "
    "silencio administrativo negativo (TUO de la Ley 27444, arts. 38 y 199): usted puede considerar denegada su "
    "solicitud e interponer los recursos administrativos que correspondan, o esperar el pronunciamiento de la "
    "entidad, que sigue obligada a resolver.")


@dataclasses.dataclass
class Silencio:
    entidad: str
    numero: str
    asunto: str
    remitente: str
    procedimiento: str  # «LF-01 Licencia de funcionamiento…»
    calificacion: str
    base_legal: str
    plazo_dias: int
    fecha_presentacion: date
    ultimo_dia: date  # the plazo's last business day
    aplicado: datetime  # when the engine recorded it (local time)
    positivo: bool
    seguimiento_url: str


def de_expediente(services, expediente: Expediente) -> Silencio:
    """The silencio that applied to ``expediente``. :raise NotFound: when none did."""
    if expediente.silencio not in ("positivo", "negativo") or expediente.procedimiento_id is None:
        raise NotFound(f"Al expediente {expediente.numero} no se le aplicó silencio administrativo.")
    procedimiento = expediente.procedimiento
    fila = (Evento.select().where((Evento.expediente == expediente.id) & (Evento.tipo == "evento")
                                  & (Evento.accion == f"silencio_{expediente.silencio}"))
            .order_by(Evento.seq).first())
    aplicado = (fila.momento if fila else expediente.plazo_vence).astimezone(services.calendario.tz)
    vence = expediente.plazo_vence.astimezone(services.calendario.tz)
    return Silencio(
        entidad=services.parametros.get("entidad_nombre"), numero=expediente.numero, asunto=expediente.asunto,
        remitente=expediente.remitente_nombre, procedimiento=f"{procedimiento.codigo} {procedimiento.nombre}",
        calificacion=tupa.calificacion(procedimiento), base_legal=procedimiento.base_legal,
        plazo_dias=procedimiento.plazo_dias or 0, fecha_presentacion=expediente.fecha_presentacion,
        ultimo_dia=(vence - timedelta(seconds=1)).date(), aplicado=aplicado,
        positivo=expediente.silencio == "positivo",
        seguimiento_url=f"{services.settings.base_url}/seguimiento/{expediente.codigo}")


def sellada(services, s: Silencio) -> bytes:
    """The statement's PDF sealed by the entity now (:func:`mpv.sello.sellar`): anyone can verify it without MPV."""
    return sello.sellar(services.settings, pdf(s), f"Constancia de silencio administrativo del expediente {s.numero}",
                        services.clock())


def pdf(s: Silencio) -> bytes:
    """The statement of silencio administrativo positivo (or negativo) as a one-page PDF, unsealed."""
    titulo = ("CONSTANCIA DE APROBACIÓN POR SILENCIO ADMINISTRATIVO POSITIVO" if s.positivo
              else "CONSTANCIA DE SILENCIO ADMINISTRATIVO NEGATIVO")
    doc = hoja(f"{titulo.capitalize()} {s.numero}", s.entidad, creado=s.aplicado)
    doc.set_font("helvetica", "B", 13)
    doc.multi_cell(0, 7, latin1(titulo), new_x="LMARGIN", new_y="NEXT", align="C")
    doc.ln(3)
    filas(doc, [("N° de expediente", s.numero), ("Administrado", s.remitente), ("Asunto", s.asunto),
                ("Procedimiento (TUPA)", s.procedimiento), ("Calificación", s.calificacion),
                ("Base legal", s.base_legal or "-"), ("Fecha de presentación", fecha_larga(s.fecha_presentacion)),
                ("Plazo máximo", f"{s.plazo_dias} días hábiles"), ("Último día del plazo", fecha_larga(s.ultimo_dia)),
                ("Registrado por el sistema", s.aplicado.strftime("%d/%m/%Y %H:%M:%S") + " (hora de Lima)")], 52)
    doc.ln(4)
    doc.set_font("helvetica", "", 10)
    doc.multi_cell(0, 5, latin1(TEXTO_POSITIVO if s.positivo else TEXTO_NEGATIVO), new_x="LMARGIN", new_y="NEXT")
    doc.ln(3)
    doc.set_font("helvetica", "", 9)
    doc.multi_cell(0, 5, latin1(f"Consulte el expediente en: {s.seguimiento_url}"), new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())
