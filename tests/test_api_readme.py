"""The README's «JSON API» section is true: each curl example, run against the app, gives the status and
the answer it shows (the same keys, nesting and JSON types), the answers it shows are ones the OpenAPI
document promises, and the README and the OpenAPI document name the same routes and error statuses."""
from __future__ import annotations

import dataclasses
import json
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from falcon import testing
from openapi_schema_validator import OAS30Validator
from helpers import make_user, resolve_refs
from webclient import multipart

from mpv.demo import sample_pdf
from mpv.models import Oficina, Procedimiento
from mpv.tramites import tokens
from mpv.web.app import create_app
from mpv.web.openapi import document

README = Path(__file__).resolve().parent.parent / "README.md"
BASE = "http://127.0.0.1:8080"  # the default MPV_BASE_URL, which the examples use
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.M | re.S)
STATUS = re.compile(r"^# → (\d{3})\b", re.M)


@dataclasses.dataclass
class Example:
    """One curl command of the README, the status it shows, and the JSON answer shown under it (if any)."""

    method: str
    path: str
    fields: list[tuple[str, str]]
    files: list[tuple[str, str]]  # (field, file name) of each -F name=@file
    status: int
    body: object = None
    headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # each -H "Name: value"
    data: str | None = None  # the -d body
    query: str = ""


def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## JSON API\n")
    return text[start:text.index("\n## ", start + 1)]


def parse_curl(command: str, status: int) -> Example:
    """A curl command as the request it sends: -F fields (multipart POST), -d (a POST body), -X, -H are understood."""
    words = shlex.split(command.replace("\\\n", " "))
    assert words[0] == "curl", command
    method, url, fields, files, headers, data = None, None, [], [], [], None
    words = iter(words[1:])
    for word in words:
        if word == "-F":
            name, value = next(words).split("=", 1)
            (files.append((name, value[1:])) if value.startswith("@") else fields.append((name, value)))
        elif word == "-X":
            method = next(words)
        elif word == "-H":
            name, value = next(words).split(":", 1)
            headers.append((name.strip(), value.strip()))
        elif word == "-d":
            data = next(words)
        elif word.startswith("http"):
            url = word
        else:
            raise AssertionError(f"README: a curl option this test cannot translate: {word} (teach parse_curl)")
    assert url and url.startswith(BASE), command
    return Example(method or ("POST" if fields or files or data is not None else "GET"), urlsplit(url).path, fields,
                   files, status, headers=headers, data=data, query=urlsplit(url).query)


def examples() -> list[Example]:
    """The examples of the section, in order: a ```sh block holds one curl and its «# → status» line; a
    ```json block right after it is the answer's body."""
    found = []
    for kind, text in BLOCK.findall(section()):
        if kind == "sh":
            command = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
            statuses = STATUS.findall(text)
            assert command.count("curl ") == 1 and len(statuses) == 1, f"one curl and one «# → status»:\n{text}"
            found.append(parse_curl(command, int(statuses[0])))
        elif kind == "json":
            assert found and found[-1].body is None, f"a JSON answer with no curl before it:\n{text}"
            found[-1].body = json.loads(text)
        else:
            raise AssertionError(f"README JSON API: a ```{kind} block this test does not read")
    assert found
    return found


def same_shape(shown, real, where="$"):
    """The README's ``shown`` answer has the keys, nesting and JSON types of the ``real`` one (values differ:
    codes, dates; a list shows some items, each shaped like every real item)."""
    if isinstance(shown, dict):
        assert isinstance(real, dict), where
        assert set(shown) == set(real), (where, sorted(shown), sorted(real))
        for key in shown:
            same_shape(shown[key], real[key], f"{where}.{key}")
    elif isinstance(shown, list):
        assert isinstance(real, list), where
        assert bool(shown) == bool(real), (where, "the README shows items" if shown else "the README shows none")
        for i, item in enumerate(shown):
            for j, other in enumerate(real):
                same_shape(item, other, f"{where}[{i}~{j}]")
    else:
        kind = (bool, str, type(None)) if isinstance(shown, (bool, str, type(None))) else (int, float)
        assert isinstance(real, kind) and isinstance(real, bool) == isinstance(shown, bool), (where, shown, real)


