"""PostgreSQL permissions: the application's role, set up by docs/postgresql-permisos.sql, cannot UPDATE or
DELETE Evento rows (nor delete the register, nor run DDL), and MPV still starts, files and derives with it.

The script runs as a DBA would run it, with psql, in a throwaway database with throwaway roles: the initial
phase as superuser, ``mpv init-db`` as the owner, the tables phase as the owner. Dropped at the end.
"""
from __future__ import annotations

import dataclasses
import io
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from helpers import FakeClock, base_moment, build_services, derivar, file_tramite, make_user, recibir, step

from mpv import history
from mpv.config import Settings
from mpv.engine import Actor
from mpv.errors import MPVError
from mpv.models import Evento, Expediente, Sesion, Tarea
from mpv.demo import sample_pdf
from mpv.services import Services
from mpv.tramites import escritos

pytestmark = pytest.mark.postgresql_only

SCRIPT = Path(__file__).resolve().parent.parent / "docs" / "postgresql-permisos.sql"
SERVER = "postgresql://postgres@127.0.0.1:5432"


@dataclasses.dataclass
class Deployment:
    database: str
    owner: str
    app: str

    def url(self, role: str) -> str:
        return f"postgresql://{role}@127.0.0.1:5432/{self.database}"  # no options: the roles' search_path is set

    def psql(self, role: str, fase: str):
        done = subprocess.run(["psql", "-h", "127.0.0.1", "-U", role, "-d", self.database, "-X", "-q",
                               "-v", "ON_ERROR_STOP=1", "-v", f"fase={fase}", "-v", f"duenio={self.owner}",
                               "-v", f"app={self.app}", "-f", str(SCRIPT)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr


def _superuser():
    import psycopg2

    conn = psycopg2.connect(f"{SERVER}/test")
    conn.autocommit = True
    return conn


@pytest.fixture
def deployment(backend):
    if backend != "postgresql":
        pytest.skip("los permisos por rol son de PostgreSQL: SQLite no tiene roles (use --db=postgresql)")
    if shutil.which("psql") is None:
        pytest.skip("el script de permisos se ejecuta con psql, que no está instalado")
    tag = uuid.uuid4().hex[:10]  # random-ok: a database and roles no concurrent run uses
    found = Deployment(f"mpv_permisos_{tag}", f"mpv_owner_{tag}", f"mpv_app_{tag}")
    conn = _superuser()
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{found.database}"')
        yield found
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{found.database}" WITH (FORCE)')
            for role in (found.app, found.owner):
                cur.execute(f'DROP ROLE IF EXISTS "{role}"')
        conn.close()


def _refused(conn, statement: str, params=()) -> str:
    """The error PostgreSQL gives ``statement`` run by the connection's role (the transaction is rolled back)."""
    import psycopg2.errors

    with pytest.raises(psycopg2.errors.InsufficientPrivilege) as refused, conn.cursor() as cur:
        cur.execute(statement, params)
    conn.rollback()
    return str(refused.value)


def install(deployment, data_dir) -> Settings:
    """The script's initial phase, `mpv init-db` and the catalogues as the owner, then the tables phase."""
    deployment.psql("postgres", "inicial")
    settings = Settings(data_dir=data_dir, database_url=deployment.url(deployment.owner))
    build_services(settings, FakeClock(base_moment(9, 30))).close()
    deployment.psql(deployment.owner, "tablas")
    return settings


def test_the_apps_role_appends_history_but_cannot_change_it(deployment, tmp_path):
    import psycopg2

    install(deployment, tmp_path)

    conn = psycopg2.connect(deployment.url(deployment.app))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_user, current_schema()")
            assert cur.fetchone() == (deployment.app, "mpv")
            cur.execute(
                "INSERT INTO evento (seq, momento, tipo, accion, descripcion, actor_nombre, rol, actor_oficina, ip, tarea,"
                " tarea_id, oficina_origen, oficina_destino, detalle, payload, prev_hash, hash)"
                " VALUES (1, %s, 'inicio', 'prueba', 'Fila de prueba', '', '', '', '', '', '', '', '', '', '{}', %s, %s)"
                " RETURNING id", (base_moment(9, 30), "0" * 64, "1" * 64))
            assert cur.fetchone()[0] > 0
        conn.commit()  # an append is allowed…
        for statement in ("UPDATE evento SET detalle = 'otro texto' WHERE seq = 1",  # …changing it is not
                          "DELETE FROM evento WHERE seq = 1", "TRUNCATE evento",
                          "DELETE FROM expediente", "DELETE FROM remitente", "DELETE FROM adjunto",
                          "DELETE FROM numeracion", "DELETE FROM escrito", "DELETE FROM escrito_adjunto",
                          "DELETE FROM numeracion_escrito", "DELETE FROM firma_documento",
                          "UPDATE firma_documento SET razon = ''", "INSERT INTO cadena (id, seq, hash) VALUES (2, 0, '')",
                          "DELETE FROM codigo_verificacion", "UPDATE codigo_verificacion SET codigo = 'X'",
                          "DELETE FROM pdf_emitido", "UPDATE pdf_emitido SET sha256 = ''",
                          "DELETE FROM cadena", "CREATE TABLE otra (id int)",
                          "ALTER TABLE evento DISABLE TRIGGER ALL", "DROP TABLE evento"):
            message = _refused(conn, statement)
            assert "permission denied" in message or "must be owner" in message, (statement, message)
        with conn.cursor() as cur:  # the row is still there, as it was written
            cur.execute("SELECT detalle, hash FROM evento WHERE seq = 1")
            assert cur.fetchone() == ("", "1" * 64)
            cur.execute("SELECT has_table_privilege('evento', 'UPDATE'), has_table_privilege('evento', 'DELETE'),"
                        " has_table_privilege('evento', 'INSERT'), has_table_privilege('cadena', 'UPDATE'),"
                        " has_table_privilege('firma_documento', 'INSERT'),"
                        " has_table_privilege('certificado_usuario', 'DELETE')")
            assert cur.fetchone() == (False, False, True, True, True, True)  # a user may remove his certificate
        conn.rollback()
    finally:
        conn.close()


def test_mpv_starts_files_and_derives_as_the_apps_role(deployment, tmp_path):
    owner_settings = install(deployment, tmp_path)
    app_settings = dataclasses.replace(owner_settings, database_url=deployment.url(deployment.app))
    services = Services.build(app_settings, clock=FakeClock(base_moment(9, 30)))
    try:
        services.init_db()  # what every `mpv` command (serve included) runs first: no DDL for this role
        mesa = Actor.de_usuario(make_user("mesa", "mesa", "MP"))
        gdur = Actor.de_usuario(make_user("gdur", "oficina", "GDUR"))
        expediente = file_tramite(services)
        step(services, expediente, mesa, accion="conforme")
        derivar(services, expediente, mesa, "GDUR")
        recibir(services, expediente, gdur)
        principal = services.storage.receive(io.BytesIO(sample_pdf("Escrito")), "escrito.pdf", 10**6)
        escrito = escritos.presentar(services, expediente, "", principal, [], Actor.ciudadano(expediente))
        revision = Tarea.get((Tarea.expediente == expediente.id) & (Tarea.nombre == "Revisar escrito"))
        services.engine.complete(expediente.id, revision.task_id, gdur, {"nota": "Visto"})
        assert escrito.numero.startswith("E-")
        step(services, expediente, gdur, accion="atender", respuesta="Licencia otorgada")
        assert Expediente.get_by_id(expediente.id).estado == "Atendido"
        assert not Tarea.select().where(Tarea.expediente == expediente.id).exists()
        verification = history.verify()
        assert verification.ok and verification.checked == Evento.select().count() >= 5
    finally:
        services.close()


def test_an_upgrade_is_made_by_the_owner_and_the_app_can_use_its_new_tables(deployment, tmp_path):
    owner_settings = install(deployment, tmp_path)
    owner = Services.build(owner_settings, clock=FakeClock(base_moment(9, 30)))
    owner.db.peewee.execute_sql("DROP TABLE sesion")  # as if a newer version added this table
    owner.close()

    app_settings = dataclasses.replace(owner_settings, database_url=deployment.url(deployment.app))
    app = Services.build(app_settings, clock=FakeClock(base_moment(9, 30)))
    with pytest.raises(MPVError, match="Faltan las tablas sesion .*«mpv init-db» con el rol dueño"):
        app.init_db()
    app.close()

    owner = Services.build(owner_settings, clock=FakeClock(base_moment(9, 30)))
    owner.init_db()  # `mpv init-db` of the upgrade, as the owner
    owner.close()
    app = Services.build(app_settings, clock=FakeClock(base_moment(9, 30)))
    try:
        app.init_db()
        usuario = make_user("mesa", "mesa", "MP")  # the new table is usable: the default privileges cover it
        Sesion.create(token_hash="a" * 64, usuario=usuario, csrf="b" * 64, creada=base_moment(9, 30),
                      ultimo_uso=base_moment(9, 30))
        Sesion.delete().execute()
    finally:
        app.close()
