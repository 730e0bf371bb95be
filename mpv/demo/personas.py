"""Believable senders and subjects for seeded expedientes: Peruvian names, RUCs with a valid check
digit, addresses, and what people ask each office of a district municipality."""
from __future__ import annotations

import random

from ..identidad import ruc_check_digit
from ..tramites.listados import fold

NOMBRES = (
    "Ana", "María", "Rosa", "Carmen", "Luz", "Juana", "Elena", "Lucía", "Sofía", "Milagros", "Patricia",
    "Gladys", "Norma", "Yolanda", "Marleny", "Flor", "Diana", "Katherine", "Fiorella", "Roxana", "Teresa",
    "José", "Juan", "Luis", "Carlos", "Jorge", "Pedro", "Miguel", "César", "Víctor", "Manuel", "Julio",
    "Raúl", "Alberto", "Walter", "Edwin", "Percy", "Wilber", "Fredy", "Hugo", "Ángel", "Óscar", "Renzo",
    "Jhonatan", "Alexander", "Nilton", "Segundo", "Félix", "Teodoro", "Abel",
)
APELLIDOS = (
    "Quispe", "Flores", "Sánchez", "Rodríguez", "García", "Rojas", "Huamán", "Mamani", "Ramírez", "Torres",
    "Chávez", "Mendoza", "Vásquez", "Castillo", "Díaz", "Gutiérrez", "Espinoza", "Pérez", "López", "Ramos",
    "Vargas", "Ríos", "Cruz", "Reyes", "Salazar", "Morales", "Romero", "Paredes", "Condori", "Ccori",
    "Huamaní", "Villanueva", "Aguilar", "Tello", "Cárdenas", "Medina", "Alvarado", "Ñahui", "Yupanqui",
    "Cahuana", "Taype", "Soto", "Palomino", "Zevallos", "Carbajal", "Delgado", "Benites", "Arévalo",
    "Luna", "Ochoa", "Cusi", "Apaza", "Ticona", "Inga", "Peña", "Muñoz", "Navarro", "Gamarra",
)
RUBROS = ("Comercial", "Constructora", "Inversiones", "Servicios Generales", "Transportes", "Distribuidora",
          "Agroindustrias", "Consultores", "Minimarket", "Ferretería", "Grifo", "Restaurante")
SOCIEDADES = ("S.A.C.", "E.I.R.L.", "S.R.L.", "S.A.")
VIAS = ("Av.", "Jr.", "Calle", "Psje.", "Prolong.")
CALLES = ("Grau", "Bolognesi", "San Martín", "Los Incas", "Túpac Amaru", "Amazonas", "Loreto", "Ayacucho",
          "Arequipa", "Huáscar", "Las Flores", "Los Álamos", "Libertad", "28 de Julio", "Sucre", "Lima",
          "Progreso", "José Olaya", "Miraflores", "Mariscal Castilla", "Santa Rosa", "Micaela Bastidas")
ZONAS = ("Cercado", "Urb. Santa Clotilde", "AA.HH. Villa Hermosa", "Urb. Los Jardines", "P.J. 9 de Octubre",
         "Urb. San Antonio", "Asoc. Las Palmeras", "Centro Poblado Nueva Esperanza")
DOMINIOS = ("gmail.com", "hotmail.com", "outlook.com", "yahoo.es", "gmail.com", "gmail.com")

