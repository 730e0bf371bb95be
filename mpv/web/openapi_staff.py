"""The staff API's part of the OpenAPI document (``mpv.web.openapi.document`` adds it): its paths under
/api/v1/staff, the bearer token that guards them, and the shapes of their answers (``additionalProperties:
false``, so that the tests that check every answer against the document catch a key the code adds alone)."""
from __future__ import annotations

STAFF = "/api/v1/staff"
MAX_CUERPO = 64 * 1024  # bytes of a JSON body

_TEXTO = {"type": "string"}
_FECHA_HORA = {"type": "string", "format": "date-time"}
_NUMERO = {"name": "numero", "in": "path", "required": True, "description": "Número de expediente (AAAA-NNNNNN).",
           "schema": {"type": "string", "minLength": 1, "maxLength": 20, "pattern": "^[0-9A-Za-z-]+$"}}
_DESPUES = {"name": "despues", "in": "query", "required": False,
            "description": "El cursor «siguiente» de la página anterior.",
            "schema": {"type": "string", "maxLength": 200}}


def _obj(required: list[str], properties: dict, description: str = "") -> dict:
    schema = {"type": "object", "required": required, "additionalProperties": False, "properties": properties}
    if description:
        schema["description"] = description
    return schema


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/{name}"}


def _nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


TAREA = _obj(["expediente", "task_id", "tarea", "nombre", "desde"], {
    "expediente": _TEXTO, "task_id": {"type": "string", "description": "Identificador de la tarea, para completarla."},
    "tarea": {"type": "string", "description": "recepcion, derivacion, recibir, atencion…"},
    "nombre": _TEXTO, "desde": {**_FECHA_HORA, "description": "Desde cuándo está pendiente."}})

FILA = _obj(["numero", "presentado_en", "fecha_presentacion", "remitente", "asunto", "estado", "tarea_actual",
             "oficina_actual", "tipo_documento", "vence", "terminado"], {
    "numero": _TEXTO, "presentado_en": _FECHA_HORA, "fecha_presentacion": {"type": "string", "format": "date"},
    "remitente": _TEXTO, "asunto": _TEXTO, "estado": _TEXTO, "tarea_actual": _TEXTO,
    "oficina_actual": _nullable(_TEXTO), "tipo_documento": _nullable(_TEXTO),
    "vence": _nullable({**_FECHA_HORA, "description": "Vencimiento del paso actual."}),
    "terminado": {"type": "boolean"}})

PLAZO = {"procedimiento": _nullable(_TEXTO), "plazo_vence": _nullable(_FECHA_HORA),
         "plazo_suspendido": {"type": "boolean"},
         "silencio": {"type": "string", "nullable": True, "enum": ["automatica", "positivo", "negativo", None]}}

FICHA = _obj(["numero", "asunto", "estado", "tarea_actual", "terminado", "folios", "presentado_en",
              "fecha_presentacion", *PLAZO, "remitente", "documentos", "historial", "tareas"], {
    "numero": _TEXTO, "asunto": _TEXTO, "estado": _TEXTO, "tarea_actual": _TEXTO, "terminado": {"type": "boolean"},
    "folios": {"type": "integer"}, "presentado_en": _FECHA_HORA,
    "fecha_presentacion": {"type": "string", "format": "date"}, **PLAZO,
    "remitente": _obj(["nombre", "documento", "email"], {"nombre": _TEXTO, "documento": _TEXTO, "email": _TEXTO}),
    "documentos": {"type": "array", "items": _obj(["id", "nombre", "tipo", "sha256", "tamano"], {
        "id": {"type": "integer"}, "nombre": _TEXTO, "tipo": _TEXTO,
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "tamano": {"type": "integer"}})},
    "historial": {"type": "array", "description": "Todos los movimientos, con sus notas internas.",
                  "items": _obj(["fecha", "accion", "usuario", "oficina_origen", "oficina_destino", "detalle"], {
                      "fecha": _FECHA_HORA, "accion": _TEXTO, "usuario": _TEXTO, "oficina_origen": _TEXTO,
                      "oficina_destino": _TEXTO, "detalle": _TEXTO})},
    "tareas": {"type": "array", "items": _ref("schemas/TareaPersonal"),
               "description": "Las tareas pendientes del expediente que realiza quien llama."}})

RESULTADO = _obj(["numero", "estado", "tarea_actual", "terminado", "registrado"], {
    "numero": _TEXTO, "estado": _TEXTO, "tarea_actual": _TEXTO, "terminado": {"type": "boolean"},
    "registrado": {"type": "array", "description": "Lo que se registró en el historial.",
                   "items": _obj(["fecha", "accion", "oficina_origen", "oficina_destino"], {
                       "fecha": _FECHA_HORA, "accion": _TEXTO, "oficina_origen": _TEXTO,
                       "oficina_destino": _TEXTO})}})

VALORES = {"type": "object", "maxProperties": 50,
           "additionalProperties": {"oneOf": [{"type": "string", "maxLength": 5000, "nullable": True},
                                              {"type": "number"}, {"type": "boolean"},
                                              {"type": "array", "maxItems": 50,
                                               "items": {"type": "string", "maxLength": 5000}}]}}

