"""``mpv tupa exportar`` and ``mpv tupa importar``: the TUPA as a CSV file (:mod:`mpv.tramites.tupa_csv`)."""
from __future__ import annotations

import sys
from pathlib import Path

from ..engine import SISTEMA
from ..errors import InvalidInput
from ..tramites import tupa_csv


def add_commands(sub):
    t = sub.add_parser("tupa", help="procedimientos del TUPA (archivo CSV)").add_subparsers(metavar="acción")
    s = t.add_parser("exportar", help="escribe el TUPA como CSV (en la salida estándar si no se da --archivo)")
    s.add_argument("--archivo", type=Path, default=None, metavar="F", help="archivo CSV donde escribirlo")
    s.set_defaults(func=cmd_tupa_exportar)
    s = t.add_parser("importar", help="crea o actualiza los procedimientos de un CSV; si una fila tiene errores, "
                                      "no importa ninguna")
    s.add_argument("archivo", type=Path, help="archivo CSV con las columnas que escribe «mpv tupa exportar»")
    s.set_defaults(func=cmd_tupa_importar)


def cmd_tupa_exportar(args, services) -> int:
    texto = tupa_csv.exportar(SISTEMA)
    if args.archivo is None:
        sys.stdout.write(texto)
        return 0
    try:
        with args.archivo.open("w", encoding="utf-8", newline="") as fh:
            fh.write(texto)
    except OSError as exc:
        raise InvalidInput(f"No se pudo escribir {args.archivo}: {exc.strerror or exc}.") from None
    print(f"TUPA exportado a {args.archivo}.", file=sys.stderr)
    return 0


def cmd_tupa_importar(args, services) -> int:
    try:
        datos = args.archivo.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"No se pudo leer {args.archivo}: {exc.strerror or exc}.") from None
    print(tupa_csv.importar(services, SISTEMA, datos, args.archivo.name))
    return 0
