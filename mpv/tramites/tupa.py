"""The municipality's TUPA (rule 10): the procedures a citizen can file, each with its requirements, fee,
calificación, maximum time and competent office. These are the reads every face uses and the administrator's
upkeep (create, modify, activate, deactivate), which checks what is written with the rules of :mod:`.tupa_ficha`;
the CSV import and export (:mod:`.tupa_csv`) build on them.

Codes are never edited, and a procedure is never deleted: expedientes and history rows keep it. Deactivating
stops offering it to new filings. An active procedure always has an active competent office. Each change writes
its ``tipo=admin`` audit row in the same transaction, and only an administrator (or the system) may make it.
"""
from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

from ..engine import Actor
from ..errors import InvalidInput, NotFound
from ..models import CALIFICACIONES, Oficina, Procedimiento
from .administracion import REVISE, auditar, solo_administrador, unique_write
from .tupa_ficha import Ficha, revisar

# The columns of the CSV file, and the text each field is written as (:func:`en_texto`).
COLUMNAS = ("codigo", "nombre", "requisitos", "derecho_tramite", "calificacion", "plazo_dias", "oficina",
            "base_legal", "activo")
SEPARADOR = " | "  # between requirements, in the CSV file and the audit rows


def activos() -> list[Procedimiento]:
    """The procedures a citizen may file now, by code."""
    return list(Procedimiento.select(Procedimiento, Oficina).join(Oficina)  # every face shows the office
                .where(Procedimiento.activo == True).order_by(Procedimiento.codigo))  # noqa: E712


def por_codigo(codigo: str) -> Procedimiento | None:
    return Procedimiento.get_or_none(Procedimiento.codigo == (codigo or "").strip().upper())


def requisitos(procedimiento: Procedimiento) -> list[str]:
    """The procedure's checklist, in order."""
    return list(json.loads(procedimiento.requisitos or "[]"))


def tiene_derecho(procedimiento: Procedimiento) -> bool:
    """Whether the procedure has a fee to pay (a derecho de trámite above zero)."""
    return procedimiento.derecho_tramite is not None and Decimal(procedimiento.derecho_tramite) > 0


def declarados(procedimiento: Procedimiento, marcados: list[int]) -> str:
    """What the filing keeps of its checklist: each requirement as the TUPA words it today, and whether the
    citizen ticked it (JSON), so a later change of the TUPA does not change what he declared."""
    return json.dumps([{"requisito": texto, "marcado": n in marcados}
                       for n, texto in enumerate(requisitos(procedimiento), 1)], ensure_ascii=False)


def marcados(expediente) -> list[dict]:
    """The checklist the filing declared: [{"requisito": …, "marcado": bool}], empty for a documento simple."""
    return list(json.loads(expediente.requisitos or "[]"))


def derecho(procedimiento: Procedimiento) -> str:
    """The fee as a citizen reads it: «S/ 45.50» or «Gratuito»."""
    monto = procedimiento.derecho_tramite
    return "Gratuito" if monto is None or Decimal(monto) == 0 else f"S/ {Decimal(monto):.2f}"


def calificacion(procedimiento: Procedimiento) -> str:
    return CALIFICACIONES.get(procedimiento.calificacion, procedimiento.calificacion)


def plazo(procedimiento: Procedimiento) -> str:
    """«15 días hábiles», or «—» for aprobación automática."""
    dias = procedimiento.plazo_dias
    return "—" if dias is None else f"{dias} día{'' if dias == 1 else 's'} hábil{'' if dias == 1 else 'es'}"


def en_texto(procedimiento: Procedimiento) -> dict[str, str]:
    """Each column of :data:`COLUMNAS` as the CSV file writes it (and the audit rows compare it)."""
    p = procedimiento
    monto = p.derecho_tramite
    return {"codigo": p.codigo, "nombre": p.nombre, "requisitos": SEPARADOR.join(requisitos(p)),
            "derecho_tramite": "" if monto is None else f"{Decimal(monto):.2f}", "calificacion": p.calificacion,
            "plazo_dias": "" if p.plazo_dias is None else str(p.plazo_dias), "oficina": p.oficina.codigo,
            "base_legal": p.base_legal, "activo": "sí" if p.activo else "no"}


def lista(actor: Actor) -> list[Procedimiento]:
    """Every procedure, active or not, by code. :raise NotAllowed: for a non-administrator."""
    _puede(actor)
    return list(Procedimiento.select(Procedimiento, Oficina).join(Oficina).order_by(Procedimiento.codigo))


def procedimiento(actor: Actor, procedimiento_id: int) -> Procedimiento:
    """The procedure ``procedimiento_id``. :raise NotFound: / :raise NotAllowed:"""
    _puede(actor)
    return _procedimiento(Procedimiento.select(), procedimiento_id)


def oficinas(actor: Actor) -> list[Oficina]:
    """The offices a procedure may name as competent: the active ones, by name."""
    _puede(actor)
    return Oficina.activas()


def crear(services, actor: Actor, ficha: Ficha) -> Procedimiento:
    """Add a procedure to the TUPA, active. Returns it.

    :raise InvalidInput: naming each bad field, or the code already taken (even by a request that took it a
        moment before this one); nothing is written. :raise NotAllowed:
    """
    _puede(actor)
    valores, errores = revisar(ficha)
    if errores:
        raise InvalidInput(REVISE, errores)
    codigo = valores["codigo"]
    tomado = {"codigo": f"Ya existe el procedimiento {codigo}; use otro código."}

    def create():
        if Procedimiento.get_or_none(Procedimiento.codigo == codigo) is not None:
            raise InvalidInput(f"Ya existe el procedimiento {codigo}.", tomado)
        return guardar(services, actor, None, valores, True)[0]

    return unique_write(services.db, create, InvalidInput(f"Ya existe el procedimiento {codigo}.", tomado))


