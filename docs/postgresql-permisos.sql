-- MPV — Mesa de Partes Virtual: roles y permisos en PostgreSQL para producción.
-- MPV — roles and privileges on PostgreSQL for a production deployment.
--
-- Dos roles / two roles:
--   duenio (mpv_owner)  dueño del esquema y de las tablas; solo lo usa «mpv init-db» al instalar o actualizar.
--                       owns the schema and the tables; used only by `mpv init-db` (install, upgrade).
--   app    (mpv_app)    el rol con que corre «mpv serve» (y «mpv timers», «mpv correos»): lee y escribe datos,
--                       no crea ni altera tablas, y el historial (evento) solo lo lee y lo amplía: no puede
--                       modificar ni borrar una fila de evento. Tampoco borra expedientes, remitentes,
--                       adjuntos ni la numeración del registro.
--                       the role `mpv serve` runs as: reads and writes data, runs no DDL; the history (evento)
--                       is read and appended to only — it cannot UPDATE or DELETE an evento row — and the
--                       register (expediente, remitente, adjunto, numeracion) is never deleted from.
--
-- Pasos / steps (psql; variables opcionales -v esquema=… -v duenio=… -v app=…, por omisión mpv, mpv_owner, mpv_app):
--   1. Como superusuario, una vez, en la base de MPV (creada antes con CREATE DATABASE mpv):
--      As a superuser, once, connected to MPV's database:
--        psql -U postgres -d mpv -v ON_ERROR_STOP=1 -v fase=inicial -f docs/postgresql-permisos.sql
--      y asigne las contraseñas / then set the passwords:  \password mpv_owner   \password mpv_app
--   2. Como dueño, cree las tablas / as the owner, create the tables:
--        MPV_DATABASE_URL=postgresql://mpv_owner@HOST:5432/mpv mpv init-db
--   3. Como dueño, los permisos de cada tabla (repítalo después de cada «mpv init-db» de una actualización):
--      As the owner, the privileges on each table (run it again after the `mpv init-db` of every upgrade):
--        psql -U mpv_owner -d mpv -v ON_ERROR_STOP=1 -v fase=tablas -f docs/postgresql-permisos.sql
--   4. El servidor usa el rol de la aplicación / the server runs as the application's role:
--        MPV_DATABASE_URL=postgresql://mpv_app:CONTRASEÑA@HOST:5432/mpv mpv serve
--      (el search_path de ambos roles apunta al esquema: la URL no necesita «options»).
--
-- Nota para el auditor / note for the auditor: la cadena de hashes (mpv audit verify) descubre cualquier fila
-- de evento alterada, borrada, reordenada o insertada por quien no reescriba también la cabeza de la cadena
-- (tabla cadena). El rol de la aplicación debe poder mover esa cabeza para añadir filas; contra un atacante con
-- sus credenciales, publique o copie fuera de la base, cada día, el hash de la cabeza (SELECT seq, hash FROM cadena).
-- The hash chain detects any altered, deleted, reordered or inserted evento row by anyone who does not also
-- rewrite the chain's head; the app's role must move that head to append, so against someone holding its
-- credentials, copy the head's hash out of the database (daily) and compare.

\set ON_ERROR_STOP on
\if :{?esquema}
\else
  \set esquema mpv
\endif
\if :{?duenio}
\else
  \set duenio mpv_owner
\endif
\if :{?app}
\else
  \set app mpv_app
\endif
\if :{?fase}
\else
  \set fase ''
\endif
SELECT :'fase' = 'inicial' AS fase_inicial, :'fase' = 'tablas' AS fase_tablas \gset
\if :fase_inicial
\elif :fase_tablas
\else
DO $$ BEGIN RAISE EXCEPTION 'Indique la fase: -v fase=inicial (superusuario, una vez) o -v fase=tablas (dueño, después de cada mpv init-db).'; END $$;
\endif

\if :fase_inicial
-- == 1. Roles, base de datos y esquema / roles, database and schema (superuser, once) ==========================
CREATE ROLE :"duenio" LOGIN;
CREATE ROLE :"app" LOGIN;

