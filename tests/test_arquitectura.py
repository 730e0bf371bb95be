"""The layout's rules (README, «Cómo está organizado el código»), checked on the source itself: small modules,
imports that run one way only, no module taking another's private names, and faces without queries of their own."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

MPV = Path(__file__).resolve().parent.parent / "mpv"
MAX_LINES = 400

# Each package may import only from the layers below it (and from itself).
BELOW = {
    "engine": {"ground"},
    "tramites": {"ground", "engine"},
    "correo": {"ground", "engine", "tramites"},
    "auditoria": {"ground", "engine", "tramites"},
    "web": {"ground", "engine", "tramites", "correo", "auditoria", "root"},
    "demo": {"ground", "engine", "tramites", "root"},
    "cli": {"ground", "engine", "tramites", "correo", "auditoria", "web", "demo", "root"},
}
PACKAGES = set(BELOW)
# The composition root wires every layer together: it stands above them all, below the faces.
ROOT_MODULES = {"services"}


def modules():
    return sorted(p for p in MPV.rglob("*.py") if "__pycache__" not in p.parts)


def layer(path: Path) -> str:
    rel = path.relative_to(MPV).parts
    if len(rel) > 1:
        return rel[0]
    name = rel[0].removesuffix(".py")
    return "root" if name in ROOT_MODULES else ("cli" if name in ("cli", "__main__") else "ground")


def imported(path: Path) -> list[tuple[str, list[str]]]:
    """(absolute module, names) of each import of an MPV module in ``path``."""
    package = ".".join(("mpv",) + path.relative_to(MPV).parent.parts)
    if path.name == "__init__.py":
        package = ".".join(("mpv",) + path.relative_to(MPV).parent.parts)
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module == "mpv" or module.startswith("mpv."):
                found.append((module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.startswith("mpv")]
    return found


def target_layer(module: str, names: list[str]) -> set[str]:
    parts = module.split(".")[1:]
    if not parts:  # from mpv import x, y: each name is a module
        return {layer(MPV / f"{n}.py") if (MPV / f"{n}.py").exists() else n for n in names}
    if parts[0] in PACKAGES:
        return {parts[0]}
    return {"root" if parts[0] in ROOT_MODULES else ("cli" if parts[0] == "cli" else "ground")}


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(MPV)))
def test_no_module_is_over_400_lines(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES, "divídalo por responsabilidad (STYLE.md, hábito 10)"


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_module_takes_another_modules_private_name():
    """Neither ``from .x import _name`` nor ``x._name`` on a module it imported."""
    offences = [f"{p.relative_to(MPV)}: {module}.{name}" for p in modules() for module, names in imported(p)
                for name in names if _private(name)]
    for path in modules():
        tree = ast.parse(path.read_text())
        aliases = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                   and (node.level or (node.module or "").startswith("mpv")) for a in node.names
                   if not a.name[:1].isupper()}  # modules and functions, not classes
        offences += [f"{path.relative_to(MPV)}: {node.value.id}.{node.attr}" for node in ast.walk(tree)
                     if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                     and node.value.id in aliases and _private(node.attr)]
    assert offences == []


def test_imports_run_one_way():
    allowed = {**{k: v | {k} for k, v in BELOW.items()}, "ground": {"ground"},
               "root": {"ground", "engine", "tramites", "correo", "auditoria", "root"}}
    offences = []
    for path in modules():
        here = layer(path)
        for module, names in imported(path):
            for there in target_layer(module, names):
                if there not in allowed[here]:
                    offences.append(f"{path.relative_to(MPV)} ({here}) importa {module} ({there})")
    assert offences == []


def test_engine_use_cases_and_models_know_nothing_of_http_or_pages():
    offences = []
    for path in modules():
        if layer(path) in ("web", "cli"):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offences += [f"{path.relative_to(MPV)}: {n}" for n in names if n.split(".")[0] in ("falcon", "waitress")]
    assert offences == []


# Every web module and command parses, calls a use case and renders: no model imported, no query, write
# transaction or engine check of its own (a face that needs one more list asks its use case module for it).
SIN_CONSULTAS = sorted([*(MPV / "web").glob("*.py"), *(MPV / "cli").glob("*.py")])
QUERIES = {"select", "get_or_none", "get_by_id", "update", "delete", "create", "insert", "insert_many",
           "count", "execute", "write", "locked", "authorize", "validate"}


def _receiver_root(node) -> str:
    """The name a call's receiver starts from (``Expediente`` in ``Expediente.select().where``), or the last
    attribute before the call (``db`` in ``self._services.db.write``)."""
    value = node.func.value
    if isinstance(value, ast.Attribute) and value.attr in ("db", "engine"):
        return value.attr
    while isinstance(value, (ast.Attribute, ast.Call)):
        value = value.value if isinstance(value, ast.Attribute) else value.func
    return value.id if isinstance(value, ast.Name) else ""


def _is_query(node) -> bool:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in QUERIES):
        return False
    root = _receiver_root(node)
    return root[:1].isupper() or root in ("db", "engine")


@pytest.mark.parametrize("path", SIN_CONSULTAS, ids=lambda p: str(p.relative_to(MPV)))
def test_these_faces_run_no_query_of_their_own(path):
    models = [name for module, names in imported(path) if module == "mpv.models" for name in names
              if name != "ROLES"]  # the roles' names, for menus: a constant, not a model
    tree = ast.parse(path.read_text())
    libraries = [a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names
                 if a.name == "peewee"]
    calls = [f"línea {node.lineno}: .{node.func.attr}()" for node in ast.walk(tree) if _is_query(node)]
    assert (models, libraries, calls) == ([], [], [])


def test_the_query_check_finds_queries():
    """The check above is not vacuous: it finds queries where use cases run them, and in a sample."""
    found = {node.func.attr for node in ast.walk(ast.parse((MPV / "tramites" / "ciudadano.py").read_text()))
             if _is_query(node)}
    assert {"select", "get_or_none"} <= found
    sample = ast.parse("Expediente.select().where(x)\nself._services.db.write()\nbody.update(x)\n"
                       "self._services.engine.authorize(a)")
    assert sorted(n.func.attr for n in ast.walk(sample) if _is_query(n)) == ["authorize", "select", "write"]
