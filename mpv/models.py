"""peewee models: the municipality's data, the process instances and their history.

All times are stored as UTC and returned as aware ``datetime`` objects (:class:`UTCDateTimeField`).
Lists read from projections kept on :class:`Expediente`, :class:`Tarea` and :class:`Temporizador`,
which the engine rewrites in the same transaction as each step; the history itself lives only in
:class:`Evento` rows, which are append-only and hash-chained (see ``mpv.history``).
"""
from __future__ import annotations

import peewee as pw

from .db import proxy
from .fields import UTCDateTimeField, utcnow  # noqa: F401 - utcnow: every model module's «now»

ROLES = {
    "mesa": "Mesa de partes",
    "oficina": "Oficina",
    "auditor": "Auditor",
    "analista": "Analista",
    "admin": "Administrador",
}


class BaseModel(pw.Model):
    class Meta:
        database = proxy
        legacy_table_names = False


class Oficina(BaseModel):
    codigo = pw.CharField(max_length=20, unique=True)
    nombre = pw.CharField(max_length=200)
    es_mesa_partes = pw.BooleanField(default=False)
    activa = pw.BooleanField(default=True)
    alertas = pw.BooleanField(default=True)  # the daily digest of its expedientes por vencer and vencidos

    @classmethod
    def mesa_de_partes(cls) -> "Oficina | None":
        return cls.select().where(cls.es_mesa_partes == True).first()  # noqa: E712

    @classmethod
    def activas(cls) -> list["Oficina"]:
        return list(cls.select().where(cls.activa == True).order_by(cls.nombre))  # noqa: E712

    @classmethod
    def por_codigo(cls, codigo: str) -> "Oficina | None":
        return cls.get_or_none(cls.codigo == codigo)

    @classmethod
    def nombres(cls) -> dict[str, str]:
        """Every office's code → name, for history rows (which store codes)."""
        return dict(cls.select(cls.codigo, cls.nombre).tuples())


class Usuario(BaseModel):
    username = pw.CharField(max_length=60, unique=True)
    nombre = pw.CharField(max_length=200)
    email = pw.CharField(max_length=200, default="")
    rol = pw.CharField(max_length=20)
    oficina = pw.ForeignKeyField(Oficina, null=True, backref="usuarios", on_delete="RESTRICT")
    password_hash = pw.CharField(max_length=300)
    activo = pw.BooleanField(default=True)
    creado_en = UTCDateTimeField(default=utcnow)
    # Set when an administrator generated the password (new user, reset): the next login must replace it.
    cambiar_clave = pw.BooleanField(default=False)
    jefe = pw.BooleanField(default=False)  # heads their office: assigns its expedientes, reads its reports

    @classmethod
    def correos_de(cls, oficinas) -> list[str]:
        """The addresses of the active users of ``oficinas`` (ids), each once: who gets an office's mail."""
        return sorted({email for (email,) in cls.select(cls.email).where(
            cls.oficina.in_(list(oficinas)), cls.activo == True, cls.email != "").tuples()})  # noqa: E712


class Sesion(BaseModel):
    """A staff login: server-side, found by the SHA-256 of the cookie's random token."""

    token_hash = pw.CharField(max_length=64, unique=True)
    usuario = pw.ForeignKeyField(Usuario, backref="sesiones", on_delete="CASCADE")
    csrf = pw.CharField(max_length=64)
    creada = UTCDateTimeField()
    ultimo_uso = UTCDateTimeField()
    ip = pw.CharField(max_length=64, default="")


class IntentoAcceso(BaseModel):
    """Failed logins of one account name: after a few, it must wait (back-off) — other accounts are not affected."""

    username = pw.CharField(max_length=60, unique=True)
    fallos = pw.IntegerField(default=0)
    bloqueado_hasta = UTCDateTimeField(null=True)
    ultimo_fallo = UTCDateTimeField(null=True)


class Parametro(BaseModel):
    """An entity-wide setting the administrator edits (office hours, the optional filing cutoff)."""

    clave = pw.CharField(max_length=60, unique=True)
    valor = pw.CharField(max_length=200, default="")


class TipoDocumento(BaseModel):
    codigo = pw.CharField(max_length=20, unique=True)
    nombre = pw.CharField(max_length=120)
    activo = pw.BooleanField(default=True)


class Feriado(BaseModel):
    """A local or regional holiday, or a decreed non-working day for the public sector."""

    fecha = pw.DateField(unique=True)
    nombre = pw.CharField(max_length=200)
    tipo = pw.CharField(max_length=20, default="local")  # local | regional | no laborable


CALIFICACIONES = {
    "automatica": "Aprobación automática",
    "positivo": "Evaluación previa con silencio positivo",
    "negativo": "Evaluación previa con silencio negativo",
}