-- Nadie más se conecta ni crea objetos temporales en esta base / nobody else connects or creates temp objects.
REVOKE ALL ON DATABASE :"DBNAME" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"DBNAME" TO :"duenio";
GRANT CONNECT ON DATABASE :"DBNAME" TO :"app";

-- El esquema es del dueño; la aplicación solo lo usa (no crea tablas, índices ni funciones en él).
-- The owner owns the schema; the application may use it but create nothing in it.
CREATE SCHEMA :"esquema" AUTHORIZATION :"duenio";
REVOKE ALL ON SCHEMA :"esquema" FROM PUBLIC;
GRANT USAGE ON SCHEMA :"esquema" TO :"app";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER ROLE :"duenio" IN DATABASE :"DBNAME" SET search_path = :"esquema";
ALTER ROLE :"app" IN DATABASE :"DBNAME" SET search_path = :"esquema";

-- Las tablas que el dueño cree más adelante (actualizaciones) las puede usar la aplicación; las restricciones
-- de evento, cadena y el registro las aplica la fase tablas.
-- Tables the owner creates later (upgrades) are usable by the application; the restrictions on evento,
-- cadena and the register are applied by the tablas phase.
ALTER DEFAULT PRIVILEGES FOR ROLE :"duenio" IN SCHEMA :"esquema"
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"duenio" IN SCHEMA :"esquema"
    GRANT USAGE, SELECT ON SEQUENCES TO :"app";
\endif

\if :fase_tablas
-- == 2. Permisos por tabla / privileges on each table (as the owner, after every `mpv init-db`) ================
-- Los datos de trabajo: sesiones, tareas, temporizadores, correos, usuarios, catálogos…
-- Working data: sessions, tasks, timers, e-mails, users, catalogues…
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA :"esquema" TO :"app";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA :"esquema" TO :"app";

-- El historial: se lee y se le añaden filas; nunca se modifica ni se borra una fila.
-- The history: read and appended to; a row is never updated or deleted.
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON :"esquema".evento FROM :"app";

-- La cabeza de la cadena (una fila, creada por mpv init-db): se lee, se bloquea (FOR UPDATE) y se mueve.
-- The chain's head (one row, created by mpv init-db): read, locked (FOR UPDATE) and moved.
REVOKE INSERT, DELETE, TRUNCATE ON :"esquema".cadena FROM :"app";

-- El registro de la mesa de partes, con las firmas de sus archivos y los documentos que emite y sus números: sus filas
-- se actualizan (estado, proyecciones) pero no se borran.
-- The register, with its files' signatures and the documents it issues and their numbers: its rows are updated
-- (state, projections) but never deleted.
REVOKE DELETE, TRUNCATE ON :"esquema".expediente, :"esquema".remitente, :"esquema".adjunto,
    :"esquema".firma_adjunto, :"esquema".numeracion, :"esquema".documento_oficial,
    :"esquema".numeracion_documento, :"esquema".escrito, :"esquema".escrito_adjunto,
    :"esquema".numeracion_escrito, :"esquema".acumulacion FROM :"app";

-- La casilla electrónica (Ley 31736): los consentimientos y las aperturas solo se leen y se amplían; una
-- notificación no se borra (su acuse de recibo es lo único que se le agrega).
-- The casilla: consents and openings are append-only; a notification is never deleted (only its acuse is added).
REVOKE UPDATE, DELETE, TRUNCATE ON :"esquema".consentimiento_casilla, :"esquema".apertura_notificacion FROM :"app";
REVOKE DELETE, TRUNCATE ON :"esquema".notificacion FROM :"app";

-- Las firmas digitales puestas en los documentos emitidos: se añaden, nunca se modifican ni se borran.
-- The digital signatures put on issued documents: appended to, never updated or deleted.
REVOKE UPDATE, DELETE, TRUNCATE ON :"esquema".firma_documento FROM :"app";

-- Los códigos de verificación pública y el registro de los PDF que MPV genera: solo se añaden filas.
-- The public verification codes and the register of the PDFs MPV generates: rows are only added.
REVOKE UPDATE, DELETE, TRUNCATE ON :"esquema".codigo_verificacion, :"esquema".pdf_emitido FROM :"app";
\endif