def modificar(services, actor: Actor, procedimiento_id: int, ficha: Ficha) -> Procedimiento:
    """Change a procedure's data (never its code). Returns it changed.

    :raise InvalidInput: naming each bad field; nothing is written. :raise NotFound: / :raise NotAllowed:
    """
    _puede(actor)
    with services.db.write():
        row = _procedimiento(services.db.locked(Procedimiento.select()), procedimiento_id)
        valores, errores = revisar(dataclasses.replace(ficha, codigo=row.codigo), row.activo)
        if errores:
            raise InvalidInput(REVISE, errores)
        return guardar(services, actor, row, valores, row.activo)[0]


def activar(services, actor: Actor, procedimiento_id: int) -> Procedimiento:
    """Offer a procedure again to new filings. :raise InvalidInput: its competent office is deactivated.
    :raise NotFound: / :raise NotAllowed:"""
    return _cambiar_estado(services, actor, procedimiento_id, True)


def desactivar(services, actor: Actor, procedimiento_id: int) -> Procedimiento:
    """Stop offering a procedure to new filings; the expedientes filed with it keep it.
    :raise NotFound: / :raise NotAllowed:"""
    return _cambiar_estado(services, actor, procedimiento_id, False)


def guardar(services, actor: Actor, row: Procedimiento | None, valores: dict, activo: bool,
            origen: str = "") -> tuple[Procedimiento, str]:
    """Write ``valores`` (checked by :func:`revisar`) as a new procedure (``row`` None) or over ``row``, and its
    audit row; ``origen`` opens the audit detail («importado de tupa.csv»). Call inside ``db.write()``.
    Returns (the procedure, "creado" | "modificado" | "" when nothing changed)."""
    columnas = {**valores, "oficina": valores["oficina"].id, "activo": activo}
    if row is None:
        row = Procedimiento.create(**columnas)
        cambio, detalle = "creado", "; ".join(f"{k}: {v}" for k, v in en_texto(row).items() if k != "codigo")
    else:
        antes = en_texto(row)
        Procedimiento.update(**columnas).where(Procedimiento.id == row.id).execute()
        row = Procedimiento.get_by_id(row.id)
        despues = en_texto(row)
        detalle = "; ".join(f"{k}: {antes[k] or '(vacío)'} → {despues[k] or '(vacío)'}"
                            for k in COLUMNAS if antes[k] != despues[k])
        if not detalle:
            return row, ""
        cambio = "modificado"
    auditar(services, actor, f"procedimiento_{cambio}", f"El procedimiento {row.codigo} fue {cambio}.",
            f"{origen}; {detalle}" if origen else detalle)
    return row, cambio


def _cambiar_estado(services, actor: Actor, procedimiento_id: int, activo: bool) -> Procedimiento:
    _puede(actor)
    with services.db.write():
        row = _procedimiento(services.db.locked(Procedimiento.select()), procedimiento_id)
        if activo and not row.oficina.activa:
            raise InvalidInput(f"La oficina competente {row.oficina.codigo} está desactivada: elija otra oficina "
                               f"para el procedimiento {row.codigo} y vuelva a activarlo.",
                               {"oficina": "Elija una oficina activa."})
        Procedimiento.update(activo=activo).where(Procedimiento.id == row.id).execute()
        estado = "activado" if activo else "desactivado"
        auditar(services, actor, f"procedimiento_{estado}", f"El procedimiento {row.codigo} quedó {estado}.")
    return Procedimiento.get_by_id(row.id)


def _puede(actor: Actor):
    solo_administrador(actor, "cambiar el TUPA")


def _procedimiento(query, procedimiento_id: int) -> Procedimiento:
    row = query.where(Procedimiento.id == procedimiento_id).first()
    if row is None:
        raise NotFound(f"No existe el procedimiento N° {procedimiento_id}; vuelva a la lista del TUPA y elíjalo "
                       "de nuevo.")
    return row


@dataclasses.dataclass
class ProcedimientoPresentado:
    """What every face shows of the procedure an expediente was filed under."""

    codigo: str
    nombre: str
    calificacion: str  # the key: automatica | positivo | negativo
    calificacion_texto: str
    plazo_dias: int | None
    derecho: str
    recibo_pago: str
    oficina: str
    base_legal: str
    requisitos: list[dict]  # [{"requisito": …, "marcado": bool}] as the citizen declared them

    @property
    def faltantes(self) -> list[str]:
        return [r["requisito"] for r in self.requisitos if not r["marcado"]]


def oficina_competente(expediente) -> str | None:
    """The code of the office the TUPA names for the expediente's procedure, if it has one and it is active."""
    if expediente.procedimiento_id is None:
        return None
    oficina = expediente.procedimiento.oficina
    return oficina.codigo if oficina.activa else None


def de_expediente(expediente) -> ProcedimientoPresentado | None:
    """The procedure of ``expediente`` as its pages show it; None for a documento simple."""
    if expediente.procedimiento_id is None:
        return None
    p = expediente.procedimiento
    return ProcedimientoPresentado(p.codigo, p.nombre, p.calificacion, calificacion(p), p.plazo_dias, derecho(p),
                 expediente.recibo_pago, p.oficina.nombre, p.base_legal, marcados(expediente))