SCHEMAS = {"TareaPersonal": TAREA, "ExpedienteFila": FILA, "ExpedientePersonal": FICHA, "ResultadoPaso": RESULTADO,
           "Busqueda": _obj(["expedientes", "siguiente"], {"expedientes": {"type": "array",
                                                                            "items": _ref("schemas/ExpedienteFila")},
                                                            "siguiente": _nullable(_TEXTO)}),
           "MisTareas": _obj(["tareas", "siguiente"], {"tareas": {"type": "array",
                                                                  "items": _ref("schemas/TareaPersonal")},
                                                       "siguiente": _nullable(_TEXTO)})}

ERRORS = {
    "401": "Falta el token, o no es válido, fue revocado, venció o su usuario está desactivado.",
    "403": "El token es de solo lectura, o su usuario no puede hacer esto (rol u oficina).",
    "404": "No existe ese expediente o esa tarea.",
    "409": "Otra persona realizó antes esta tarea, o ya no está pendiente: consulte el expediente otra vez.",
}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: str) -> dict:
    return {code: _ref(f"responses/{'S' if code in ERRORS else 'E'}{code}") for code in codes}


def _post(operation: str, summary: str, description: str, parameters: list, ejemplo: dict) -> dict:
    return {"post": {
        "operationId": operation, "summary": summary, "description": description, "tags": ["personal"],
        "security": [{"token": []}], "parameters": parameters,
        "requestBody": {"required": True, "content": {"application/json": {"schema": VALORES, "example": ejemplo}}},
        "responses": {"200": _json(_ref("schemas/ResultadoPaso"), "Se registró; el expediente queda así."),
                      **_errors("400", "401", "403", "404", "409", "413", "415", "422", "500")}}}


def _get(operation: str, summary: str, schema: str, parameters: list, codes=("401", "403", "422", "500")) -> dict:
    return {"get": {"operationId": operation, "summary": summary, "tags": ["personal"], "security": [{"token": []}],
                    "parameters": parameters,
                    "responses": {"200": _json(_ref(f"schemas/{schema}"), "La respuesta."), **_errors(*codes)}}}


def paths() -> dict:
    """The staff API's paths."""
    task_id = {"name": "task_id", "in": "path", "required": True, "description": "El «task_id» de la tarea.",
               "schema": {"type": "string", "minLength": 1, "maxLength": 40, "pattern": "^[0-9A-Za-z-]+$"}}
    consulta = [{"name": "q", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 100},
                 "description": "Número de expediente, documento o palabras del remitente o del asunto."},
                {"name": "estado", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 100}},
                _DESPUES]
    return {
        f"{STAFF}/expedientes": _get("buscarExpedientes", "Buscar expedientes (como «Trámites recibidos»; una "
                                     "oficina ve los que esperan en ella), de 50 en 50", "Busqueda", consulta),
        f"{STAFF}/expedientes/{{numero}}": _get("verExpediente", "Un expediente con su remitente, documentos, "
                                                "historial y las tareas suyas pendientes", "ExpedientePersonal",
                                                [_NUMERO], ("401", "403", "404", "500")),
        f"{STAFF}/tareas": _get("listarMisTareas", "Las tareas pendientes que usted realiza (su oficina o mesa de "
                                "partes), las más antiguas primero", "MisTareas", [_DESPUES]),
        f"{STAFF}/expedientes/{{numero}}/tareas/{{task_id}}": _post(
            "completarTarea", "Completar una tarea pendiente (recibir, atender, observar…) con los campos de su "
            "formulario", "Los mismos campos y reglas que el formulario web de la tarea (p. ej. atención: accion "
            "atender/derivar/devolver, respuesta, documento_respuesta con el id de un documento emitido). No admite "
            "archivos.", [_NUMERO, task_id], {"accion": "atender", "respuesta": "Se otorgó la licencia."}),
        f"{STAFF}/expedientes/{{numero}}/derivacion": _post(
            "derivarExpediente", "Derivar un expediente de mesa de partes a una o varias oficinas",
            "Como «Derivar trámite»: si aún está en Recepción, registra primero la recepción conforme.",
            [_NUMERO], {"oficina_destino": "GDUR", "prioridad": "normal", "plazo_dias": 7,
                        "proveido": "Para su atención."}),
    }


def components(json_response) -> dict:
    """The parts ``document`` merges into its components: schemas, the 401/403/409 answers, the bearer scheme."""
    respuestas = {f"S{code}": json_response(_ref("schemas/Error"), text) for code, text in ERRORS.items()}
    respuestas["S401"]["headers"] = {"WWW-Authenticate": {"description": "Bearer realm=\"mpv\"",
                                                          "schema": {"type": "string"}}}
    return {"schemas": SCHEMAS, "responses": respuestas,
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer", "description":
                                          "Un token personal creado en «Mi cuenta» (se muestra una sola vez). "
                                          "Actúa como su usuario; «lectura» no puede registrar acciones."}}}
