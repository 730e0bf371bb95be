"""The ``mpv`` command, from filing to atención, as an operator would use it from the shell."""
from __future__ import annotations

import os
import re
import shutil
import stat

from helpers import base_date

from mpv.cli import main
from mpv.demo import sample_pdf


def run(capsys, settings, clock, *argv):
    code = main(list(argv), settings=settings, clock=clock)
    out, err = capsys.readouterr()
    return code, out, err


def test_take_a_tramite_from_filing_to_atencion(capsys, settings, clock, tmp_path):
    assert run(capsys, settings, clock, "init-db")[0] == 0
    code, out, _ = run(capsys, settings, clock, "demo", "--tramites", "0")
    assert code == 0 and "mesa" in out and "admin" in out
    creds = settings.data_dir / "credenciales-demo.txt"
    assert stat.S_IMODE(os.stat(creds).st_mode) == 0o600
    # A second run creates nothing and shows where the passwords are.
    code, out, _ = run(capsys, settings, clock, "demo")
    assert code == 0 and "Usuarios: 6" in out

    pdf = tmp_path / "solicitud.pdf"
    pdf.write_bytes(sample_pdf("Solicitud de prueba"))
    code, out, err = run(capsys, settings, clock, "tramite", "new", "--dni", "45871236", "--nombres", "Ana",
                         "--apellidos", "Rojas", "--email", "ana@example.com", "--direccion", "Jr. Loreto 215",
                         "--tipo-documento", "SOL", "--asunto", "Licencia de funcionamiento", "--folios", "2",
                         "--archivo", str(pdf))
    assert code == 0, err
    numero = f"{base_date().year}-000001"  # the first of the year of the tests' base day
    assert f"Expediente {numero} presentado." in out and "Código de seguimiento:" in out

    code, out, _ = run(capsys, settings, clock, "tramite", "tasks", numero)
    assert "recepcion" in out and "(mesa" in out
    steps = [("mesa", "recepcion", '{"accion": "conforme"}'),
             ("mesa", "derivacion", '{"oficina_destino": "GDUR", "proveido": "Evaluar", "prioridad": "normal", '
                                    '"plazo_dias": 7}'),
             ("gdur", "recibir", "{}"),
             ("gdur", "atencion", '{"accion": "atender", "respuesta": "Licencia otorgada"}')]
    for user, task, datos in steps:
        code, out, err = run(capsys, settings, clock, "tramite", "complete", numero, task,
                             "--usuario", user, "--datos", datos)
        assert code == 0, err
    assert "Atendido" in out
    code, out, _ = run(capsys, settings, clock, "tramite", "seguimiento", numero)
    assert code == 0
    lines = [line for line in out.splitlines() if line.startswith(f"{base_date():%d/%m/%Y}")]
    assert [line.split("  ")[1].strip() for line in lines] == [
        "Trámite presentado", "Recepción: Conforme", "Derivación", "Recepción en la oficina",
        "Atención: Atender (responder)"]
    code, out, _ = run(capsys, settings, clock, "tramite", "show", numero)
    assert "[Atendido]" in out and "solicitud.pdf" in out
    assert run(capsys, settings, clock, "audit", "verify")[0] == 0
    assert run(capsys, settings, clock, "timers")[0] == 0


