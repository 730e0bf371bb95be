"""The collaborators one MPV process uses, built once from its settings and handed to each face
(CLI, web app): database, clock, calendar, attachment storage, process definitions, engine."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from typing import Callable

from . import history, sello
from .tramites.busqueda import Busqueda
from .config import Settings, SettingsError
from .db import Database
from .engine.definitions import DefinitionStore
from .engine import Engine
from .errors import MPVError
from .firmas import cargar_raices
from .tramites.presentacion import Limits
from .models import ADDED_COLUMNS, MODELS, Feriado, Paso, create_tables
from .parametros import Parametros
from .plazos import Calendario
from .registro import Refusals
from .storage import Storage


MB = 1024 * 1024


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


@dataclasses.dataclass
class Services:
    settings: Settings
    db: Database
    clock: Callable[[], datetime]
    calendario: Calendario
    storage: Storage
    definitions: DefinitionStore
    engine: Engine
    limits: Limits
    busqueda: Busqueda
    parametros: Parametros
    refusals: Refusals  # one per process: the per-minute folding of refused requests is shared
    raices: list = dataclasses.field(default_factory=list)  # MPV_TRUST_ROOTS, read once (mpv.firmas)

    @classmethod
    def build(cls, settings: Settings, clock: Callable[[], datetime] = system_clock,
              prune: bool = True, cache_definitions: bool = True) -> "Services":
        db = Database(settings.database_url)
        parametros = Parametros(db)
        calendario = Calendario(settings.tz, _feriados_locales, cutoff=parametros.cutoff)
        definitions = DefinitionStore(settings.workflows_dir, cache=cache_definitions, clock=clock)
        engine = Engine(db, definitions, calendario, clock, prune=prune, dias_notificacion=parametros.dias_notificacion)
        try:
            raices = cargar_raices(settings.trust_roots)
        except ValueError as exc:
            raise SettingsError(f"MPV_TRUST_ROOTS: {exc}") from exc
        demo = settings.data_dir / sello.DEMO_RAICES
        if not settings.trust_roots and demo.is_dir():
            raices = cargar_raices([demo])  # what `mpv demo` signs with, trusted until the entity names its roots
        sello.credencial_del_sello(settings)  # a seal that cannot be used is refused now, not at a filing
        return cls(settings=settings, db=db, clock=clock, calendario=calendario,
                   storage=Storage(settings.attachments_dir), definitions=definitions, engine=engine,
                   limits=Limits(settings.max_principal_mb * MB, settings.max_anexo_mb * MB, settings.max_anexos),
                   busqueda=Busqueda(db), parametros=parametros, refusals=Refusals(db, clock),
                   raices=raices)

    def init_db(self):
        """Create what is missing: tables, the audit chain's head, the workflows folder's versions.

        A role that may not create tables (the application's role on PostgreSQL, see
        docs/postgresql-permisos.sql) runs no DDL: it checks that the owner's ``mpv init-db`` made them.
        :raise MPVError: naming the tables that are missing then.
        """
        if self.db.can_create_tables():
            sin_pasos = Paso._meta.table_name not in self.db.tables()
            create_tables()
            if sin_pasos:
                with self.db.write():
                    Paso.rellenar()
            self.db.add_missing_columns(ADDED_COLUMNS)
            self.busqueda.install()
        else:
            missing = sorted({model._meta.table_name for model in MODELS} - self.db.tables())
            if missing:
                raise MPVError(f"Faltan las tablas {', '.join(missing)} y este rol de la base de datos no puede "
                               "crearlas: ejecute «mpv init-db» con el rol dueño (docs/postgresql-permisos.sql).")
            columns = self.db.missing_columns(ADDED_COLUMNS)
            if columns:
                names = ", ".join(f"{model._meta.table_name}.{name}" for model, name in columns)
                raise MPVError(f"Faltan las columnas {names} y este rol de la base de datos no puede agregarlas: "
                               "ejecute «mpv init-db» con el rol dueño (docs/postgresql-permisos.sql).")
        history.ensure_chain()
        return self.definitions.sync(self.db)

    def close(self):
        self.db.close()


def _feriados_locales():
    return dict(Feriado.select(Feriado.fecha, Feriado.nombre).tuples())
