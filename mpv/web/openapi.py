"""The OpenAPI 3.0 document of the JSON API v1, built from the settings (public URL, file limits).

It describes every route, the multipart request with its PDF files, every response and the one error
shape, closely enough for a client generator or a fuzzer (schemathesis) to work from it alone. The
tests check it against the OpenAPI schema and against the app's routes and answers.
"""
from __future__ import annotations

from ..tramites.campos import (API, ARCHIVO, CASILLA, CATALOGO, CORREO, ENTERO, IDENTIDAD, LINEA, NUMEROS, OPCION,
                               PROCEDIMIENTO, Campo, de_cara, obligatorios)
from . import openapi_staff

PREFIX = "/api/v1"
MB = 1024 * 1024


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/{name}"}


def _filing_schema(limits) -> dict:
    """The multipart body of a filing: every field of ``mpv.tramites.campos`` the API takes."""
    return {
        "type": "object",
        "description": "Una parte por campo. Una parte con otro nombre, o un campo enviado dos veces, se rechaza "
                       "con 422 sin leer el resto del envío.",
        "required": list(obligatorios(API)),
        "additionalProperties": False,
        "properties": {c.nombre: _property(c, limits) for c in de_cara(API)},
    }


def _escrito_schema(limits) -> dict:
    """The multipart body of an escrito (``mpv.tramites.escritos``)."""
    principal = {"type": "string", "format": "binary",
                 "description": f"El escrito: un PDF de hasta {limits.principal_bytes / MB:g} MB, sin contraseña ni "
                                "contenido activo."}
    anexos = {"type": "array", "maxItems": limits.anexos, "items": {"type": "string", "format": "binary"},
              "description": f"Hasta {limits.anexos} anexos, una parte «anexos» por archivo: PDF de hasta "
                             f"{limits.anexo_bytes / MB:g} MB cada uno."}
    return {"type": "object", "required": ["archivo"], "additionalProperties": False,
            "description": "Una parte por campo; una parte con otro nombre se rechaza con 422.",
            "properties": {"archivo": principal, "anexos": anexos,
                           "descripcion": {"type": "string", "maxLength": 500, "description": "Opcional."}}}


# The answers name exactly these keys (additionalProperties: false), so that the tests that validate every
# answer against this document also catch a key the code adds and the document (and the README) lacks.
def _property(campo: Campo, limits) -> dict:
    """The schema of one field of the filing, from its kind, its limits and its help."""
    partes = [campo.ayuda] if campo.ayuda else []
    if campo.requerido in ("natural", "juridica"):
        persona = "persona natural" if campo.requerido == "natural" else "persona jurídica"
        partes.append(f"Obligatorio para {persona}.")
    elif not campo.requerido:
        partes.append("Opcional.")
    if campo.tipo == ARCHIVO:
        return _file(campo, limits)
    if campo.tipo == ENTERO:
        schema = {"type": "integer", "minimum": campo.minimo, "maximum": campo.maximo}
    elif campo.tipo == CASILLA and campo.requerido is True:
        schema = {"type": "string", "enum": ["true"]}
        partes.append(f"«{campo.etiqueta}» (obligatorio).")
    elif campo.tipo == CASILLA:
        schema = {"type": "string", "enum": ["true", "false"]}
        partes.append(f"«{campo.etiqueta}»")
    elif campo.tipo == OPCION:
        schema = {"type": "string", "enum": [valor for valor, _ in campo.opciones]}
    elif campo.tipo == NUMEROS:
        schema = {"type": "string", "maxLength": campo.maximo, "pattern": r"^[0-9, ]*$"}
        partes.append(f"Una parte «{campo.nombre}» con los números separados por comas («1, 2»), o una parte por "
                      "número.")
    else:
        schema = {"type": "string", "maxLength": campo.maximo}
        if campo.requerido is True:
            schema["minLength"] = 1
    if campo.tipo == IDENTIDAD:
        schema["pattern"] = "^[A-Za-z0-9]+$"
        partes.append("Los dígitos de otros alfabetos o de ancho completo se guardan como dígitos ASCII.")
    elif campo.tipo == CORREO:
        schema["format"] = "email"
    elif campo.tipo == CATALOGO:
        partes.append(f"Un código activo de GET {PREFIX}/tipos-documento.")
    elif campo.tipo == PROCEDIMIENTO:
        partes.append(f"Un código activo de GET {PREFIX}/procedimientos. Si el procedimiento tiene derecho de trámite, "
                      "«recibo_pago» es obligatorio.")
    elif campo.tipo == LINEA:
        partes.append("Una sola línea: sin saltos de línea ni caracteres de control.")
    schema["description"] = " ".join(partes) or campo.etiqueta
    if campo.ejemplo:
        schema["example"] = int(campo.ejemplo) if campo.tipo == ENTERO else campo.ejemplo
    return schema