def test_cli_errors_are_clear_messages(capsys, settings, clock, tmp_path):
    run(capsys, settings, clock, "demo", "--tramites", "3")  # the third stays in recepción
    anio = base_date().year
    code, _, err = run(capsys, settings, clock, "tramite", "complete", f"{anio}-000003", "recepcion",
                       "--usuario", "mesa", "--datos", "{no json")
    assert code == 1 and "--datos no es JSON válido" in err
    code, _, err = run(capsys, settings, clock, "tramite", "complete", f"{anio}-000003", "recepcion",
                       "--usuario", "gdur", "--datos", '{"accion": "conforme"}')
    assert code == 1 and "la realiza mesa de partes" in err
    code, _, err = run(capsys, settings, clock, "tramite", "complete", f"{anio}-000001", "recepcion",
                       "--usuario", "mesa", "--datos", '{"accion": "conforme"}')
    assert code == 1 and "no tiene pendiente la tarea «recepcion». Tareas pendientes: recibir (Recepción en la oficina)" in err
    code, _, err = run(capsys, settings, clock, "tramite", "show", "2026-999999")
    assert code == 1 and "No existe el expediente 2026-999999" in err
    code, _, err = run(capsys, settings, clock, "create-user", "pepe", "--role", "oficina", "--oficina", "NOPE")
    assert code == 1 and "La oficina NOPE no existe o está desactivada" in err  # the same words as Administración
    code, _, err = run(capsys, settings, clock, "tramite", "new", "--dni", "123", "--archivo", str(tmp_path / "x.pdf"))
    assert code == 1 and "No existe el archivo" in err
    html = tmp_path / "falso.pdf"
    html.write_text("<html><body>no soy un pdf</body></html>")
    code, _, err = run(capsys, settings, clock, "tramite", "new", "--dni", "45871236", "--nombres", "A",
                       "--apellidos", "B", "--email", "a@b.pe", "--direccion", "x", "--tipo-documento", "SOL",
                       "--asunto", "x", "--archivo", str(html))
    assert code == 1 and "no es un PDF" in err
    assert not list((settings.attachments_dir / "tmp").iterdir())


def test_create_user_with_password_from_stdin(capsys, settings, clock, monkeypatch):
    import io

    run(capsys, settings, clock, "demo", "--tramites", "0")
    monkeypatch.setattr("sys.stdin", io.StringIO("corta\n"))
    code, _, err = run(capsys, settings, clock, "create-user", "pepe", "--role", "auditor", "--password-stdin")
    assert code == 1 and "al menos 12 caracteres" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("una contraseña bastante larga\n"))
    code, out, _ = run(capsys, settings, clock, "create-user", "pepe", "--role", "auditor", "--password-stdin")
    assert code == 0 and "Contraseña" not in out


def test_workflows_check(capsys, settings, clock, tmp_path):
    code, out, _ = run(capsys, settings, clock, "workflows", "check")
    assert code == 0 and "tramite.bpmn: correcto" in out
    broken = tmp_path / "wf"
    shutil.copytree(settings.workflows_dir, broken)
    (broken / "atencion.schema.json").unlink()
    code, out, _ = run(capsys, settings, clock, "workflows", "check", str(broken))
    assert code == 1 and "atencion: falta el archivo de formulario atencion.schema.json" in out


def test_audit_verify_archivos_rehashes_every_stored_file(capsys, settings, clock, tmp_path):
    """``mpv audit verify --archivos``: each file an Adjunto names still hashes to its name (T3 of SECURITY.md)."""
    from helpers import build_services, file_tramite

    from mpv.models import Adjunto

    services = build_services(settings, clock)
    try:
        intacto = file_tramite(services, pdf=sample_pdf("Intacto"))
        alterado = file_tramite(services, pdf=sample_pdf("Alterado"), anexos=[sample_pdf("Anexo perdido")])
        files = {a.tipo: a.sha256 for a in Adjunto.select().where(Adjunto.expediente == alterado.id)}
        storage = services.storage
    finally:
        services.close()
    code, out, _ = run(capsys, settings, clock, "audit", "verify", "--archivos")
    assert code == 0 and "Archivos adjuntos: 3 verificados, 0 con problemas." in out, out

    path = storage.path(files["principal"])
    os.chmod(path, 0o600)
    path.write_bytes(path.read_bytes() + b"% una linea agregada despues\n")
    storage.path(files["anexo"]).unlink()
    code, out, _ = run(capsys, settings, clock, "audit", "verify", "--archivos")
    assert code == 1 and "Archivos adjuntos: 3 verificados, 2 con problemas." in out, out
    assert f"Archivo {files['anexo']}: falta el archivo (adjunto de {alterado.numero} «anexo1.pdf»)" in out
    assert f"Archivo {files['principal']}: el contenido cambió" in out and intacto.numero not in out


