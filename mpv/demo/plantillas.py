"""The demo entity's templates of official documents (Administración › Plantillas), saved as an administrator would
save them: each passes the same checks and leaves its audit row."""
from __future__ import annotations

from ..engine import SISTEMA
from ..models import PlantillaDocumento
from ..tramites import plantillas

PLANTILLAS = {
    "informe": (
        "Informe técnico sobre el expediente N° {{ numero_expediente }}",
        "I. ANTECEDENTES\n\nCon fecha {{ fecha_presentacion }}, {{ remitente }} presentó el expediente "
        "N° {{ numero_expediente }}, sobre «{{ asunto_expediente }}»{% if procedimiento %}, en el marco del "
        "procedimiento «{{ procedimiento }}» del TUPA{% endif %}.\n\n"
        "II. ANÁLISIS\n\n[Describa la evaluación de la {{ oficina }}: requisitos verificados, inspecciones y normas "
        "aplicables.]\n\n"
        "III. CONCLUSIONES Y RECOMENDACIONES\n\n[Indique si corresponde aprobar, observar o denegar lo solicitado.]\n\n"
        "{{ entidad }}, {{ fecha_hoy }}."),
    "oficio": (
        "Atención al expediente N° {{ numero_expediente }}",
        "Tengo el agrado de dirigirme a usted para saludarle cordialmente y, en atención al expediente "
        "N° {{ numero_expediente }} presentado el {{ fecha_presentacion }}, sobre «{{ asunto_expediente }}», "
        "comunicarle lo siguiente:\n\n[Escriba aquí la comunicación.]\n\n"
        "Sin otro particular, quedo de usted."),
    "carta": (
        "Respuesta a su solicitud: {{ asunto_expediente }}",
        "Señor(a) {{ remitente }}:\n\nNos dirigimos a usted en relación con su expediente N° {{ numero_expediente }}, "
        "presentado el {{ fecha_presentacion }}{% if procedimiento %} para el procedimiento «{{ procedimiento }}»"
        "{% endif %}.\n\n[Escriba aquí la respuesta.]\n\n"
        "Puede consultar el estado de su trámite en la Mesa de Partes Virtual con su código de seguimiento.\n\n"
        "Atentamente,\n{{ oficina }}"),
    "memorandum": (
        "Pedido de opinión sobre el expediente N° {{ numero_expediente }}",
        "Por el presente se remite el expediente N° {{ numero_expediente }} ({{ remitente }}, "
        "«{{ asunto_expediente }}») para que emita opinión en el ámbito de su competencia.\n\n"
        "[Precise qué se pide y en qué plazo.]"),
    "resolucion": (
        "Resolución del expediente N° {{ numero_expediente }}",
        "VISTO:\n\nEl expediente N° {{ numero_expediente }}, presentado el {{ fecha_presentacion }} por "
        "{{ remitente }}, sobre «{{ asunto_expediente }}»; y\n\n"
        "CONSIDERANDO:\n\nQue, el artículo 194 de la Constitución Política del Perú reconoce a las municipalidades "
        "autonomía política, económica y administrativa en los asuntos de su competencia;\n\n"
        "Que, [escriba aquí los fundamentos de hecho y de derecho];\n\n"
        "SE RESUELVE:\n\nARTÍCULO PRIMERO.- [Escriba aquí la decisión.]\n\n"
        "ARTÍCULO SEGUNDO.- NOTIFICAR la presente resolución a {{ remitente }}.\n\n"
        "Regístrese, comuníquese y cúmplase."),
}


def sembrar(services):
    """Save the demo templates, once: an administrator's later changes are theirs and are never undone."""
    if PlantillaDocumento.select().exists():
        return
    for tipo, (asunto, cuerpo) in PLANTILLAS.items():
        plantillas.guardar(services, SISTEMA, tipo, asunto, cuerpo)