class Procedimiento(BaseModel):
    """A procedure of the municipality's TUPA: what the citizen must bring, what it costs, who decides it and
    in how many business days (rule 10). A filing without one is a «documento simple»: no procedure deadline."""

    codigo = pw.CharField(max_length=20, unique=True)
    nombre = pw.CharField(max_length=300)
    requisitos = pw.TextField(default="[]")  # JSON: the checklist, in order
    derecho_tramite = pw.DecimalField(max_digits=10, decimal_places=2, null=True)  # soles; None: gratuito
    calificacion = pw.CharField(max_length=12)  # a key of CALIFICACIONES
    plazo_dias = pw.IntegerField(null=True)  # business days; None for aprobación automática
    oficina = pw.ForeignKeyField(Oficina, on_delete="RESTRICT")  # the competent office
    base_legal = pw.CharField(max_length=500, default="")
    activo = pw.BooleanField(default=True)


class ProcessDefinition(BaseModel):
    """One version of a process: its BPMN and form files, stored by the SHA-256 of their content."""

    sha256 = pw.CharField(max_length=64, unique=True)
    process_id = pw.CharField(max_length=100, index=True)
    nombre = pw.CharField(max_length=200)
    archivos = pw.TextField()  # JSON: file name -> text
    autor = pw.CharField(max_length=60, default="sistema")
    creado_en = UTCDateTimeField(default=utcnow)
    activa = pw.BooleanField(default=False)


class Remitente(BaseModel):
    tipo_persona = pw.CharField(max_length=10)  # natural | juridica
    tipo_documento_identidad = pw.CharField(max_length=10)  # DNI | CE | PASAPORTE | RUC
    numero_documento_identidad = pw.CharField(max_length=20, index=True)
    nombres = pw.CharField(max_length=120, default="")
    apellidos = pw.CharField(max_length=120, default="")
    razon_social = pw.CharField(max_length=250, default="")
    email = pw.CharField(max_length=200, default="")
    telefono = pw.CharField(max_length=30, default="")
    direccion = pw.CharField(max_length=300, default="")

    @property
    def nombre_completo(self) -> str:
        if self.tipo_persona == "juridica":
            return self.razon_social
        return f"{self.nombres} {self.apellidos}".strip()


# How a filing (and an escrito) came in: through the virtual desk, or on paper at the counter (mesa de partes).
VIRTUAL, PRESENCIAL = "virtual", "presencial"
VIAS = {VIRTUAL: "Mesa de partes virtual", PRESENCIAL: "Presentado en físico en mesa de partes"}


class Numeracion(BaseModel):
    """The register's last number for each year: numbers are consecutive and never reused."""

    anio = pw.IntegerField(primary_key=True)
    ultimo = pw.IntegerField(default=0)