# What people ask each office; {calle} and {anio} are filled per expediente.
ASUNTOS = {
    "GDUR": ("Licencia de edificación para vivienda unifamiliar en {calle}",
             "Certificado de parámetros urbanísticos y edificatorios del predio en {calle}",
             "Certificado de numeración de predio", "Visación de planos para prescripción adquisitiva",
             "Autorización para instalación de cerco perimétrico", "Subdivisión de lote urbano en {calle}",
             "Conformidad de obra y declaratoria de edificación"),
    "SGAT": ("Constancia de no adeudo del impuesto predial {anio}", "Fraccionamiento de deuda tributaria",
             "Reclamo por cobro de arbitrios del predio en {calle}", "Prescripción de deuda de arbitrios",
             "Inscripción de predio para el impuesto predial", "Deducción de 50 UIT de pensionista",
             "Devolución de pago indebido del impuesto vehicular"),
    "GDE": ("Licencia de funcionamiento para bodega en {calle}", "Autorización de anuncio publicitario",
            "Licencia de funcionamiento para restaurante", "Cese de actividades del establecimiento en {calle}",
            "Autorización para feria gastronómica", "Certificado ITSE para local comercial"),
    "GSP": ("Queja por recojo irregular de residuos sólidos en {calle}", "Poda de árboles en la vía pública",
            "Reclamo por alumbrado público deficiente", "Denuncia por quema de basura en {calle}",
            "Solicitud de fumigación del parque del sector"),
    "GDS": ("Inscripción en el programa Vaso de Leche", "Empadronamiento de persona con discapacidad (OMAPED)",
            "Apoyo social por emergencia familiar", "Inscripción de organización social de base",
            "Constancia de pertenencia al programa de comedores"),
    "ORC": ("Rectificación administrativa de partida de nacimiento", "Matrimonio civil comunitario {anio}",
            "Copia certificada de partida de defunción", "Inscripción extemporánea de nacimiento"),
    "DEMUNA": ("Conciliación de pensión de alimentos", "Régimen de visitas de menor de edad",
               "Denuncia por presunto maltrato infantil"),
    "OAJ": ("Recurso de apelación contra resolución de multa", "Recurso de reconsideración de sanción",
            "Nulidad de notificación de infracción", "Solicitud de opinión legal sobre convenio"),
    "GM": ("Solicitud de audiencia con el gerente municipal", "Propuesta de convenio interinstitucional",
           "Queja por demora en la atención de trámite"),
    "ALC": ("Invitación al señor alcalde a ceremonia", "Solicitud de audiencia con el alcalde",
            "Petición vecinal de pavimentación de {calle}"),
    "SG": ("Acceso a la información pública (Ley 27806)", "Copia fedateada de resolución de alcaldía",
           "Copia certificada de acta de sesión de concejo"),
    "GAF": ("Pago de valorización de obra", "Devolución de garantía de fiel cumplimiento",
            "Solicitud de pago a proveedor"),
    "URH": ("Constancia de trabajo", "Solicitud de vacaciones", "Reconocimiento de tiempo de servicios",
            "Postulación a convocatoria CAS {anio}"),
    "ULOG": ("Inscripción como proveedor", "Cotización de bienes solicitada", "Reclamo por orden de compra"),
    "OPP": ("Solicitud de certificación presupuestal", "Propuesta de proyecto para presupuesto participativo {anio}"),
    "OCI": ("Denuncia sobre presuntas irregularidades en obra pública", "Solicitud de información al OCI"),
    "PPM": ("Solicitud de información sobre proceso judicial", "Notificación de demanda contra la municipalidad"),
    "OGRD": ("Inspección técnica por riesgo de colapso de vivienda", "Evaluación de daños por lluvias en {calle}",
             "Solicitud de ayuda humanitaria por emergencia"),
    "OII": ("Cobertura de evento vecinal", "Difusión de campaña de salud"),
}
GENERICOS = ("Solicitud de información", "Queja por atención", "Solicitud de constancia",
             "Remite documentación complementaria")

# How often each office receives trámites (unknown offices weigh 2).
PESOS_OFICINA = {"GDUR": 20, "SGAT": 18, "GDE": 10, "GSP": 9, "GDS": 8, "ORC": 6, "OAJ": 5, "GM": 4,
                 "SG": 4, "ALC": 3, "GAF": 3, "URH": 3, "ULOG": 2, "DEMUNA": 3, "OPP": 1, "OCI": 1,
                 "PPM": 1, "OGRD": 2, "OII": 1}
# Where an office sends what it cannot settle itself.
SIGUIENTE = {"GDUR": "OAJ", "SGAT": "OAJ", "GDE": "GDUR", "GSP": "GM", "GDS": "GM", "ORC": "SG", "OAJ": "GM",
             "GM": "OAJ", "SG": "GM", "ALC": "GM", "GAF": "ULOG", "URH": "GAF", "ULOG": "GAF", "DEMUNA": "GDS",
             "OPP": "GM", "OCI": "SG", "PPM": "OAJ", "OGRD": "GSP", "OII": "SG"}
TIPO_POR_ASUNTO = (("Queja", "QUE"), ("Reclamo", "REC"), ("Recurso", "REC"), ("Denuncia", "DEN"),
                   ("Invitación", "CAR"), ("Remite", "CAR"), ("Propuesta", "OFI"), ("Notificación", "OFI"))

