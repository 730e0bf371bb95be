"""Inside an office: who of its people holds an expediente (:class:`Asignacion`), and every expediente the office
ever held (:class:`Paso`, its history).

Kept apart from :mod:`mpv.models` (which imports them into ``MODELS``) so that no module passes 400 lines.
"""
from __future__ import annotations

import peewee as pw

from .fields import UTCDateTimeField
from .models import BaseModel, Evento, Expediente, Oficina, Tarea, Usuario


class Asignacion(BaseModel):
    """The person of ``oficina`` who works an expediente while it is there: only they complete its tasks of that
    office. The office's head sets and changes it; it ends when the expediente leaves the office (the engine
    step deletes it), and each change is a history row."""

    expediente = pw.ForeignKeyField(Expediente, on_delete="CASCADE")
    oficina = pw.ForeignKeyField(Oficina, on_delete="RESTRICT")
    usuario = pw.ForeignKeyField(Usuario, on_delete="RESTRICT")
    asignado_por = pw.ForeignKeyField(Usuario, on_delete="RESTRICT", backref="asignaciones_hechas")
    desde = UTCDateTimeField()

    class Meta:
        indexes = ((("expediente", "oficina"), True), (("usuario", "desde"), False))

    @classmethod
    def de(cls, expediente_id: int, oficina: str) -> "Asignacion | None":
        """The assignment of the expediente in the office whose code is ``oficina``, with its person."""
        return (cls.select(cls, Usuario).join(Usuario, on=cls.usuario).switch(cls).join(Oficina)
                .where((cls.expediente == expediente_id) & (Oficina.codigo == oficina)).first())

    @classmethod
    def soltar(cls, expediente_id: int, oficina_ids) -> None:
        """End the assignments of the offices the expediente left."""
        cls.delete().where((cls.expediente == expediente_id) & cls.oficina.in_(list(oficina_ids))).execute()


class Paso(BaseModel):
    """An office held an expediente (a task of it reached the office): since when, first time. The office's
    history reads these rows, newest first."""

    expediente = pw.ForeignKeyField(Expediente, on_delete="CASCADE")
    oficina = pw.ForeignKeyField(Oficina, on_delete="RESTRICT")
    desde = UTCDateTimeField()

    class Meta:
        indexes = ((("expediente", "oficina"), True), (("oficina", "desde", "id"), False))

    @classmethod
    def registrar(cls, expediente_id: int, oficina_ids, desde) -> None:
        rows = [{"expediente": expediente_id, "oficina": o, "desde": desde} for o in oficina_ids]
        if rows:
            cls.insert_many(rows).on_conflict_ignore().execute()

    @classmethod
    def rellenar(cls) -> None:
        """Fill the table of a database older than it from what the office did (its history rows) and what waits
        in it (its tasks): earliest first, each pair once."""
        hechas = (Evento.select(Evento.expediente, Oficina.id, pw.fn.MIN(Evento.momento))
                  .join(Oficina, on=(Oficina.codigo == Evento.oficina_origen))
                  .where((Evento.tipo == "tarea") & Evento.expediente.is_null(False))
                  .group_by(Evento.expediente, Oficina.id))
        pendientes = (Tarea.select(Tarea.expediente, Tarea.oficina, pw.fn.MIN(Tarea.desde))
                      .where(Tarea.oficina.is_null(False)).group_by(Tarea.expediente, Tarea.oficina))
        for query in (hechas, pendientes):
            cls.insert_from(query, [cls.expediente, cls.oficina, cls.desde]).on_conflict_ignore().execute()
