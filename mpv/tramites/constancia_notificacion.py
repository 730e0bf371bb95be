"""The constancia de notificación (DOMAIN rule 15): what MPV can prove of one notified act — the expediente, the act,
the way it went, its deposit, every opening, the acuse de recibo, the day it took effect and the SHA-256 of each
document it carried, sealed by the entity (:func:`mpv.sello.sellar`) so that anyone can verify it without MPV.
Downloadable from the casilla and by staff."""
from __future__ import annotations

from datetime import datetime

from .. import sello
from ..models import Expediente, Notificacion
from ..models_notificaciones import CASILLA
from . import verificacion
from .casilla import acto, vista
from .hoja_pdf import fecha_larga, filas, hoja, latin1


def sellada(services, expediente: Expediente, n: Notificacion) -> bytes:
    """The constancia of ``n`` as it stands now, sealed by the entity now and registered as handed out (so that
    ``/verificar`` recognises the copy)."""
    contenido = sello.sellar(services.settings, pdf(services, expediente, n),
                             f"Constancia de notificación del expediente {expediente.numero}", services.clock())
    return verificacion.registrar(services, "notificacion", expediente.id,
                                  f"Constancia de notificación {expediente.numero}: {acto(n.tipo)}", contenido,
                                  verificacion.sellado(services))


def pdf(services, expediente: Expediente, n: Notificacion) -> bytes:
    """The constancia of ``n`` as it stands now, as a PDF (unsealed)."""
    tz = services.calendario.tz
    ahora = services.clock()
    v = vista(n, services.calendario, ahora)

    def hora(momento: datetime) -> str:
        return momento.astimezone(tz).strftime("%d/%m/%Y %H:%M:%S") + " (hora de Lima)"

    doc = hoja(f"Constancia de notificación {expediente.numero}", services.parametros.get("entidad_nombre"))
    doc.set_font("helvetica", "B", 15)
    doc.cell(0, 9, latin1("CONSTANCIA DE NOTIFICACIÓN"), new_x="LMARGIN", new_y="NEXT", align="C")
    doc.ln(3)
    casilla = n.via == CASILLA
    if casilla:
        efecto = (fecha_larga(v.efecto) if v.efecto else
                  f"aún no: surtirá efecto el {fecha_larga(v.efecto_previsto)} si no hay acuse de recibo antes")
    else:
        efecto = "notificación por correo electrónico, válida al confirmarse su recepción (TUO de la Ley 27444, art. 20.4)"
    rows = [
        ("N° de expediente", expediente.numero),
        ("Remitente", f"{expediente.remitente_nombre} ({expediente.remitente_documento})"),
        ("Acto notificado", v.acto),
        ("Vía", v.via),
        ("Depositado" if casilla else "Enviado", hora(n.depositada_en)),
        ("Acuse de recibo", (hora(n.acuse_en) + (f" desde {n.acuse_ip}" if n.acuse_ip else "")) if n.acuse_en
         else "sin acuse"),
        ("Surte efecto", efecto),
    ]
    if casilla:
        rows.insert(5, ("Días sin acuse", f"{n.dias_efecto} días hábiles desde el depósito"))
    filas(doc, rows, 48)
    doc.ln(3)
    doc.set_font("helvetica", "B", 11)
    doc.cell(0, 7, "Aperturas de la casilla", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("helvetica", "", 10)
    aperturas = [a for a in v.aperturas if a.tipo == "apertura"]
    for a in aperturas:
        doc.multi_cell(0, 5, latin1(f"{hora(a.momento)} desde {a.ip or 'dirección desconocida'}"),
                       new_x="LMARGIN", new_y="NEXT")
    if not aperturas:
        doc.multi_cell(0, 5, latin1("Ninguna." if casilla else "No corresponde (notificación por correo)."),
                       new_x="LMARGIN", new_y="NEXT")
    doc.ln(3)
    doc.set_font("helvetica", "B", 11)
    doc.cell(0, 7, "Documentos notificados", new_x="LMARGIN", new_y="NEXT")
    for d in v.documentos:
        doc.set_font("helvetica", "", 10)
        doc.multi_cell(0, 5, latin1(d["nombre"]), new_x="LMARGIN", new_y="NEXT")
        doc.set_font("courier", "", 8)
        doc.multi_cell(0, 4, f"SHA-256 {d['sha256']}", new_x="LMARGIN", new_y="NEXT")
    if not v.documentos:
        doc.set_font("helvetica", "", 10)
        doc.multi_cell(0, 5, latin1("El acto no lleva documentos adjuntos: su texto consta en la casilla."),
                       new_x="LMARGIN", new_y="NEXT")
    doc.ln(4)
    doc.set_font("helvetica", "", 9)
    doc.multi_cell(0, 5, latin1(
        "Un acto depositado en la casilla electrónica surte efecto el día del acuse de recibo o, sin acuse, al "
        "cumplirse los días hábiles indicados desde el depósito (Ley 31736; TUO de la Ley 27444, arts. 16, 20 a 25). "
        "Los plazos que dependen de la notificación empiezan el día hábil siguiente. Emitida el "
        + hora(ahora) + "."), new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())
