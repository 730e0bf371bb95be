"""The ``mpv`` command: set-up, demo data, users, trámites from the shell, workflows, timers, mail, audit,
and the sweep of unreferenced files.

Every subcommand returns an exit code; domain errors are printed as their Spanish message.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from . import history
from .config import Settings, SettingsError
from .definitions import compile_bundle, read_bundles
from .errors import DefinitionError, InvalidInput, MPVError
from .models import ROLES, Expediente, Oficina, Usuario
from .passwords import generate_password, hash_password, password_problem
from .presentacion_campos import ARCHIVO, CLI, de_cara, textos


class UTCFormatter(logging.Formatter):
    """Process-log timestamps in UTC with an explicit offset (ASVS V16.2.2): 2026-03-02T14:30:00.123+00:00."""

    converter = time.gmtime

    def formatTime(self, record, datefmt=None):
        return time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(record.created)) + f".{int(record.msecs):03d}+00:00"


def configure_logging(stream=None):
    """The process log: INFO and up to standard error, each line stamped in UTC."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(UTCFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


def main(argv=None, settings: Settings | None = None, clock=None) -> int:
    """Run one ``mpv`` subcommand; tests pass ``settings`` (and a ``clock``) instead of the environment."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    configure_logging()
    logging.getLogger("spiff").setLevel(logging.WARNING)
    try:
        settings = settings or Settings.from_env()
    except SettingsError as exc:
        print(f"Error de configuración: {exc}", file=sys.stderr)
        return 2
    if args.func is cmd_workflows_check:
        return args.func(args, settings)
    from .services import Services, system_clock

    services = Services.build(settings, clock=clock or system_clock)
    try:
        services.init_db()
        return args.func(args, services)
    except InvalidInput as exc:
        print(f"Error: {exc.message}", file=sys.stderr)
        for campo, mensaje in exc.campos.items():
            print(f"  - {campo}: {mensaje}", file=sys.stderr)
        return 1
    except DefinitionError as exc:
        print(f"Error: {exc.message}", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    except MPVError as exc:
        print(f"Error: {exc.message}", file=sys.stderr)
        return 1
    finally:
        services.close()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mpv", description="Mesa de Partes Virtual")
    sub = p.add_subparsers()

    s = sub.add_parser("init-db", help="crea las tablas y registra las definiciones de workflows/")
    s.set_defaults(func=cmd_init_db)

    s = sub.add_parser("demo", help="oficinas, tipos de documento, usuarios y trámites de demostración")
    s.add_argument("--tramites", type=int, default=6, help="trámites de ejemplo (si la base no tiene ninguno)")
    s.add_argument("--expedientes", type=int, default=0, metavar="N",
                   help="además, siembra N expedientes realistas de los dos últimos años (volumen de prueba)")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("create-user", help="crea un usuario del personal")
    s.add_argument("username")
    s.add_argument("--role", required=True, choices=sorted(ROLES))
    s.add_argument("--oficina", help="código de oficina (obligatorio para el rol oficina)")
    s.add_argument("--nombre", default="")
    s.add_argument("--email", default="")
    s.add_argument("--password-stdin", action="store_true", help="lee la contraseña de la entrada estándar")
    s.set_defaults(func=cmd_create_user)

    s = sub.add_parser("oficinas", help="lista las oficinas")
    s.set_defaults(func=cmd_oficinas)

    t = sub.add_parser("tramite", help="trámites desde la consola").add_subparsers()
    s = t.add_parser("new", help="presenta un trámite (como lo haría un ciudadano)")
    for campo in de_cara(CLI):  # the filing's fields, as mpv.presentacion_campos defines them
        flag = "--" + campo.nombre.replace("_", "-")
        if campo.tipo == ARCHIVO and campo.multiple:  # --anexo, repeated
            s.add_argument(flag[:-1], dest=campo.nombre, action="append", default=[], type=Path,
                           help=f"{campo.etiqueta}; se puede repetir")
        elif campo.tipo == ARCHIVO:
            s.add_argument(flag, required=True, type=Path, help=campo.etiqueta)
        else:
            choices = f" ({' | '.join(v for v, _ in campo.opciones)})" if campo.opciones else ""
            s.add_argument(flag, default=campo.inicial, help=campo.etiqueta + choices)
    s.add_argument("--dni", help="atajo: persona natural con DNI")
    s.set_defaults(func=cmd_tramite_new)
    s = t.add_parser("show", help="datos del expediente")
    s.add_argument("numero")
    s.set_defaults(func=cmd_tramite_show)
    s = t.add_parser("tasks", help="tareas listas del expediente")
    s.add_argument("numero")
    s.set_defaults(func=cmd_tramite_tasks)
    s = t.add_parser("complete", help="completa una tarea con los datos de su formulario")
    s.add_argument("numero")
    s.add_argument("tarea", help="id de la tarea o nombre de la tarea (recepcion, derivacion, atencion…)")
    who = s.add_mutually_exclusive_group(required=True)
    who.add_argument("--usuario", help="usuario del personal que realiza la tarea")
    who.add_argument("--ciudadano", action="store_true", help="la realiza el remitente (subsanación)")
    s.add_argument("--datos", default="{}", help='datos del formulario en JSON, p. ej. \'{"accion": "conforme"}\'')
    s.set_defaults(func=cmd_tramite_complete)
    s = t.add_parser("seguimiento", help="seguimiento del expediente")
    s.add_argument("numero")
    s.set_defaults(func=cmd_tramite_seguimiento)

    w = sub.add_parser("workflows", help="definiciones de proceso").add_subparsers()
    s = w.add_parser("check", help="valida cada BPMN de la carpeta y sus formularios")
    s.add_argument("directorio", nargs="?", type=Path)
    s.set_defaults(func=cmd_workflows_check)

    d = sub.add_parser("definiciones", help="versiones guardadas de los procesos").add_subparsers()
    s = d.add_parser("migrar", help="migra los expedientes en curso a una versión más nueva, cuando es seguro")
    s.add_argument("--version", type=int, help="id de la versión de destino (por omisión, la activa)")
    s.add_argument("--proceso", default="tramite", help="proceso cuya versión activa es el destino")
    s.set_defaults(func=cmd_definiciones_migrar)

    s = sub.add_parser("timers", help="dispara los temporizadores vencidos")
    s.add_argument("--loop", action="store_true", help="repite cada MPV_TIMER_INTERVAL segundos")
    s.set_defaults(func=cmd_timers)

    s = sub.add_parser("correos", help="envía los correos pendientes a los ciudadanos")
    s.add_argument("--loop", action="store_true", help="repite cada MPV_TIMER_INTERVAL segundos")
    s.set_defaults(func=cmd_correos)

    f = sub.add_parser("archivos", help="archivos adjuntos").add_subparsers()
    s = f.add_parser("limpiar", help="elimina los archivos que ningún expediente referencia (subidas "
                                     "interrumpidas, restos de un proceso que se detuvo)")
    s.add_argument("--gracia", type=float, default=1.0, metavar="HORAS",
                   help="solo los archivos más antiguos que esto (1 hora por defecto; el servidor lo hace cada "
                        "hora). Use 0 solo con el servidor detenido: una subida en curso también es reciente.")
    s.set_defaults(func=cmd_archivos_limpiar)

    s = sub.add_parser("serve", help="sirve la aplicación web en MPV_HOST:MPV_PORT")
    s.add_argument("--threads", type=int, default=8)
    s.add_argument("--sin-temporizadores", action="store_true", help="no disparar temporizadores en este proceso")
    s.add_argument("--workers", type=int, default=1, metavar="N",
                   help="N procesos que comparten el puerto (SO_REUSEPORT); con PostgreSQL, uno por núcleo")
    s.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)  # a worker of --workers
    s.add_argument("--worker", type=int, default=0, help=argparse.SUPPRESS)
    s.set_defaults(func=cmd_serve)

    a = sub.add_parser("audit", help="auditoría").add_subparsers()
    s = a.add_parser("verify", help="verifica la cadena de hashes del historial")
    s.add_argument("--archivos", action="store_true",
                   help="además, vuelve a calcular el SHA-256 de cada archivo adjunto y lo compara con su nombre")
    s.set_defaults(func=cmd_audit_verify)
    return p


def cmd_init_db(args, services) -> int:
    for name, sha, new in services.definitions.sync(services.db):
        print(f"{name}: {'nueva versión' if new else 'sin cambios'} {sha[:12]}")
    print("Base de datos lista.")
    return 0


def cmd_demo(args, services) -> int:
    from .demo import credentials_path, seed

    created = seed(services, args.tramites)
    if created:
        print("Usuarios de demostración creados (anote las contraseñas):")
        for username, rol, password in created:
            print(f"  {username:10} {rol:9} {password}")
    path = credentials_path(services.settings)
    if not created and path.exists():
        print(path.read_text(encoding="utf-8"))
    if args.expedientes:
        from .seed import Barra, sembrar

        informe = sembrar(services, args.expedientes, progreso=Barra(sys.stderr))
        print(informe)
        if informe.usuarios:
            print("Usuarios de oficina creados para la siembra (anote las contraseñas):")
            for username, rol, password in informe.usuarios:
                print(f"  {username:10} {rol:9} {password}")
    print(f"Oficinas: {Oficina.select().count()}  Usuarios: {Usuario.select().count()}  "
          f"Expedientes: {Expediente.select().count()}")
    return 0


def cmd_create_user(args, services) -> int:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        problem = password_problem(password, args.username, args.nombre)
        if problem:
            raise InvalidInput(problem)
    else:
        password = generate_password()
    oficina = None
    if args.role == "oficina" and not args.oficina:
        raise InvalidInput("Un usuario de oficina necesita --oficina CODIGO (vea «mpv oficinas»).")
    if args.oficina:
        oficina = Oficina.get_or_none(Oficina.codigo == args.oficina)
        if oficina is None:
            raise InvalidInput(f"No existe la oficina {args.oficina} (vea «mpv oficinas»).")
    with services.db.write():
        if Usuario.get_or_none(Usuario.username == args.username):
            raise InvalidInput(f"Ya existe el usuario {args.username}.")
        Usuario.create(username=args.username, nombre=args.nombre or args.username, email=args.email,
                       rol=args.role, oficina=oficina, password_hash=hash_password(password),
                       cambiar_clave=not args.password_stdin)  # a printed password is temporary (ASVS V6.4.1)
    print(f"Usuario {args.username} creado ({ROLES[args.role]}).")
    if not args.password_stdin:
        print(f"Contraseña: {password} (temporal: al ingresar, el sistema le pedirá cambiarla)")
    return 0


def cmd_oficinas(args, services) -> int:
    for o in Oficina.select().order_by(Oficina.codigo):
        flags = " (mesa de partes)" if o.es_mesa_partes else ("" if o.activa else " (inactiva)")
        print(f"{o.codigo:8} {o.nombre}{flags}")
    return 0


def cmd_tramite_new(args, services) -> int:
    from .filing import presentar

    datos = {name: getattr(args, name) for name in textos(CLI)}
    if args.dni:
        datos.update(tipo_persona="natural", tipo_documento_identidad="DNI", numero_documento_identidad=args.dni)
    received = []
    try:
        for path in [args.archivo, *args.anexos]:
            if not path.is_file():
                raise InvalidInput(f"No existe el archivo {path}.")
            with path.open("rb") as fh:
                limit = services.limits.principal_bytes if path == args.archivo else services.limits.anexo_bytes
                received.append(services.storage.receive(fh, path.name, limit))
    except MPVError:
        services.storage.discard(received)
        raise
    expediente = presentar(services, datos, received[0], received[1:], cara=CLI)
    print(f"Expediente {expediente.numero} presentado.")
    print(f"Código de seguimiento: {expediente.codigo}")
    print(f"Fecha de presentación: {expediente.fecha_presentacion.isoformat()}")
    return 0


def _expediente(numero: str) -> Expediente:
    from .errors import NotFound

    expediente = Expediente.por_numero(numero)
    if expediente is None:
        raise NotFound(f"No existe el expediente {numero}.")
    return expediente


def cmd_tramite_show(args, services) -> int:
    e = _expediente(args.numero)
    local = e.presentado_en.astimezone(services.settings.tz)
    print(f"Expediente {e.numero}  [{e.estado}]")
    print(f"  Presentado: {local:%d/%m/%Y %H:%M}   Fecha de presentación: {e.fecha_presentacion:%d/%m/%Y}")
    print(f"  Remitente: {e.remitente_nombre} ({e.remitente.tipo_documento_identidad} {e.remitente_documento})")
    print(f"  Tipo: {e.tipo_documento.nombre}   Folios: {e.folios}")
    print(f"  Asunto: {e.asunto}")
    print(f"  Tarea actual: {e.tarea_actual or '—'}   Oficina: {e.oficina_actual.nombre if e.oficina_actual else '—'}")
    if e.vence:
        print(f"  Vence: {e.vence.astimezone(services.settings.tz):%d/%m/%Y %H:%M}{'  (VENCIDO)' if e.vencido else ''}")
    for a in e.adjuntos:
        print(f"  Adjunto ({a.tipo}): {a.nombre}  {a.tamano} bytes  sha256 {a.sha256}")
    return 0


def cmd_tramite_tasks(args, services) -> int:
    e = _expediente(args.numero)
    tasks = services.engine.ready_tasks(e)
    if not tasks:
        print(f"El expediente {e.numero} no tiene tareas pendientes ({e.estado}).")
    for task in tasks:
        where = f" — oficina {task.oficina}" if task.oficina else ""
        print(f"{task.id}  {task.spec:12} {task.nombre} ({task.rol}{where})")
    return 0


def cmd_tramite_complete(args, services) -> int:
    from .engine import Actor
    from .errors import NotFound

    e = _expediente(args.numero)
    try:
        datos = json.loads(args.datos)
    except ValueError as exc:
        raise InvalidInput(f"--datos no es JSON válido: {exc}") from None
    if not isinstance(datos, dict):
        raise InvalidInput("--datos debe ser un objeto JSON")
    if args.ciudadano:
        actor = Actor.ciudadano(e)
    else:
        usuario = Usuario.get_or_none((Usuario.username == args.usuario) & (Usuario.activo == True))  # noqa: E712
        if usuario is None:
            raise NotFound(f"No existe el usuario activo {args.usuario}.")
        actor = Actor.de_usuario(usuario)
    ready = services.engine.ready_tasks(e)
    matches = [t for t in ready if t.spec == args.tarea or t.id == args.tarea]
    if len(matches) > 1 and actor.rol == "oficina":
        matches = [t for t in matches if t.oficina == actor.oficina] or matches
    if not matches:
        pendientes = ", ".join(f"{t.spec} ({t.nombre})" for t in ready) or "ninguna"
        raise NotFound(f"El expediente {e.numero} no tiene pendiente la tarea «{args.tarea}». "
                       f"Tareas pendientes: {pendientes}.")
    task_id = matches[0].id
    result = services.engine.complete(e.id, task_id, actor, datos)
    print(f"Expediente {result.expediente.numero}: {result.expediente.estado}"
          f"{' — ' + result.expediente.tarea_actual if result.expediente.tarea_actual else ''}")
    return 0


def cmd_tramite_seguimiento(args, services) -> int:
    e = _expediente(args.numero)
    print(f"Seguimiento del expediente {e.numero} — {e.estado}")
    for m in history.seguimiento(e.id, services.calendario):
        ruta = f"{m.origen} → {m.destino}" if m.destino and m.destino != m.origen else m.origen
        print(f"{m.momento:%d/%m/%Y %H:%M}  {m.descripcion:40} {ruta:50} {m.usuario:12} "
              f"{m.dias_habiles} d.h.{'  ' + m.detalle if m.detalle else ''}")
    return 0


def cmd_workflows_check(args, settings) -> int:
    directory = args.directorio or settings.workflows_dir
    bundles = read_bundles(directory)
    if not bundles:
        print(f"No hay archivos .bpmn en {directory}.", file=sys.stderr)
        return 1
    failed = 0
    for name, files in bundles.items():
        try:
            definition = compile_bundle(files)
        except DefinitionError as exc:
            failed += 1
            print(f"{name}: con problemas")
            for problem in exc.problems or [exc.message]:
                print(f"  - {problem}")
            continue
        print(f"{name}: correcto (proceso {definition.process_id}, {len(definition.user_tasks)} tareas de usuario, "
              f"versión {definition.sha256[:12]})")
    return 1 if failed else 0


def cmd_definiciones_migrar(args, services) -> int:
    from . import migracion

    destino = args.version or services.definitions.active(args.proceso).row_id
    resultados = migracion.migrar_todos(services.engine, destino)
    for r in resultados:
        print(f"{r.numero}: {'migrado' if r.migrado else 'sin migrar: ' + r.motivo}")
    migrados = sum(r.migrado for r in resultados)
    print(f"{migrados} migrado(s), {len(resultados) - migrados} sin migrar, a la versión {destino}.")
    return 0


def cmd_timers(args, services) -> int:
    while True:
        fired = services.engine.fire_due_timers()
        print(f"Temporizadores: {fired} evento(s) registrados.")
        if not args.loop:
            return 0
        time.sleep(services.settings.timer_interval)


def cmd_correos(args, services) -> int:
    from .correo import Mailer, contar

    mailer = Mailer(services)
    while True:
        sent = mailer.send_due()
        cuentas = contar()
        print(f"Correos: {sent} enviado(s); {cuentas['pendiente']} pendiente(s), {cuentas['fallido']} fallido(s).")
        if not args.loop:
            return 0
        time.sleep(services.settings.timer_interval)


def cmd_archivos_limpiar(args, services) -> int:
    from .filing import referenced_among

    if not args.gracia >= 0:
        raise InvalidInput("--gracia: indique las horas de gracia, 0 o más.")
    removed = services.storage.sweep(referenced_among, args.gracia * 3600)
    for name in removed:
        print(f"Eliminado {name} ({'subida interrumpida' if name.startswith('up-') else 'ningún adjunto lo referencia'})")
    print(f"Archivos eliminados: {len(removed)} (sin referencia y con más de {args.gracia:g} h).")
    return 0


def cmd_serve(args, services) -> int:
    from .demo import credentials_path
    from .web.server import serve, serve_workers

    if args.workers < 1:
        print("Error: --workers debe ser 1 o más.", file=sys.stderr)
        return 2
    if not args.reuse_port:
        path = credentials_path(services.settings)
        if path.exists():
            print(path.read_text(encoding="utf-8"))
        print(f"MPV atiende en http://{services.settings.host}:{services.settings.port}  (Ctrl+C para detener)")
    if args.workers > 1:
        services.close()  # the supervisor serves nothing: each worker opens its own connections
        return serve_workers(args.workers, args.threads, timers=not args.sin_temporizadores)
    serve(services, threads=args.threads, timers=not args.sin_temporizadores, reuse_port=args.reuse_port,
          sweep_interval=3600.0 if args.worker == 0 else 0)
    return 0


def cmd_audit_verify(args, services) -> int:
    result = history.verify()
    print(result)
    ok = result.ok
    if args.archivos:
        from .filing import files_in_use
        from .models import Adjunto

        checked, bad = 0, []
        for sha in files_in_use():
            checked += 1
            problem = services.storage.check(sha)
            if problem:
                bad.append(sha)
                names = ", ".join(f"{a.expediente.numero} «{a.nombre}»" for a in
                                  Adjunto.select().where(Adjunto.sha256 == sha).limit(5))
                print(f"Archivo {sha}: {problem} (adjunto de {names})")
        print(f"Archivos adjuntos: {checked} verificados, {len(bad)} con problemas.")
        ok = ok and not bad
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
