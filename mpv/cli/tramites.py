"""``mpv tramites``, ``mpv usuarios`` and ``mpv oficinas``: the staff's and the citizen's actions from the shell."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..engine import SISTEMA, Actor
from ..errors import InvalidInput, MPVError
from ..models import ROLES
from ..tramites import catalogos, expedientes
from ..tramites.campos import ARCHIVO, CLI, de_cara, textos


def add_commands(sub):
    u = sub.add_parser("usuarios", help="usuarios del personal").add_subparsers(metavar="acción")
    s = u.add_parser("crear", help="crea un usuario del personal")
    s.add_argument("username")
    s.add_argument("--rol", required=True, choices=sorted(ROLES))
    s.add_argument("--oficina", default="", help="código de oficina (obligatorio para el rol oficina; el rol mesa "
                                                 "usa la de mesa de partes)")
    s.add_argument("--nombre", default="")
    s.add_argument("--email", default="")
    s.add_argument("--password-stdin", action="store_true", help="lee la contraseña de la entrada estándar")
    s.add_argument("--jefe", action="store_true", help="jefe de su oficina: asigna sus expedientes, lee sus reportes")
    s.set_defaults(func=cmd_usuarios_crear)

    o = sub.add_parser("oficinas", help="oficinas").add_subparsers(metavar="acción")
    o.add_parser("listar", help="lista las oficinas").set_defaults(func=cmd_oficinas_listar)

    t = sub.add_parser("tramites", help="trámites desde la consola").add_subparsers(metavar="acción")
    s = t.add_parser("presentar", help="presenta un trámite (como lo haría un ciudadano)")
    for campo in de_cara(CLI):  # the filing's fields, as mpv.tramites.campos defines them
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
    s.set_defaults(func=cmd_tramites_presentar)
    s = t.add_parser("ver", help="datos del expediente")
    s.add_argument("numero")
    s.set_defaults(func=cmd_tramites_ver)
    s = t.add_parser("tareas", help="tareas listas del expediente")
    s.add_argument("numero")
    s.set_defaults(func=cmd_tramites_tareas)
    s = t.add_parser("completar", help="completa una tarea con los datos de su formulario")
    s.add_argument("numero")
    s.add_argument("tarea", help="id de la tarea o nombre de la tarea (recepcion, derivacion, atencion…)")
    who = s.add_mutually_exclusive_group(required=True)
    who.add_argument("--usuario", help="usuario del personal que realiza la tarea")
    who.add_argument("--ciudadano", action="store_true", help="la realiza el remitente (subsanación)")
    s.add_argument("--datos", default="{}", help='datos del formulario en JSON, p. ej. \'{"accion": "conforme"}\'')
    s.set_defaults(func=cmd_tramites_completar)
    s = t.add_parser("seguimiento", help="seguimiento del expediente")
    s.add_argument("numero")
    s.set_defaults(func=cmd_tramites_seguimiento)


def cmd_usuarios_crear(args, services) -> int:
    from ..tramites.usuarios import crear_usuario

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else ""
    if args.password_stdin and not password:
        raise InvalidInput("La entrada estándar no trajo ninguna contraseña (una línea).")
    # A password the operator typed is theirs; a printed one is temporary (ASVS V6.4.1).
    usuario, generada = crear_usuario(services, SISTEMA, args.username, args.nombre or args.username, args.rol,
                                      args.oficina, args.email, password, cambiar_clave=not args.password_stdin,
                                      jefe=args.jefe)
    oficina = f", oficina {usuario.oficina.codigo}" if usuario.oficina_id else ""
    print(f"Usuario {usuario.username} creado ({ROLES[usuario.rol]}{oficina}).")
    if generada:
        print(f"Contraseña: {generada} (temporal: al ingresar, el sistema le pedirá cambiarla)")
    return 0


def cmd_oficinas_listar(args, services) -> int:
    for o in catalogos.oficinas():
        flags = " (mesa de partes)" if o.es_mesa_partes else ("" if o.activa else " (inactiva)")
        print(f"{o.codigo:8} {o.nombre}{flags}")
    return 0


def cmd_tramites_presentar(args, services) -> int:
    from ..tramites.presentacion import presentar

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


def cmd_tramites_ver(args, services) -> int:
    e = expedientes.visible(SISTEMA, args.numero)
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


def cmd_tramites_tareas(args, services) -> int:
    e, tasks = expedientes.tareas_pendientes(services, SISTEMA, args.numero)
    if not tasks:
        print(f"El expediente {e.numero} no tiene tareas pendientes ({e.estado}).")
    for task in tasks:
        where = f" — oficina {task.oficina}" if task.oficina else ""
        print(f"{task.id}  {task.spec:12} {task.nombre} ({task.rol}{where})")
    return 0


def cmd_tramites_completar(args, services) -> int:
    from ..tramites import tareas

    try:
        datos = json.loads(args.datos)
    except ValueError as exc:
        raise InvalidInput(f"--datos no es JSON válido: {exc}") from None
    if not isinstance(datos, dict):
        raise InvalidInput("--datos debe ser un objeto JSON")
    from ..tramites.usuarios import actor_activo

    if args.ciudadano:
        actor = Actor.ciudadano(expedientes.visible(SISTEMA, args.numero))
    else:
        actor = actor_activo(args.usuario)
    result = tareas.completar_por_nombre(services, actor, args.numero, args.tarea, datos)
    print(f"Expediente {result.expediente.numero}: {result.expediente.estado}"
          f"{' — ' + result.expediente.tarea_actual if result.expediente.tarea_actual else ''}")
    return 0


def cmd_tramites_seguimiento(args, services) -> int:
    e, movimientos = expedientes.seguimiento(services, SISTEMA, args.numero)
    print(f"Seguimiento del expediente {e.numero} — {e.estado}")
    for m in movimientos:
        ruta = f"{m.origen} → {m.destino}" if m.destino and m.destino != m.origen else m.origen
        print(f"{m.momento:%d/%m/%Y %H:%M}  {m.descripcion:40} {ruta:50} {m.usuario:12} "
              f"{m.dias_habiles} d.h.{'  ' + m.detalle if m.detalle else ''}")
    return 0