def _file(campo: Campo, limits) -> dict:
    if campo.multiple:
        return {"type": "array", "maxItems": limits.anexos, "items": {"type": "string", "format": "binary"},
                "description": f"Hasta {limits.anexos} anexos, una parte «{campo.nombre}» por archivo: PDF de hasta "
                               f"{limits.anexo_bytes / MB:g} MB cada uno, con las mismas reglas que «archivo»."}
    return {"type": "string", "format": "binary",
            "description": f"El documento principal: un PDF de hasta {limits.principal_bytes / MB:g} MB, sin "
                           "contraseña ni contenido activo (JavaScript, archivos incrustados)."}


# Where the procedure's legal deadline stands (rules 10–12), in the filing's answer and in the seguimiento.
PLAZO_LEGAL = {
    "procedimiento": {"type": "string", "nullable": True,
                      "description": "Código del procedimiento del TUPA; null para un documento simple."},
    "plazo_vence": {"type": "string", "format": "date-time", "nullable": True,
                    "description": "Cuándo vence el plazo del procedimiento (fin de su último día hábil); null si no "
                                   "tiene plazo, si está suspendido o si se aprobó automáticamente."},
    "plazo_suspendido": {"type": "boolean",
                         "description": "El plazo está suspendido mientras el trámite está observado (art. 136)."},
    "silencio": {"type": "string", "nullable": True, "enum": ["automatica", "positivo", "negativo", None],
                 "description": "automatica: aprobado al presentarse; positivo: aprobado por silencio "
                                "administrativo positivo; negativo: vencido el plazo, puede considerarse denegado."},
}

SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error", "campos"],
        "additionalProperties": False,
        "properties": {
            "error": {"type": "string", "description": "Qué pasó y qué hacer, en castellano."},
            "campos": {"type": "object", "additionalProperties": {"type": "string"},
                       "description": "Campo → mensaje, para cada campo o archivo rechazado (vacío si no aplica)."},
            "incidente": {"type": "string", "description": "Solo en errores 500: el código para soporte."},
        },
    },
    "Presentacion": {
        "type": "object",
        "required": ["numero", "codigo", "fecha_presentacion", "presentado_en", "estado", "procedimiento",
                     "plazo_vence", "plazo_suspendido", "silencio", "seguimiento_url", "constancia_url"],
        "additionalProperties": False,
        "properties": {
            "numero": {"type": "string", "pattern": r"^\d{4}-\d{6}$", "description": "Número de expediente."},
            "codigo": {"type": "string", "description": "Código de seguimiento (secreto del remitente)."},
            "fecha_presentacion": {"type": "string", "format": "date",
                                   "description": "Fecha legal de presentación (Ley 31465: un envío en día "
                                                  "inhábil cuenta desde el siguiente día hábil)."},
            "presentado_en": {"type": "string", "format": "date-time", "description": "Momento del envío."},
            "estado": {"type": "string"},
            **PLAZO_LEGAL,
            "seguimiento_url": {"type": "string", "format": "uri", "description": "Página pública de seguimiento."},
            "constancia_url": {"type": "string", "format": "uri", "description": "Constancia de presentación."},
        },
    },
    "Evento": {
        "type": "object",
        "required": ["fecha", "accion", "oficina_origen", "oficina_destino", "detalle"],
        "additionalProperties": False,
        "properties": {
            "fecha": {"type": "string", "format": "date-time", "description": "ISO 8601 con la hora de Lima."},
            "accion": {"type": "string"},
            "oficina_origen": {"type": "string"},
            "oficina_destino": {"type": "string", "description": "Una o varias oficinas, separadas por comas."},
            "detalle": {"type": "string", "description": "Observación o respuesta dirigida al ciudadano."},
        },
    },
    "Seguimiento": {
        "type": "object",
        "required": ["numero", "estado", "fecha_presentacion", "terminado", "procedimiento", "plazo_vence",
                     "plazo_suspendido", "silencio", "eventos", "documentos", "escritos"],
        "additionalProperties": False,
        "properties": {
            "numero": {"type": "string"},
            "estado": {"type": "string"},
            "fecha_presentacion": {"type": "string", "format": "date"},
            "terminado": {"type": "boolean"},
            **PLAZO_LEGAL,
            "eventos": {"type": "array", "items": _ref("schemas/Evento")},
            "documentos": {"type": "array", "items": _ref("schemas/Documento"),
                           "description": "Los archivos del trámite, en el orden en que llegaron."},
            "escritos": {"type": "array", "items": _ref("schemas/Escrito"),
                         "description": "Los escritos presentados después sobre este expediente, en orden."},
        },
    },
    "Escrito": {
        "type": "object",
        "required": ["numero", "fecha_presentacion", "presentado_en", "via", "descripcion", "constancia_url"],
        "additionalProperties": False,
        "properties": {
            "numero": {"type": "string", "pattern": r"^E-\d{4}-\d{6}$",
                       "description": "Número del escrito, de su propio registro anual."},
            "fecha_presentacion": {"type": "string", "format": "date",
                                   "description": "Fecha legal de presentación (Ley 31465)."},
            "presentado_en": {"type": "string", "format": "date-time", "description": "Momento del envío."},
            "via": {"type": "string", "enum": ["virtual", "presencial"],
                    "description": "virtual: por la mesa de partes virtual; presencial: en papel, registrado por "
                                   "mesa de partes."},
            "descripcion": {"type": "string"},
            "constancia_url": {"type": "string", "format": "uri", "description": "Constancia del escrito."},
            "expediente": {"type": "string", "description": "Número del expediente (solo al presentarlo)."},
            "seguimiento_url": {"type": "string", "format": "uri",
                                "description": "Seguimiento del expediente (solo al presentarlo)."},
            "documentos": {"type": "array", "items": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                           "description": "En el seguimiento: el SHA-256 de cada archivo del escrito, que figura en "
                                          "«documentos»."},
        },
    },
    "Documento": {
        "type": "object",
        "required": ["nombre", "tipo", "sha256", "firmas"],
        "additionalProperties": False,
        "properties": {
            "nombre": {"type": "string"},
            "tipo": {"type": "string",
                     "description": "principal, anexo, subsanacion, respuesta, escrito, anexo_escrito…"},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "firmas": {"type": "array", "items": _ref("schemas/Firma"),
                       "description": "Sus firmas digitales, verificadas al recibirlo; vacío: sin firma digital."},
        },
    },
    "Firma": {
        "type": "object",
        "required": ["firmante", "documento_identidad", "firmado_en", "intacto", "confiable", "resumen", "problema"],
        "additionalProperties": False,
        "description": "Una firma digital (Ley 27269). Una firma observada se muestra con su problema: no impide "
                       "la presentación.",
        "properties": {
            "firmante": {"type": "string", "description": "Nombre del certificado; vacío si no se pudo leer."},
            "documento_identidad": {"type": "string", "description": "«DNI 45871236», «RUC 20123456789» o vacío."},
            "firmado_en": {"type": "string", "format": "date-time", "nullable": True,
                           "description": "Hora del sello de tiempo, o la que declara el firmante."},
            "intacto": {"type": "boolean", "description": "El documento no cambió después de la firma."},
            "confiable": {"type": "boolean",
                          "description": "El certificado llega a una raíz de confianza configurada y era válido "
                                         "al firmar."},
            "resumen": {"type": "string", "description": "Una frase para personas."},
            "problema": {"type": "string", "description": "Qué está mal; vacío si nada."},
        },
    },
    "Procedimientos": {
        "type": "object",
        "required": ["procedimientos"],
        "additionalProperties": False,
        "properties": {"procedimientos": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["codigo", "nombre", "requisitos", "derecho_tramite", "calificacion", "plazo_dias", "oficina",
                         "base_legal"],
            "properties": {
                "codigo": {"type": "string"}, "nombre": {"type": "string"},
                "requisitos": {"type": "array", "items": {"type": "string"},
                               "description": "En orden: «requisitos» de una presentación los nombra por su número, "
                                              "desde 1."},
                "derecho_tramite": {"type": "string", "nullable": True, "pattern": r"^\d+\.\d{2}$",
                                    "description": "En soles; null si es gratuito."},
                "calificacion": {"type": "string", "enum": ["automatica", "positivo", "negativo"]},
                "plazo_dias": {"type": "integer", "nullable": True,
                               "description": "Días hábiles; null para aprobación automática."},
                "oficina": {"type": "string", "description": "La oficina competente."},
                "base_legal": {"type": "string"}}}}},
    },
    "TiposDocumento": {
        "type": "object",
        "required": ["tipos_documento"],
        "additionalProperties": False,
        "properties": {"tipos_documento": {"type": "array", "items": {
            "type": "object", "required": ["codigo", "nombre"], "additionalProperties": False,
            "properties": {"codigo": {"type": "string"}, "nombre": {"type": "string"}}}}},
    },
}