class Expediente(BaseModel):
    numero = pw.CharField(max_length=16, unique=True)
    anio = pw.IntegerField()
    correlativo = pw.IntegerField()
    codigo = pw.CharField(max_length=40, unique=True)  # tracking code, >= 128 random bits
    remitente = pw.ForeignKeyField(Remitente, backref="expedientes", on_delete="RESTRICT")
    # Denormalised for list search and sort without a join.
    remitente_nombre = pw.CharField(max_length=250, default="")
    remitente_documento = pw.CharField(max_length=20, default="")
    tipo_documento = pw.ForeignKeyField(TipoDocumento, on_delete="RESTRICT")
    numero_documento = pw.CharField(max_length=60, default="")
    asunto = pw.CharField(max_length=500)
    busqueda = pw.TextField(default="")  # sender and subject without accents, for full-text search
    folios = pw.IntegerField(default=1)
    presentado_en = UTCDateTimeField()  # when it was sent
    fecha_presentacion = pw.DateField()  # the legal filing date (Ley 31465)
    definicion = pw.ForeignKeyField(ProcessDefinition, on_delete="RESTRICT")
    procedimiento = pw.ForeignKeyField(Procedimiento, null=True, on_delete="RESTRICT")  # None: documento simple
    requisitos = pw.TextField(default="")  # JSON: the requirements the citizen ticked, as the TUPA listed them
    recibo_pago = pw.CharField(max_length=40, default="")  # the payment receipt of the derecho de trámite
    via = pw.CharField(max_length=12, default=VIRTUAL)  # a key of VIAS
    # On paper: the clerk. No index: an added column's index would be created before the column (create_tables).
    registrado_por = pw.ForeignKeyField(Usuario, null=True, index=False, on_delete="RESTRICT")
    # Projections, rewritten by the engine at every step.
    estado = pw.CharField(max_length=40)
    tarea_actual = pw.CharField(max_length=200, default="")
    oficina_actual = pw.ForeignKeyField(Oficina, null=True, on_delete="RESTRICT")
    vence = UTCDateTimeField(null=True)
    vencido = pw.BooleanField(default=False)
    # The procedure's own deadline (rule 10–12): when it runs out, None while suspended or without one.
    plazo_vence = UTCDateTimeField(null=True)
    plazo_suspendido = pw.BooleanField(default=False)
    silencio = pw.CharField(max_length=20, default="")  # "" | automatica | positivo | negativo, once it applies
    terminado = pw.BooleanField(default=False)
    # The serialized process instance, without its spec (that is ``definicion``).
    estado_motor = pw.TextField()
    formato_estado = pw.CharField(max_length=40)
    version = pw.IntegerField(default=0)
    actualizado_en = UTCDateTimeField(default=utcnow)

    @classmethod
    def por_numero(cls, numero: str) -> "Expediente | None":
        """The expediente numbered ``numero`` (e.g. 2026-000123), or None (every staff page of one asks this)."""
        return cls.get_or_none(cls.numero == numero)

    @classmethod
    def por_codigo(cls, codigo: str) -> "Expediente | None":
        """The expediente whose tracking code is ``codigo`` (base32: typing it in lower case is fine)."""
        codigo = (codigo or "").strip()
        if not 10 <= len(codigo) <= 40:
            return None
        return cls.get_or_none(cls.codigo == codigo) or cls.get_or_none(cls.codigo == codigo.upper())

    class Meta:
        indexes = (
            (("presentado_en", "id"), False),
            (("estado", "presentado_en", "id"), False),
            (("oficina_actual", "presentado_en", "id"), False),
            (("remitente_documento",), False),
            (("vence", "id"), False),
            (("plazo_vence", "id"), False),  # the procedures' deadlines por vencer (home page, daily digest)
            (("tipo_documento", "presentado_en", "id"), False),  # the auditor's filter by document type
            # Counts by legal filing date (Trámites recibidos' Desde/Hasta, the home page's «presentados hoy»).
            (("fecha_presentacion", "presentado_en"), False),
            # Analytics (mpv.auditoria.analitica): filings of a date range, and open expedientes past their deadline.
            (("presentado_en", "fecha_presentacion", "tipo_documento", "estado"), False),
            (("vencido", "oficina_actual"), False),
        )


class Adjunto(BaseModel):
    """A file of an expediente; the bytes live on disk under their SHA-256 (``mpv.storage``)."""

    expediente = pw.ForeignKeyField(Expediente, backref="adjuntos", on_delete="RESTRICT")
    sha256 = pw.CharField(max_length=64, index=True)
    nombre = pw.CharField(max_length=255)
    tamano = pw.BigIntegerField()
    tipo = pw.CharField(max_length=20)  # principal | anexo | subsanacion | respuesta
    creado_en = UTCDateTimeField(default=utcnow)


class Tarea(BaseModel):
    """A user task ready in an instance: the trays read this, never the serialized state."""

    expediente = pw.ForeignKeyField(Expediente, backref="tareas", on_delete="CASCADE")
    task_id = pw.CharField(max_length=36)
    spec = pw.CharField(max_length=100)
    nombre = pw.CharField(max_length=200)
    rol = pw.CharField(max_length=20)
    oficina = pw.ForeignKeyField(Oficina, null=True, on_delete="RESTRICT")
    desde = UTCDateTimeField()

    class Meta:
        indexes = (
            (("expediente", "task_id"), True), (("oficina", "rol", "desde"), False),
            (("rol", "desde"), False),
            (("oficina", "spec", "desde", "id"), False),  # a section of the tray, a keyset page (mpv.tramites.bandeja)
        )


class Copia(BaseModel):
    """An expediente sent to an office for its information only ("con copia"): no task, no answer."""

    expediente = pw.ForeignKeyField(Expediente, backref="copias", on_delete="CASCADE")
    oficina = pw.ForeignKeyField(Oficina, on_delete="RESTRICT")
    desde = UTCDateTimeField()
    tarea = pw.CharField(max_length=100, default="")

    class Meta:
        indexes = ((("oficina", "desde"), False),)


class Temporizador(BaseModel):
    """A timer waiting in an instance, with its due time: ``mpv timers`` polls this table."""

    expediente = pw.ForeignKeyField(Expediente, backref="temporizadores", on_delete="CASCADE")
    task_id = pw.CharField(max_length=36)
    nombre = pw.CharField(max_length=200)
    vence = UTCDateTimeField(index=True)
    # A plazo in business days counts from this date: a change of the calendar on a later day moves it.
    desde = pw.DateField(null=True)