# Texts the templates' staff and citizens write.
PROVEIDOS = ("Para su atención y trámite correspondiente.", "Evaluar y emitir informe técnico.",
             "Atender según sus competencias.", "Para opinión y fines pertinentes.", "Para conocimiento y acciones.")
RESPUESTAS = ("Se atendió lo solicitado; se notifica al administrado.",
              "Procede lo solicitado. Se emitió la constancia.", "Improcedente por no cumplir los requisitos del TUPA.",
              "Se programó la inspección solicitada.", "Se emitió la resolución correspondiente.")
OBSERVACIONES = ("Falta la copia del DNI del solicitante.", "Adjuntar el comprobante de pago del derecho de trámite.",
                 "El documento no está firmado.", "Falta el plano de ubicación.")
SUBSANACIONES = ("Adjunto la copia de mi DNI.", "Adjunto el comprobante de pago.", "Adjunto el documento firmado.",
                 "Adjunto el plano solicitado.")
MOTIVOS = ("Documento duplicado: ya fue presentado.", "No corresponde a la competencia de la municipalidad.",
           "Desistimiento del administrado.")


def _ruc(rng: random.Random) -> str:
    first = "20" + "".join(rng.choice("0123456789") for _ in range(8))
    return first + str(ruc_check_digit(first))


def persona(rng: random.Random) -> dict:
    """A sender as ``mpv.tramites.presentacion.validar`` returns it (without the trámite's own fields)."""
    telefono = "9" + "".join(rng.choice("0123456789") for _ in range(8))
    direccion = f"{rng.choice(VIAS)} {rng.choice(CALLES)} {rng.randint(100, 2500)}, {rng.choice(ZONAS)}"
    if rng.random() < 0.12:
        nombre = f"{rng.choice(RUBROS)} {rng.choice(APELLIDOS)} {rng.choice(SOCIEDADES)}"
        email = f"{fold(nombre.split()[-2])}.{rng.randint(1, 999)}@{rng.choice(DOMINIOS)}"
        return {"tipo_persona": "juridica", "tipo_documento_identidad": "RUC", "numero_documento_identidad": _ruc(rng),
                "nombres": "", "apellidos": "", "razon_social": nombre, "email": email, "telefono": telefono,
                "direccion": direccion}
    nombres = rng.choice(NOMBRES) if rng.random() < 0.6 else f"{rng.choice(NOMBRES)} {rng.choice(NOMBRES)}"
    apellidos = f"{rng.choice(APELLIDOS)} {rng.choice(APELLIDOS)}"
    if rng.random() < 0.03:
        tipo, numero = "CE", "".join(rng.choice("0123456789") for _ in range(9))
    else:
        tipo, numero = "DNI", "".join(rng.choice("0123456789") for _ in range(8))
    email = f"{fold(nombres.split()[0])}.{fold(apellidos.split()[0])}{rng.randint(1, 99)}@{rng.choice(DOMINIOS)}"
    return {"tipo_persona": "natural", "tipo_documento_identidad": tipo, "numero_documento_identidad": numero,
            "nombres": nombres, "apellidos": apellidos, "razon_social": "", "email": email.replace("ñ", "n"),
            "telefono": telefono, "direccion": direccion}


def nombre_completo(p: dict) -> str:
    return p["razon_social"] if p["tipo_persona"] == "juridica" else f"{p['nombres']} {p['apellidos']}".strip()


def asunto(rng: random.Random, oficina: str, anio: int) -> tuple[str, str]:
    """(subject, document type code) of a trámite for ``oficina``."""
    texto = rng.choice(ASUNTOS.get(oficina, GENERICOS)).format(calle=f"{rng.choice(VIAS)} {rng.choice(CALLES)}",
                                                                anio=anio)
    tipo = next((codigo for palabra, codigo in TIPO_POR_ASUNTO if texto.startswith(palabra)), "SOL")
    return texto, tipo


def numero_documento(rng: random.Random, p: dict, tipo: str, anio: int) -> str:
    if p["tipo_persona"] == "juridica":
        return f"{'Carta' if tipo in ('SOL', 'CAR') else 'Documento'} N° {rng.randint(1, 400):03d}-{anio}"
    return "S/N" if rng.random() < 0.1 else ""