ERRORS = {
    "400": "El cuerpo multipart/form-data está mal formado o incompleto.",
    "404": "No existe un trámite con ese código de seguimiento.",
    "409": "El expediente ya concluyó: no recibe escritos; presente un nuevo trámite.",
    "413": "Un archivo supera su tamaño máximo («campos» dice cuál); no se guardó nada.",
    "415": "La solicitud no es multipart/form-data.",
    "422": "Datos o archivos no válidos: «campos» dice qué revisar en cada uno; no se guardó nada.",
    "429": "Demasiadas solicitudes: espere los segundos que indica Retry-After.",
    "500": "Error inesperado; «incidente» identifica el caso para soporte. No se guardó nada a medias.",
    "503": "El servidor no pudo guardar los archivos (disco); inténtelo más tarde.",
}


def _errors(*codes: str) -> dict:
    return {code: _ref(f"responses/E{code}") for code in codes}


def _json(schema: dict, description: str, headers: dict | None = None, links: dict | None = None) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    if links:
        response["links"] = links
    return response


def document(settings, limits) -> dict:
    """The OpenAPI 3.0.3 document for an app with these ``settings`` and upload ``limits``."""
    responses = {f"E{code}": _json(_ref("schemas/Error"), text) for code, text in ERRORS.items()}
    responses["E429"]["headers"] = {"Retry-After": {
        "description": "Segundos que debe esperar antes de volver a intentarlo.",
        "schema": {"type": "integer", "minimum": 0}}}
    codigo = {"name": "codigo", "in": "path", "required": True, "description": "El código de seguimiento.",
              "schema": {"type": "string", "minLength": 1, "maxLength": 40, "pattern": "^[A-Za-z0-9_-]+$"}}
    staff = openapi_staff.components(_json)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Mesa de Partes Virtual — API v1",
            "version": "1.0.0",
            "description": "Presentar trámites, seguir su estado y leer el catálogo de tipos de documento. "
                           "La API no usa cookies ni sesiones. Toda respuesta es JSON; los errores tienen la "
                           "forma {\"error\": \"…\", \"campos\": {\"campo\": \"mensaje\"}}. Bajo "
                           f"{openapi_staff.STAFF}, el personal consulta y trabaja expedientes con un token personal "
                           "(Authorization: Bearer); cada llamada queda en la auditoría.",
        },
        "servers": [{"url": settings.base_url}],
        "paths": {
            f"{PREFIX}/tramites": {"post": {
                "operationId": "presentarTramite",
                "summary": "Presentar un trámite con su documento principal y sus anexos",
                "requestBody": {"required": True, "content": {"multipart/form-data": {
                    "schema": _ref("schemas/SolicitudTramite"),
                    "encoding": {"archivo": {"contentType": "application/pdf"},
                                 "anexos": {"contentType": "application/pdf"}}}}},
                "responses": {
                    "201": _json(_ref("schemas/Presentacion"), "Trámite presentado; se envía la constancia al correo.",
                                 {"Location": {"description": "El seguimiento del trámite en esta API.",
                                               "schema": {"type": "string", "format": "uri"}}},
                                 {"verSeguimiento": {"operationId": "verSeguimiento",
                                                     "parameters": {"codigo": "$response.body#/codigo"}}}),
                    **_errors("400", "413", "415", "422", "429", "500", "503"),
                },
            }},
            f"{PREFIX}/tramites/{{codigo}}/seguimiento": {"get": {
                "operationId": "verSeguimiento",
                "summary": "El seguimiento público de un trámite (sin nombres del personal ni notas internas)",
                "parameters": [codigo],
                "responses": {"200": _json(_ref("schemas/Seguimiento"), "Los movimientos del trámite, en orden."),
                              **_errors("404", "429", "500")},
            }},
            f"{PREFIX}/tramites/{{codigo}}/escritos": {"post": {
                "operationId": "presentarEscrito",
                "summary": "Presentar un escrito (PDF y anexos) sobre un trámite ya presentado",
                "description": "El escrito recibe su propio número y su constancia, se suma a los documentos y al "
                               "seguimiento del expediente y pasa a quien lo tiene a su cargo.",
                "parameters": [codigo],
                "requestBody": {"required": True, "content": {"multipart/form-data": {
                    "schema": _ref("schemas/SolicitudEscrito"),
                    "encoding": {"archivo": {"contentType": "application/pdf"},
                                 "anexos": {"contentType": "application/pdf"}}}}},
                "responses": {
                    "201": _json(_ref("schemas/Escrito"), "Escrito recibido.",
                                 {"Location": {"description": "La constancia del escrito.",
                                               "schema": {"type": "string", "format": "uri"}}}),
                    **_errors("400", "404", "409", "413", "415", "422", "429", "500", "503"),
                },
            }},
            f"{PREFIX}/tipos-documento": {"get": {
                "operationId": "listarTiposDocumento",
                "summary": "Los tipos de documento que se pueden presentar (solo los activos)",
                "responses": {"200": _json(_ref("schemas/TiposDocumento"), "El catálogo, por nombre."),
                              **_errors("429", "500")},
            }},
            f"{PREFIX}/procedimientos": {"get": {
                "operationId": "listarProcedimientos",
                "summary": "Los procedimientos del TUPA que se pueden presentar, con sus requisitos en orden",
                "responses": {"200": _json(_ref("schemas/Procedimientos"), "El TUPA vigente, por código."),
                              **_errors("429", "500")},
            }},
            f"{PREFIX}/openapi.json": {"get": {
                "operationId": "verDocumentoOpenApi",
                "summary": "Este documento",
                "responses": {"200": _json({"type": "object"}, "El documento OpenAPI 3.0."),
                              **_errors("429", "500")},
            }},
            **openapi_staff.paths(),
        },
        "components": {
            "schemas": {**SCHEMAS, "SolicitudTramite": _filing_schema(limits),
                        "SolicitudEscrito": _escrito_schema(limits), **staff["schemas"]},
            "responses": {**responses, **staff["responses"]},
            "securitySchemes": staff["securitySchemes"],
        },
    }