class Evento(BaseModel):
    """One row of history. Append-only; ``seq`` orders the hash chain that covers every row."""

    seq = pw.BigIntegerField(unique=True)
    expediente = pw.ForeignKeyField(Expediente, null=True, backref="eventos", on_delete="RESTRICT")
    momento = UTCDateTimeField()
    tipo = pw.CharField(max_length=20)  # inicio | tarea | decision | temporizador | fin | ...
    accion = pw.CharField(max_length=60)
    descripcion = pw.CharField(max_length=200)
    actor = pw.ForeignKeyField(Usuario, null=True, on_delete="RESTRICT")
    actor_nombre = pw.CharField(max_length=250, default="")
    rol = pw.CharField(max_length=20, default="")
    actor_oficina = pw.CharField(max_length=20, default="")
    ip = pw.CharField(max_length=64, default="")
    tarea = pw.CharField(max_length=100, default="")
    tarea_id = pw.CharField(max_length=36, default="")
    tarea_desde = UTCDateTimeField(null=True)  # when the completed task became ready
    oficina_origen = pw.CharField(max_length=20, default="")
    oficina_destino = pw.CharField(max_length=200, default="")  # codes, comma-separated
    detalle = pw.TextField(default="")
    payload = pw.TextField(default="{}")
    prev_hash = pw.CharField(max_length=64)
    hash = pw.CharField(max_length=64)

    class Meta:
        # The auditor's log, newest first by (momento, seq), whole or by kind of row or by user.
        indexes = ((("expediente", "seq"), False), (("momento", "seq"), False), (("tipo", "momento", "seq"), False),
                   (("actor_nombre", "momento", "seq"), False))


# Analytics (mpv.auditoria.analitica): completed tasks and expired timers of a date range, read from these
# partial indexes alone (they hold every column the queries read, ``tipo`` too: SQLite wants it for that).
Evento.add_index(Evento.index(Evento.tipo, Evento.momento, Evento.tarea, Evento.oficina_origen, Evento.tarea_desde,
                              Evento.expediente, where=pw.SQL("tipo = 'tarea'"), name="evento_analitica_tareas"))
Evento.add_index(Evento.index(Evento.tipo, Evento.momento, Evento.oficina_origen, Evento.descripcion, Evento.expediente,
                              where=pw.SQL("tipo = 'temporizador'"), name="evento_analitica_temporizadores"))


class Cadena(BaseModel):
    """The head of the Evento hash chain: its last ``seq`` and hash (one row)."""

    id = pw.IntegerField(primary_key=True)
    seq = pw.BigIntegerField(default=0)
    hash = pw.CharField(max_length=64)


MODELS = [Oficina, Usuario, Sesion, IntentoAcceso, Parametro, TipoDocumento, Feriado, Procedimiento, ProcessDefinition, Remitente, Numeracion,
          Expediente, Adjunto, Tarea, Copia, Temporizador, Evento, Cadena]

# What MPV verifies, issues and receives later (rules 13–15) lives in modules of its own, built on the models above.
from .models_documentos import TIPOS_DOCUMENTO_OFICIAL, DocumentoOficial, FirmaAdjunto, NumeracionDocumento  # noqa
from .models_certificados import CertificadoUsuario, FirmaDocumento  # noqa: E402,F401
from .models_verificacion import CodigoVerificacion, PdfEmitido  # noqa: E402,F401
from .models_plantillas import AnexoDocumento, PlantillaDocumento  # noqa: E402,F401
from .models_escritos import Escrito, EscritoAdjunto, NumeracionEscrito  # noqa: E402,F401
from .models_notificaciones import AperturaNotificacion, ConsentimientoCasilla, Notificacion  # noqa: E402,F401
from .models_correo import Correo, Resumen  # noqa: E402,F401
from .models_asignacion import Asignacion, Paso  # noqa: E402,F401
from .models_acumulacion import Acumulacion  # noqa: E402,F401
from .models_tokens import TokenApi  # noqa: E402,F401

MODELS += [FirmaAdjunto, DocumentoOficial, NumeracionDocumento, CertificadoUsuario, FirmaDocumento, CodigoVerificacion,
           PdfEmitido, PlantillaDocumento, AnexoDocumento, Escrito, EscritoAdjunto, NumeracionEscrito,
           ConsentimientoCasilla, Notificacion, AperturaNotificacion, Resumen, Correo, Asignacion, Paso, Acumulacion,
           TokenApi]


# Columns added after their table was first released: ``Services.init_db`` adds them to an older database.
ADDED_COLUMNS = [(Usuario, "cambiar_clave"), (Usuario, "jefe"), (Oficina, "alertas"), (Temporizador, "desde"), (Correo, "resumen")] + [
    (Expediente, name) for name in ("procedimiento", "requisitos", "recibo_pago", "plazo_vence", "plazo_suspendido",
                                    "silencio", "via", "registrado_por")]


def create_tables():
    """Create every table that is missing (idempotent)."""
    proxy.create_tables(MODELS, safe=True)
