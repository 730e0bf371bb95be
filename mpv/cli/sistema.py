"""``mpv init-db``, ``demo``, ``serve``, ``timers``, ``correos``, ``archivos`` and ``auditoria``: setting up,
serving and keeping an installation."""
from __future__ import annotations

import argparse
import sys
import time

from .. import history
from ..errors import InvalidInput


def add_commands(sub):
    s = sub.add_parser("init-db", help="crea las tablas y registra las definiciones de workflows/")
    s.set_defaults(func=cmd_init_db)

    s = sub.add_parser("demo", help="oficinas, tipos de documento, usuarios y trámites de demostración")
    s.add_argument("--tramites", type=int, default=6, help="trámites de ejemplo (si la base no tiene ninguno)")
    s.add_argument("--expedientes", type=int, default=0, metavar="N",
                   help="además, siembra N expedientes realistas de los dos últimos años (volumen de prueba)")
    s.add_argument("--semilla", type=int, default=None, metavar="N",
                   help="semilla de la siembra: con la misma semilla y el mismo día, los mismos expedientes")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("serve", help="sirve la aplicación web en MPV_HOST:MPV_PORT")
    s.add_argument("--threads", type=int, default=8)
    s.add_argument("--sin-temporizadores", action="store_true", help="no disparar temporizadores en este proceso")
    s.add_argument("--workers", type=int, default=1, metavar="N",
                   help="N procesos que comparten el puerto (SO_REUSEPORT); con PostgreSQL, uno por núcleo")
    s.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)  # a worker of --workers
    s.add_argument("--worker", type=int, default=0, help=argparse.SUPPRESS)
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("timers", help="dispara los temporizadores vencidos")
    s.add_argument("--loop", action="store_true", help="repite cada MPV_TIMER_INTERVAL segundos")
    s.set_defaults(func=cmd_timers)

    c = sub.add_parser("correos", help="correos a los ciudadanos y resumen diario a las oficinas"
                       ).add_subparsers(metavar="acción")
    s = c.add_parser("enviar", help="envía los correos pendientes")
    s.add_argument("--loop", action="store_true", help="repite cada MPV_TIMER_INTERVAL segundos")
    s.set_defaults(func=cmd_correos_enviar)
    s = c.add_parser("resumen", help="pone en cola el resumen diario de las oficinas, si ya toca",
                     description="Pone en cola el resumen diario (vencidos y por vencer) de cada oficina activa con el "
                                 "resumen activado que aún no lo tiene hoy, un correo por usuario activo con "
                                 "dirección; las oficinas sin nada pendiente no reciben nada. Toca en los días hábiles "
                                 "desde la hora del parámetro «Hora del resumen diario» (07:00 por defecto); el "
                                 "servidor (y «mpv timers») lo hace solo. Envíelos después con «mpv correos enviar».")
    s.add_argument("--forzar", action="store_true",
                   help="aunque todavía no sea la hora o no sea día hábil; ni así una oficina recibe dos resúmenes "
                        "el mismo día")
    s.set_defaults(func=cmd_correos_resumen)

    f = sub.add_parser("archivos", help="archivos adjuntos").add_subparsers(metavar="acción")
    s = f.add_parser("limpiar", help="elimina los archivos que ningún expediente referencia (subidas "
                                     "interrumpidas, restos de un proceso que se detuvo)")
    s.add_argument("--gracia", type=float, default=1.0, metavar="HORAS",
                   help="solo los archivos más antiguos que esto (1 hora por defecto; el servidor lo hace cada "
                        "hora). Use 0 solo con el servidor detenido: una subida en curso también es reciente.")
    s.set_defaults(func=cmd_archivos_limpiar)

    a = sub.add_parser("auditoria", help="auditoría").add_subparsers(metavar="acción")
    s = a.add_parser("verificar", help="verifica la cadena de hashes del historial")
    s.add_argument("--archivos", action="store_true",
                   help="además, vuelve a calcular el SHA-256 de cada archivo adjunto y lo compara con su nombre")
    s.set_defaults(func=cmd_auditoria_verificar)