def test_serve_refuses_zero_workers_with_a_clear_message(capsys, settings, clock):
    code, out, err = run(capsys, settings, clock, "serve", "--workers", "0")
    assert code == 2 and "--workers debe ser 1 o más" in err


def _web(settings, clock):
    """The web app on the database the commands above wrote, and the services it runs on."""
    from helpers import build_services

    from mpv.web.app import create_app

    services = build_services(settings, clock)
    return services, create_app(services)


def test_a_mesa_user_created_without_office_works_in_mesa_de_partes(capsys, settings, clock, monkeypatch):
    """Defect 1 of issue 12: «mpv create-user NAME --role mesa» made a user with no office, who could open
    the derivation form but whose every derivation failed («El proceso no llegó a la tarea…»)."""
    import io

    from webclient import Browser

    from mpv.models import Expediente, Usuario

    run(capsys, settings, clock, "demo", "--tramites", "3")  # the third stays in recepción
    monkeypatch.setattr("sys.stdin", io.StringIO("tres gatos pardos cruzan el rio de noche\n"))
    code, out, err = run(capsys, settings, clock, "create-user", "mesa2", "--role", "mesa", "--password-stdin")
    assert code == 0, err
    services, app = _web(settings, clock)
    try:
        b = Browser(app)
        b.login("mesa2", "tres gatos pardos cruzan el rio de noche")
        assert b.get("/expedientes/2026-000003/derivar").status_code == 200
        done = b.post("/expedientes/2026-000003/derivar", {"paso": "confirmar", "oficina_destino": "GDUR",
                                                           "proveido": "Evaluar", "prioridad": "normal",
                                                           "plazo_dias": "7"})
        assert done.status_code == 303, done.text
        assert Expediente.por_numero("2026-000003").oficina_actual.codigo == "GDUR"
        assert Usuario.get(Usuario.username == "mesa2").oficina.codigo == "MP"
        assert "Usuario mesa2 creado (Mesa de partes, oficina MP)." in out
    finally:
        services.close()


def test_an_office_user_without_office_is_refused_with_the_words_of_administracion(capsys, settings, clock):
    from helpers import build_services

    from mpv.models import Evento, Usuario

    run(capsys, settings, clock, "demo", "--tramites", "0")
    services = build_services(settings, clock)
    try:
        before = (Usuario.select().count(), Evento.select().count())
    finally:
        services.close()
    code, out, err = run(capsys, settings, clock, "create-user", "pepe", "--role", "oficina")
    assert code == 1 and "Usuario pepe creado" not in out
    assert "oficina: Elija la oficina del usuario: el rol Oficina la necesita." in err
    code, _, err = run(capsys, settings, clock, "create-user", "pepe", "--role", "auditor", "--oficina", "GDUR")
    assert code == 1 and "El rol Auditor no pertenece a ninguna oficina: deje la oficina vacía." in err
    services = build_services(settings, clock)
    try:
        assert (Usuario.select().count(), Evento.select().count()) == before
    finally:
        services.close()


