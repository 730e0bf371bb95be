"""Demo data: the offices of a district municipality's organigram, document types, its TUPA (``tupa.csv``, read
by the same import an administrator uses), one user per role (passwords generated, written once to a private
file), demo certificates (the entity's seal, one for each user who signs: :mod:`mpv.demo.certificados`) and a
few trámites in varied states."""
from __future__ import annotations

import io
import os
from pathlib import Path

from fpdf import FPDF

from ..engine import SISTEMA, Actor
from ..models import Expediente, Oficina, Procedimiento, TipoDocumento, Usuario
from ..text import fold
from ..tramites import tupa_csv
from ..tramites.presentacion import presentar
from ..tramites.usuarios import crear_usuario
from . import certificados, plantillas

# A district municipality's units, after a typical Reglamento de Organización y Funciones (ROF).
OFICINAS = [
    ("MP", "Mesa de Partes - Unidad de Trámite Documentario y Archivo", True),
    ("ALC", "Alcaldía", False),
    ("GM", "Gerencia Municipal", False),
    ("SG", "Secretaría General", False),
    ("OCI", "Órgano de Control Institucional", False),
    ("PPM", "Procuraduría Pública Municipal", False),
    ("OAJ", "Oficina de Asesoría Jurídica", False),
    ("OPP", "Oficina de Planeamiento y Presupuesto", False),
    ("GAF", "Gerencia de Administración y Finanzas", False),
    ("URH", "Unidad de Recursos Humanos", False),
    ("ULOG", "Unidad de Logística y Control Patrimonial", False),
    ("SGAT", "Subgerencia de Administración Tributaria", False),
    ("GDUR", "Gerencia de Desarrollo Urbano y Rural", False),
    ("GDS", "Gerencia de Desarrollo Social", False),
    ("DEMUNA", "Defensoría Municipal del Niño y del Adolescente", False),
    ("GDE", "Gerencia de Desarrollo Económico Local", False),
    ("GSP", "Gerencia de Servicios Públicos y Gestión Ambiental", False),
    ("ORC", "Oficina de Registro Civil", False),
    ("OGRD", "Oficina de Gestión del Riesgo de Desastres", False),
    ("OII", "Oficina de Imagen Institucional", False),
]

# A district municipality's TUPA: the procedures, their requirements, fees, calificación and competent offices
# (codes of OFICINAS), in the CSV format of «mpv tupa exportar».
TUPA = Path(__file__).with_name("tupa.csv")

TIPOS_DOCUMENTO = [
    ("SOL", "Solicitud"), ("CAR", "Carta"), ("OFI", "Oficio"), ("REC", "Recurso administrativo"),
    ("QUE", "Queja"), ("DEN", "Denuncia"), ("MEM", "Memorial"), ("DJ", "Declaración jurada"),
    ("INF", "Informe"), ("OTR", "Otro"),
]

USUARIOS = [
    ("mesa", "María Quispe Huamán", "mesa", "MP"),
    ("gdur", "Jorge Mendoza Ríos", "oficina", "GDUR"),
    ("rentas", "Rosa Flores Salazar", "oficina", "SGAT"),
    ("auditor", "Luis Paredes Vega", "auditor", None),
    ("analista", "Carmen Torres Ccori", "analista", None),
    ("admin", "Administrador del sistema", "admin", None),
]

JEFES = {"gdur"}  # heads of their office (they assign its expedientes and read its reports)

MUESTRAS = [
    ("Licencia de funcionamiento para bodega en Jr. Loreto 215", "SOL", "GDUR"),
    ("Constancia de no adeudo del impuesto predial 2026", "SOL", "SGAT"),
    ("Reclamo por cobro de arbitrios del predio Av. Grau 480", "REC", None),
    ("Certificado de parámetros urbanísticos y edificatorios", "SOL", "GDUR"),
    ("Queja por ruidos molestos de local nocturno", "QUE", None),
    ("Fraccionamiento de deuda tributaria", "SOL", "SGAT"),
]


