"""How a step notifies the acts it records (DOMAIN rule 15): in the citizen's casilla electrónica when he consented to
one (an alert e-mail announces the deposit) or by e-mail as before; each act's Notificacion row and history row say
which way it went. The constancia de presentación and that of an escrito are proofs of what the citizen filed, not
acts notified to him: they always go by e-mail, as before."""
from __future__ import annotations

import orjson

from ..models import ConsentimientoCasilla, Correo, Evento, Expediente, Notificacion
from ..models_notificaciones import CASILLA, CORREO
from ..prepared import PreparedQuery

ALERTA = "casilla"  # the e-mail that announces a deposit in the casilla electrónica
PRUEBAS = {"constancia", "escrito"}  # the e-mailed proofs of a filing and of an escrito
INSERT_MAIL = PreparedQuery.insertion(Correo, "expediente", "tipo", "destinatario", "evento_seq", "proximo_intento",
                                      "creado_en")


def marcar_via(expediente: Expediente, avisos: list[tuple[str, dict]]) -> str:
    """How the acts among ``avisos`` (notice type, history row) are notified now; each row's note and payload say
    it (call before the rows are appended)."""
    actos = [row for tipo, row in avisos if tipo not in PRUEBAS]
    if not actos:
        return CORREO
    via = CASILLA if ConsentimientoCasilla.vigente(expediente.id) else CORREO
    nota = "Notificado en la casilla electrónica." if via == CASILLA else "Notificado por correo electrónico."
    if via == CORREO and not expediente.remitente.email:  # filed on paper without one (mpv.tramites.presencial)
        nota = "El administrado no dio correo electrónico: notifíquesele en su dirección."
    for row in actos:
        row["payload"] = {**(row.get("payload") or {}), "via": via}
        row["detalle"] = "\n".join(x for x in (row.get("detalle") or "", nota) if x)
    return via


def depositar(step, eventos, via: str):
    """Queue the e-mails of the step's notices and record each act as a Notificacion (inside the step)."""
    expediente, now = step.expediente, step.now
    email = expediente.remitente.email
    position = {id(row): i for i, row in enumerate(step.rows)}
    for tipo, row in step.avisos:
        seq = eventos[position[id(row)]].seq
        if tipo in PRUEBAS:
            if email:
                INSERT_MAIL.insert(expediente.id, tipo, email, seq, now, now)
            continue
        # Deposited in the casilla, the e-mail is only its alert; otherwise it is the notice itself (none to a sender
        # without an address: mesa de partes notifies him at his address, as the history row says).
        if email:
            INSERT_MAIL.insert(expediente.id, ALERTA if via == CASILLA else tipo, email, seq, now, now)
        Notificacion.insert(expediente=expediente.id, tipo=tipo, evento_seq=seq, via=via,
                            documentos=orjson.dumps(documentos(expediente.id, tipo, step.rows, row, seq)).decode(),
                            depositada_en=now,
                            dias_efecto=step.engine.dias_notificacion() if via == CASILLA else 0).execute()


def documentos(expediente_id: int, tipo: str, rows: list[dict], acto: dict, seq: int) -> list[dict]:
    """The files an act carries ([{nombre, sha256}]): those of the step's rows and, for an answer, those of every
    office's answer since the last derivation."""
    payloads = [r.get("payload") for r in rows if r is not acto]
    if tipo == "atencion":
        desde = (Evento.select(Evento.seq).where((Evento.expediente == expediente_id) & (Evento.tipo == "tarea")
                                                & (Evento.tarea == "derivacion"))
                 .order_by(Evento.seq.desc()).scalar()) or 0
        payloads += [orjson.loads(p) for (p,) in Evento.select(Evento.payload).where(
            (Evento.expediente == expediente_id) & (Evento.accion == "atender") & (Evento.seq > desde)
            & (Evento.seq < seq)).tuples()]
    vistos, lista = set(), []
    for payload in payloads:
        for a in (payload or {}).get("adjuntos", []) if isinstance(payload, dict) else []:
            if a.get("sha256") and a["sha256"] not in vistos:
                vistos.add(a["sha256"])
                lista.append({"nombre": a.get("nombre", ""), "sha256": a["sha256"]})
    return lista