def test_the_command_and_administracion_share_the_username_rule_and_the_audit_row(capsys, settings, clock):
    from helpers import make_user
    from webclient import Browser

    from mpv.models import Evento, Usuario

    run(capsys, settings, clock, "demo", "--tramites", "0")
    code, _, err = run(capsys, settings, clock, "create-user", "Mesa2", "--role", "mesa", "--nombre", "Ana Ruiz")
    assert code == 0, err
    code, _, err = run(capsys, settings, clock, "create-user", "mesa2", "--role", "mesa")
    assert code == 1 and "Ya existe el usuario Mesa2" in err
    services, app = _web(settings, clock)
    try:
        make_user("jefa", "admin")
        admin = Browser(app)
        admin.login("jefa")
        page = admin.post("/admin/usuarios/nuevo", {"username": "MESA2", "nombre": "Ana Ruiz", "email": "",
                                                    "rol": "mesa", "oficina": "", "password": ""})
        assert page.status_code == 422 and "Ya existe el usuario Mesa2" in page.text
        assert admin.post("/admin/usuarios/nuevo", {"username": "mesa3", "nombre": "Ana Ruiz", "email": "",
                                                    "rol": "mesa", "oficina": "", "password": ""}).status_code == 303
        assert [u for (u,) in Usuario.select(Usuario.username).tuples() if u.lower() == "mesa2"] == ["Mesa2"]
        consola, web = [r for r in Evento.select().where(Evento.accion == "usuario_creado").order_by(Evento.seq)
                        if r.descripcion in ("Se creó el usuario Mesa2.", "Se creó el usuario mesa3.")]
        assert consola.detalle == web.detalle == (
            "nombre=Ana Ruiz, email=—, rol=mesa, oficina=MP; contraseña generada, temporal")
        assert (consola.actor_nombre, consola.rol, web.actor_nombre, web.rol) == ("sistema", "sistema", "jefa", "admin")
    finally:
        services.close()


def test_one_set_of_verbs_and_the_old_spellings_still_work_unlisted(capsys, settings, clock, tmp_path):
    """docs/arquitectura.md's naming rule: `mpv tramites presentar`, `mpv usuarios crear`, `mpv definiciones
    validar`…; `tramite new`, `create-user --role`, `workflows check`, `audit verify` keep working, unlisted."""
    assert run(capsys, settings, clock, "init-db")[0] == 0
    run(capsys, settings, clock, "demo", "--tramites", "0")
    pdf = tmp_path / "solicitud.pdf"
    pdf.write_bytes(sample_pdf("Solicitud"))
    code, out, err = run(capsys, settings, clock, "tramites", "presentar", "--dni", "45871236", "--nombres", "Ana",
                         "--apellidos", "Rojas", "--email", "ana@example.com", "--direccion", "Jr. Loreto 215",
                         "--tipo-documento", "SOL", "--asunto", "Licencia", "--archivo", str(pdf))
    assert code == 0, err
    numero = out.split("Expediente ")[1].split(" ")[0]
    assert "recepcion" in run(capsys, settings, clock, "tramites", "tareas", numero)[1]
    code, out, err = run(capsys, settings, clock, "tramites", "completar", numero, "recepcion", "--usuario", "mesa",
                         "--datos", '{"accion": "conforme"}')
    assert code == 0, err
    assert "Recepción: Conforme" in run(capsys, settings, clock, "tramites", "seguimiento", numero)[1]
    assert f"Expediente {numero}" in run(capsys, settings, clock, "tramites", "ver", numero)[1]
    assert "MP " in run(capsys, settings, clock, "oficinas", "listar")[1]
    assert "MP " in run(capsys, settings, clock, "oficinas")[1]  # its one verb may be left out, as before
    code, out, err = run(capsys, settings, clock, "usuarios", "crear", "nuevo", "--rol", "mesa")
    assert code == 0 and "Usuario nuevo creado" in out, err
    code, out, err = run(capsys, settings, clock, "create-user", "viejo", "--role=mesa")
    assert code == 0 and "Usuario viejo creado" in out, err
    assert run(capsys, settings, clock, "definiciones", "validar")[0] == 0
    assert run(capsys, settings, clock, "workflows", "check")[0] == 0
    assert run(capsys, settings, clock, "auditoria", "verificar")[0] == 0
    assert run(capsys, settings, clock, "audit", "verify")[0] == 0
    assert run(capsys, settings, clock, "correos", "enviar")[0] == 0
    assert run(capsys, settings, clock, "correos")[0] == 0

    import pytest

    with pytest.raises(SystemExit):
        main(["--help"])
    listed = set(re.findall(r"^    (\S+)", capsys.readouterr().out, re.M))  # the commands --help lists
    assert {"tramites", "usuarios", "oficinas", "definiciones", "auditoria", "correos", "archivos", "serve",
            "init-db", "demo", "timers", "tupa", "feriados"} == listed