def template_of(path: str, spec: dict) -> str:
    """The OpenAPI path (``/api/v1/tramites/{codigo}/seguimiento``) a concrete path falls under."""
    matches = [t for t in spec["paths"] if re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", t), path)]
    assert len(matches) == 1, (path, matches)
    return matches[0]




@pytest.fixture
def spec(services):
    return document(services.settings, services.limits)


@pytest.fixture
def tupa(services):
    """The TUPA procedure the README's examples file against."""
    Procedimiento.create(codigo="LF-01", nombre="Licencia de funcionamiento para establecimientos de riesgo bajo",
                         requisitos=json.dumps(["Solicitud con carácter de declaración jurada",
                                                "Copia del comprobante de pago"]),
                         derecho_tramite="120.50", calificacion="positivo", plazo_dias=4,
                         oficina=Oficina.get(Oficina.codigo == "GDUR"), base_legal="Ley 28976, art. 8")


def test_each_readme_example_gives_the_answer_it_shows(services, spec, tupa):
    client = testing.TestClient(create_app(services))
    codigo = None
    # The staff API's examples: TOKEN is a write token of mesa de partes, NUMERO the filing's number, TASK_ID its
    # recepción (from the list of tasks).
    token, _ = tokens.crear(services, make_user("mesa", "mesa", "MP"), "README", "escritura", 90)
    nombres = {"CODIGO": None, "NUMERO": None, "TASK_ID": None, "TOKEN": token}

    def concreto(text: str) -> str:
        for name, value in nombres.items():
            text = text.replace(name, value) if value else text
        return text

    for example in examples():
        path, headers = concreto(example.path), {name: concreto(value) for name, value in example.headers}
        query = concreto(example.query)
        if example.data is not None:
            result = client.simulate_post(path, body=example.data, headers=headers, query_string=query)
        elif example.method == "POST":
            files = [(name, filename, sample_pdf(filename)) for name, filename in example.files]
            body, content_type = multipart(example.fields, files)
            result = client.simulate_post(path, body=body, headers={"Content-Type": content_type, **headers})
        else:
            result = client.simulate_request(example.method, path, headers=headers, query_string=query)
        where = (example.method, example.path)
        assert result.status_code == example.status, (where, result.status_code, result.text)
        assert result.headers["content-type"] == "application/json", where
        if example.status == 201 and path.endswith("/escritos"):  # an escrito: its Location is its constancia
            assert result.headers["location"] == result.json["constancia_url"]
        elif example.status == 201:  # the filing: its code is the README's CODIGO, its Location the seguimiento
            codigo = nombres["CODIGO"] = result.json["codigo"]
            nombres["NUMERO"] = result.json["numero"]
            assert result.headers["location"] == f"{BASE}/api/v1/tramites/{codigo}/seguimiento"
        if path == "/api/v1/staff/tareas" and result.status_code == 200:
            nombres["TASK_ID"] = next(t["task_id"] for t in result.json["tareas"]
                                      if (t["expediente"], t["tarea"]) == (nombres["NUMERO"], "recepcion"))
        if example.body is not None:
            same_shape(example.body, result.json)
            # The answer shown is one the OpenAPI document promises for that route and status.
            operation = spec["paths"][template_of(path, spec)][example.method.lower()]
            schema = resolve_refs(operation["responses"][str(example.status)], spec)["content"]["application/json"]
            OAS30Validator(schema["schema"], format_checker=OAS30Validator.FORMAT_CHECKER).validate(example.body)
    assert codigo, "the README's filing example must come before the seguimiento one that uses its CODIGO"


def test_the_readme_and_the_openapi_document_name_the_same_routes_and_errors(spec):
    readme = {(e.method.lower(), template_of(e.path, spec)) for e in examples()}
    documented = {(method, path) for path, item in spec["paths"].items() for method in item
                  if method in ("get", "post", "put", "patch", "delete")}
    assert readme == documented
    errors = {int(code) for item in spec["paths"].values() for operation in item.values()
              for code in operation["responses"] if int(code) >= 400}
    [listed] = re.findall(r"^Errors \(([\d, ]+)\)", section(), re.M)
    assert {int(code) for code in listed.split(",")} == errors
