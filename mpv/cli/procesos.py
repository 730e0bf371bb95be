"""``mpv definiciones``: validate the diagrams of ``workflows/`` (or any .bpmn) and migrate running expedientes."""
from __future__ import annotations

import sys
from pathlib import Path

from ..engine.definitions import compile_bundle, read_bundle
from ..errors import DefinitionError


def add_commands(sub):
    d = sub.add_parser("definiciones", help="definiciones de proceso y sus versiones").add_subparsers(
        metavar="acción")
    s = d.add_parser("validar", help="valida un BPMN, o cada BPMN de la carpeta, con sus formularios")
    s.add_argument("ruta", nargs="?", type=Path, help="archivo .bpmn o carpeta (por omisión, la de los procesos)")
    s.set_defaults(func=cmd_definiciones_validar, sin_base=True)
    s = d.add_parser("migrar", help="migra los expedientes en curso a una versión más nueva, cuando es seguro")
    s.add_argument("--version", type=int, help="id de la versión de destino (por omisión, la activa)")
    s.add_argument("--proceso", default="tramite", help="proceso cuya versión activa es el destino")
    s.set_defaults(func=cmd_definiciones_migrar)


def cmd_definiciones_validar(args, settings) -> int:
    """A verdict per diagram (correcto, or each problem by element id); 1 when any is refused."""
    ruta = args.ruta or settings.workflows_dir
    if not ruta.exists():
        print(f"No existe {ruta}.", file=sys.stderr)
        return 1
    paths = [ruta] if not ruta.is_dir() else sorted(ruta.glob("*.bpmn"))
    if not paths:
        print(f"No hay archivos .bpmn en {ruta}.", file=sys.stderr)
        return 1
    failed = 0
    for path in paths:
        try:
            definition = compile_bundle(read_bundle(path))
        except DefinitionError as exc:
            failed += 1
            print(f"{path.name}: con problemas")
            for problem in exc.problems or [exc.message]:
                print(f"  - {problem}")
            continue
        print(f"{path.name}: correcto (proceso {definition.process_id}, {len(definition.user_tasks)} tareas de "
              f"usuario, versión {definition.sha256[:12]})")
        for aviso in definition.avisos:
            print(f"  aviso: {aviso}")
    return 1 if failed else 0


def cmd_definiciones_migrar(args, services) -> int:
    from ..engine import SISTEMA
    from ..tramites import procesos

    destino = args.version or services.definitions.active(args.proceso).row_id
    migracion = procesos.migrar(services, SISTEMA, destino)
    for r in migracion.resultados:
        print(f"{r.numero}: {'migrado' if r.migrado else 'sin migrar: ' + r.motivo}")
    print(f"{migracion.migrados} migrado(s), {migracion.rechazados} sin migrar, a la versión {destino}.")
    return 0
