"""``mpv feriados listar | add | remove``: the municipality's own non-working days from the shell, through the
actions of :mod:`mpv.tramites.feriados` (the same audit row and the same re-timing of running plazos as
Administración › Feriados locales; the actor is the system)."""
from __future__ import annotations

from datetime import date

from ..engine import SISTEMA
from ..errors import InvalidInput
from ..tramites import feriados

TIPOS = ", ".join(f"«{tipo}»" if " " in tipo else tipo for tipo in feriados.TIPOS)


def add_commands(sub):
    f = sub.add_parser("feriados", help="feriados locales y días no laborables (no cuentan en los plazos)"
                       ).add_subparsers(metavar="acción")
    s = f.add_parser("listar", help="los días no hábiles del año: los propios y los feriados nacionales")
    s.add_argument("--anio", default="", metavar="AAAA", help="el año (por defecto, el actual)")
    s.set_defaults(func=cmd_listar)
    s = f.add_parser("add", aliases=["registrar"], help="registra un día no hábil y recalcula los plazos en curso que lo incluyen")
    s.add_argument("fecha", metavar="FECHA", help="el día, como AAAA-MM-DD (p. ej. 2026-12-07)")
    s.add_argument("nombre", metavar="NOMBRE", help="el motivo, p. ej. «Aniversario del distrito»")
    s.add_argument("--tipo", default="local", help=f"uno de: {TIPOS} (por defecto, local)")
    s.set_defaults(func=cmd_add)
    s = f.add_parser("remove", aliases=["eliminar"], help="elimina un feriado local y recalcula los plazos en curso que lo incluían")
    s.add_argument("fecha", metavar="FECHA", help="el día, como AAAA-MM-DD")
    s.set_defaults(func=cmd_remove)


def cmd_listar(args, services) -> int:
    anio = _anio(args.anio) if args.anio.strip() else None
    lista = feriados.del_anio(services, SISTEMA, anio)
    print(f"Días no hábiles de {lista.anio} (además de sábados y domingos):")
    for dia in lista.dias:
        print(f"  {dia.fecha:%d/%m/%Y}  {dia.tipo:18} {dia.nombre}")
    propios = sum(1 for dia in lista.dias if dia.feriado is not None)
    print(f"{len(lista.dias)} día(s): {propios} de la municipalidad, {len(lista.dias) - propios} nacional(es).")
    return 0


def cmd_add(args, services) -> int:
    fecha = _fecha(args.fecha)
    if args.tipo not in feriados.TIPOS:
        raise InvalidInput(f"--tipo: «{args.tipo}» no es un tipo de día no hábil; use uno de: {TIPOS}.")
    feriado = feriados.registrar(services, SISTEMA, fecha, args.nombre, args.tipo)
    print(f"Se registró el {feriado.fecha:%d/%m/%Y} como día no hábil ({feriados.TIPOS[feriado.tipo]}: "
          f"{feriado.nombre}).")
    print(feriados.plazos_movidos(feriado))
    return 0


def cmd_remove(args, services) -> int:
    feriado = feriados.eliminar_dia(services, SISTEMA, _fecha(args.fecha))
    print(f"Se eliminó el feriado del {feriado.fecha:%d/%m/%Y} ({feriado.nombre}).")
    print(feriados.plazos_movidos(feriado))
    return 0


def _fecha(texto: str) -> date:
    """The date ``texto`` (AAAA-MM-DD). :raise InvalidInput: saying how to write it."""
    try:
        fecha = date.fromisoformat(texto.strip()) if len(texto.strip()) == 10 else None
    except ValueError:
        fecha = None
    if fecha is None or not feriados.PRIMER_ANIO <= fecha.year <= feriados.ULTIMO_ANIO:
        raise InvalidInput(f"FECHA: «{texto}» no es una fecha válida; escríbala como AAAA-MM-DD (por ejemplo "
                           f"2026-12-07), entre los años {feriados.PRIMER_ANIO} y {feriados.ULTIMO_ANIO}.")
    return fecha


def _anio(texto: str) -> int:
    """The year ``texto``. :raise InvalidInput:"""
    if not texto.strip().isdigit() or not feriados.PRIMER_ANIO <= int(texto) <= feriados.ULTIMO_ANIO:
        raise InvalidInput(f"--anio: «{texto}» no es un año válido; escriba uno entre {feriados.PRIMER_ANIO} y "
                           f"{feriados.ULTIMO_ANIO}, como 2026.")
    return int(texto)