def cmd_init_db(args, services) -> int:
    for name, sha, new in services.definitions.sync(services.db):
        print(f"{name}: {'nueva versión' if new else 'sin cambios'} {sha[:12]}")
    print("Base de datos lista.")
    return 0


def cmd_demo(args, services) -> int:
    from ..demo import contar, credentials_path, seed

    created = seed(services, args.tramites)
    if created:
        print("Usuarios y certificados de demostración creados (anote las contraseñas):")
    path = credentials_path(services.settings)
    if path.exists():
        print(path.read_text(encoding="utf-8"))
    if args.expedientes:
        from ..demo.volumen import Barra, sembrar

        informe = sembrar(services, args.expedientes, semilla=args.semilla, progreso=Barra(sys.stderr))
        print(informe)
        if informe.usuarios:
            print("Usuarios de oficina creados para la siembra (anote las contraseñas):")
            for username, rol, password in informe.usuarios:
                print(f"  {username:10} {rol:9} {password}")
    print(contar())
    return 0


def cmd_serve(args, services) -> int:
    from ..demo import credentials_path
    from ..web.server import serve, serve_workers

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


def cmd_timers(args, services) -> int:
    from ..tramites.resumen import enviar_resumenes

    while True:
        fired = services.engine.fire_due_timers()
        print(f"Temporizadores: {fired} evento(s) registrados.")
        for pendientes, correos in enviar_resumenes(services).enviados:
            print(f"Resumen diario de {pendientes.oficina.codigo}: {correos} correo(s) en cola.")
        if not args.loop:
            return 0
        time.sleep(services.settings.timer_interval)


def cmd_correos_enviar(args, services) -> int:
    from ..correo.mailer import Mailer, contar

    mailer = Mailer(services)
    while True:
        sent = mailer.send_due()
        cuentas = contar()
        print(f"Correos: {sent} enviado(s); {cuentas['pendiente']} pendiente(s), {cuentas['fallido']} fallido(s).")
        if not args.loop:
            return 0
        time.sleep(services.settings.timer_interval)


def cmd_correos_resumen(args, services) -> int:
    from ..tramites.resumen import enviar_resumenes

    envio = enviar_resumenes(services, forzar=args.forzar)
    if envio.motivo:
        print(f"Resumen diario del {envio.fecha:%d/%m/%Y}: todavía no toca ({envio.motivo}); use --forzar para "
              "enviarlo ya.")
        return 0
    for p, correos in envio.enviados:
        print(f"{p.oficina.codigo:8} {p.cifras['vencidos']} vencido(s), {p.cifras['por_vencer']} por vencer: "
              f"{correos} correo(s) en cola.")
    print(f"Resumen diario del {envio.fecha:%d/%m/%Y}: {len(envio.enviados)} oficina(s) con resumen en cola "
          "(las demás ya lo tenían, no tienen nada pendiente, o tienen el resumen desactivado).")
    return 0


def cmd_archivos_limpiar(args, services) -> int:
    from ..tramites.presentacion import referenced_among

    if not args.gracia >= 0:
        raise InvalidInput("--gracia: indique las horas de gracia, 0 o más.")
    removed = services.storage.sweep(referenced_among, args.gracia * 3600)
    for name in removed:
        print(f"Eliminado {name} ({'subida interrumpida' if name.startswith('up-') else 'ningún adjunto lo referencia'})")
    print(f"Archivos eliminados: {len(removed)} (sin referencia y con más de {args.gracia:g} h).")
    return 0


def cmd_auditoria_verificar(args, services) -> int:
    result = history.verify()
    print(result)
    ok = result.ok
    if args.archivos:
        from ..auditoria.queries import verificar_archivos

        checked, bad = verificar_archivos(services.storage)
        for archivo in bad:
            print(f"Archivo {archivo.sha256}: {archivo.problema} (adjunto de {', '.join(archivo.adjuntos)})")
        print(f"Archivos adjuntos: {checked} verificados, {len(bad)} con problemas.")
        ok = ok and not bad
    return 0 if ok else 1