def sample_pdf(title: str, pages: int = 1) -> bytes:
    """A small real PDF with a title line per page (for demo filings and tests)."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.multi_cell(0, 8, f"{title}\nPágina {number} de {pages}")
    return bytes(pdf.output())


def contar() -> str:
    """How many offices, users and expedientes the database holds, in one line."""
    return (f"Oficinas: {Oficina.select().count()}  Procedimientos del TUPA: {Procedimiento.select().count()}  "
            f"Usuarios: {Usuario.select().count()}  Expedientes: {Expediente.select().count()}")


def credentials_path(settings) -> Path:
    return Path(settings.data_dir) / "credenciales-demo.txt"


def seed(services, tramites: int = 6) -> list[tuple[str, str, str]]:
    """Create the demo offices and document types, the TUPA (when the database has no procedure) and the users
    (when it has no users).

    Returns (username, role, password) for the users created; the passwords are also written to
    ``credenciales-demo.txt`` in the data folder (readable by its owner only).
    """
    with services.db.write():
        for codigo, nombre, es_mesa in OFICINAS:
            Oficina.insert(codigo=codigo, nombre=nombre, es_mesa_partes=es_mesa).on_conflict_ignore().execute()
        for codigo, nombre in TIPOS_DOCUMENTO:
            TipoDocumento.insert(codigo=codigo, nombre=nombre).on_conflict_ignore().execute()
        sin_tupa = not Procedimiento.select().exists()
    if sin_tupa:  # an administrator's later changes to the TUPA are theirs: the demo never undoes them
        tupa_csv.importar(services, SISTEMA, TUPA.read_bytes(), TUPA.name)
    plantillas.sembrar(services)
    with services.db.write():
        hay_usuarios = Usuario.select().exists()
    if hay_usuarios:
        certificados.crear(services, [])  # the demo seal of a database seeded before there was one
        return []
    with services.db.write():
        created = []
        for username, nombre, rol, oficina in USUARIOS:
            # Not flagged for a change at the first login: the README documents the printed passwords.
            _, password = crear_usuario(services, SISTEMA, username, nombre, rol, oficina or "",
                                        f"{username}@muni.example.gob.pe", cambiar_clave=False, jefe=username in JEFES)
            created.append((username, rol, password))
    claves = certificados.crear(services, [username for username, _, _ in created])
    _write_credentials(services.settings, created, claves)
    if not Expediente.select().exists():
        _sample_tramites(services, tramites)
    return created


def _write_credentials(settings, created, claves):
    path = credentials_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["Usuarios de demostración de MPV (contraseñas generadas al crear la base de datos)", ""]
    lines += [f"{u:10} {r:9} {p}" for u, r, p in created]
    if claves:
        lines += ["", "Certificados digitales de demostración, sin valor legal (contraseña para firmar documentos):",
                  ""] + [f"{u:10} {c}" for u, c in claves]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def _sample_tramites(services, count: int):
    mesa = Usuario.get(Usuario.username == "mesa")
    people = [("Ana", "Rojas Villanueva", "45871236"), ("Pedro", "Huamaní Sánchez", "40125578"),
              ("Lucía", "Chávez Aguilar", "71234509"), ("José", "Ramírez Tello", "09876543")]
    for i in range(count):
        asunto, tipo, destino = MUESTRAS[i % len(MUESTRAS)]
        nombres, apellidos, dni = people[i % len(people)]
        datos = {"tipo_persona": "natural", "tipo_documento_identidad": "DNI", "numero_documento_identidad": dni,
                 "nombres": nombres, "apellidos": apellidos, "email": f"{fold(nombres)}@example.com",
                 "telefono": "987654321", "direccion": "Jr. Amazonas 120, Santa Clotilde", "tipo_documento": tipo,
                 "asunto": asunto, "folios": 2, "acepta_notificacion": "true"}
        principal = services.storage.receive(io.BytesIO(sample_pdf(asunto, 2)), "solicitud.pdf",
                                             services.limits.principal_bytes)
        expediente = presentar(services, datos, principal, [])
        if destino and i % 3 != 2:
            actor = Actor.de_usuario(mesa)
            tarea = services.engine.tasks_for(actor, expediente.id).get()
            services.engine.complete(expediente.id, tarea.task_id, actor, {"accion": "conforme"})
            tarea = services.engine.tasks_for(actor, expediente.id).get()
            services.engine.complete(expediente.id, tarea.task_id, actor,
                                     {"oficina_destino": destino, "proveido": "Para su atención y trámite.",
                                      "prioridad": "normal", "plazo_dias": 7})
