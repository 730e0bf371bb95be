"""The ``mpv`` command: set-up and serving (``sistema``), trámites, users and offices (``tramites``), process
definitions (``procesos``), the TUPA's CSV file (``tupa``), the municipality's holidays (``feriados``). Each
command parses its arguments, calls one action and prints its result.

Command names follow the naming rule (docs/arquitectura.md): what users call things in Spanish
(``mpv tramites presentar``, ``mpv usuarios crear``, ``mpv definiciones validar``), machinery in English
(``mpv serve``, ``mpv init-db``, ``mpv timers``). Older spellings still work, unlisted (:data:`ALIASES`).
Every subcommand returns an exit code; domain errors are printed as their Spanish message.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time

from ..config import Settings, SettingsError
from ..errors import DefinitionError, InvalidInput, MPVError
from . import feriados, procesos, sistema, tramites, tupa

# Older spellings → today's, so that scripts written for them keep working; --help lists only today's.
ALIASES = {
    ("create-user",): ("usuarios", "crear"),
    ("tramite", "new"): ("tramites", "presentar"),
    ("tramite", "show"): ("tramites", "ver"),
    ("tramite", "tasks"): ("tramites", "tareas"),
    ("tramite", "complete"): ("tramites", "completar"),
    ("tramite",): ("tramites",),
    ("workflows", "check"): ("definiciones", "validar"),
    ("audit", "verify"): ("auditoria", "verificar"),
}
OPTION_ALIASES = {"--role": "--rol"}
# Commands whose one verb may be left out, as they were written before they had one.
DEFAULT_VERBS = {"oficinas": "listar", "correos": "enviar"}


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


def current_spelling(argv: list[str]) -> list[str]:
    """``argv`` with an older spelling of its command (:data:`ALIASES`) replaced by today's."""
    for old in sorted(ALIASES, key=len, reverse=True):
        if tuple(argv[:len(old)]) == old:
            argv = [*ALIASES[old], *argv[len(old):]]
            if old == ("create-user",):
                argv = [_option(a) for a in argv]
            break
    if argv and argv[0] in DEFAULT_VERBS and (len(argv) == 1 or argv[1].startswith("-")):
        argv = [argv[0], DEFAULT_VERBS[argv[0]], *argv[1:]]
    return argv


def _option(arg: str) -> str:
    name, eq, value = arg.partition("=")
    return OPTION_ALIASES.get(name, name) + eq + value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mpv", description="Mesa de Partes Virtual")
    sub = p.add_subparsers(metavar="orden")
    sistema.add_commands(sub)
    tramites.add_commands(sub)
    procesos.add_commands(sub)
    tupa.add_commands(sub)
    feriados.add_commands(sub)
    return p


def main(argv=None, settings: Settings | None = None, clock=None) -> int:
    """Run one ``mpv`` subcommand; tests pass ``settings`` (and a ``clock``) instead of the environment."""
    p = parser()
    args = p.parse_args(current_spelling(list(sys.argv[1:] if argv is None else argv)))
    if not getattr(args, "func", None):
        p.print_help()
        return 2
    configure_logging()
    logging.getLogger("spiff").setLevel(logging.WARNING)
    try:
        settings = settings or Settings.from_env()
    except SettingsError as exc:
        print(f"Error de configuración: {exc}", file=sys.stderr)
        return 2
    if getattr(args, "sin_base", False):  # reads files only: no database to open
        return args.func(args, settings)
    from ..services import Services, system_clock

    try:
        services = Services.build(settings, clock=clock or system_clock)
    except SettingsError as exc:  # a trust root that cannot be read (MPV_TRUST_ROOTS)
        print(f"Error de configuración: {exc}", file=sys.stderr)
        return 2
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
