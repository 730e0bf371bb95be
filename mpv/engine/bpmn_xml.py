"""Untrusted BPMN XML in, a safe lxml tree or a Spanish refusal out.

Whatever an analyst uploads — another encoding, a DTD, a binary, a truncated file — ends here as text
MPV can store (:func:`decode_bpmn`), a tree parsed with entities, DTDs and the network off
(:func:`safe_xml`) whose executable process can be found (:func:`executable_process`), or a
:class:`~mpv.errors.DefinitionError` whose problems name the file and line (or the element).
The Spanish wording of SpiffWorkflow's own refusals lives in :mod:`mpv.engine.parser_messages`.
"""
from __future__ import annotations

import codecs
import dataclasses
import re

from lxml import etree

from ..errors import DefinitionError
from ..models import ProcessDefinition

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition, named by its BPMN element id (or file name)."""

    element: str
    message: str

    def __str__(self):
        return f"{self.element}: {self.message}"


def refuse(filename: str, summary: str, message: str, element: str | None = None) -> DefinitionError:
    """A DefinitionError about ``filename`` with one problem (named by ``element``, else the file)."""
    return DefinitionError(f"{filename}: {summary}", [Problem(element or filename, message)])


def _parser(encoding: str | None) -> etree.XMLParser:
    # No entity expansion, no DTD, no network (no XXE, no billion laughs); huge_tree off keeps libxml2's
    # limits on depth and text size.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           encoding=encoding)


# A DOCTYPE in the encodings a browser or editor writes; any other is caught after parsing (docinfo).
_DOCTYPES = tuple("<!DOCTYPE".encode(codec) for codec in ("utf-8", "utf-16-le", "utf-16-be"))


def safe_xml(text: str | bytes, filename: str) -> etree._Element:
    """Parse XML with entities, DTDs and network access off (no XXE).

    Text (``str``) is read as Unicode whatever its declaration says; bytes in the encoding they declare.

    :raise DefinitionError: empty, malformed (with its line), or with a DOCTYPE.
    """
    if isinstance(text, str):
        try:
            data, parser = text.encode("utf-8"), _parser("utf-8")
        except UnicodeEncodeError:  # lone surrogates, e.g. from a JSON body
            raise refuse(filename, "caracteres no válidos", "el texto contiene caracteres Unicode no válidos "
                         "(sustitutos sueltos); vuelva a exportar el diagrama") from None
    else:
        data, parser = text, _parser(None)
    if not data.strip():
        raise refuse(filename, "el archivo está vacío", "el archivo está vacío")
    if any(doctype in data for doctype in _DOCTYPES):
        raise _doctype(filename)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise refuse(filename, "XML mal formado", _syntax_message(exc)) from None
    if root is None:
        raise refuse(filename, "el archivo está vacío", "el archivo está vacío")
    if root.getroottree().docinfo.doctype:
        raise _doctype(filename)
    return root


# Namespaces of the elements a BPMN file holds, as the modelers prefix them.
PREFIXES = {
    "http://www.omg.org/spec/BPMN/20100524/MODEL": "bpmn",
    "http://www.omg.org/spec/BPMN/20100524/DI": "bpmndi",
    "http://www.omg.org/spec/DD/20100524/DC": "dc",
    "http://www.omg.org/spec/DD/20100524/DI": "di",
    "http://spiffworkflow.org/bpmn/schema/1.0/core": "spiffworkflow",
}


def short_tag(tag: str) -> str:
    """``{namespace}local`` as a modeler writes it (``bpmn:userTask``)."""
    qname = etree.QName(tag)
    prefix = PREFIXES.get(qname.namespace or "")
    return f"{prefix}:{qname.localname}" if prefix else qname.localname


def executable_process(root: etree._Element, filename: str) -> etree._Element:
    """The process a version runs: the first executable ``bpmn:process`` under a ``bpmn:definitions`` root.

    :raise DefinitionError: another root, no executable process (a collaboration of participants alone),
        a process with no id, or an id or name longer than the version's row keeps.
    """
    if root.tag != f"{{{BPMN_NS}}}definitions":
        namespace = etree.QName(root).namespace
        raise refuse(filename, "no es un diagrama BPMN 2.0",
                     f"el elemento raíz es «{short_tag(root.tag)}»"
                     + (f" del espacio de nombres «{namespace}»" if namespace else " sin espacio de nombres")
                     + f"; un diagrama BPMN 2.0 empieza con bpmn:definitions (xmlns:bpmn=\"{BPMN_NS}\")")
    processes = list(root.iter(f"{{{BPMN_NS}}}process"))
    executable = [p for p in processes if p.get("isExecutable", "true") != "false"]
    if not executable and processes:
        raise refuse(filename, "ningún proceso es ejecutable", "el proceso tiene isExecutable=\"false\": márquelo "
                     "como ejecutable en el modelador", processes[0].get("id"))
    if not executable:
        participant = next(root.iter(f"{{{BPMN_NS}}}participant"), None)
        if participant is None:
            raise refuse(filename, "no define ningún proceso", "el archivo no contiene ningún bpmn:process")
        ref = participant.get("processRef")
        raise refuse(filename, "la colaboración no tiene proceso",
                     f"el participante «{participant.get('name') or participant.get('id') or ''}» "
                     + (f"remite al proceso «{ref}», que el archivo no contiene" if ref else "no tiene proceso")
                     + ": una colaboración solo con participantes no se puede ejecutar; modele el proceso dentro "
                       "del participante (pool)", participant.get("id"))
    process = executable[0]
    process_id, name = process.get("id") or "", process.get("name") or ""
    if not process_id.strip():
        raise refuse(filename, "el proceso no tiene id", "el bpmn:process no tiene id: póngale uno, p. ej. «tramite»")
    for value, field, what in ((process_id, ProcessDefinition.process_id, "id"),
                               (name, ProcessDefinition.nombre, "nombre")):
        if len(value) > field.max_length:
            raise refuse(filename, f"el {what} del proceso es demasiado largo",
                         f"el {what} del proceso tiene {len(value)} caracteres; use a lo más {field.max_length}",
                         process_id[:60])
    return process


def _doctype(filename: str) -> DefinitionError:
    return refuse(filename, "no se admiten declaraciones DOCTYPE",
                  "el archivo declara un DOCTYPE o entidades (posible XXE); quítelos")


def decode_bpmn(data: bytes, filename: str) -> str:
    """The text of an uploaded BPMN file, in whatever encoding it declares (UTF-8, UTF-16, ISO-8859-1…),
    with its XML declaration rewritten to UTF-8, the encoding MPV stores it in.

    :raise DefinitionError: as :func:`safe_xml` (empty, not XML, not in the encoding it declares…).
    """
    tree = safe_xml(data, filename).getroottree()
    for codec in _codecs(data, tree.docinfo.encoding):
        try:
            text = data.decode(codec).lstrip("\ufeff")
        except (UnicodeDecodeError, LookupError):
            continue
        # A wrong guess (UTF-16 without a byte-order mark read as UTF-8, the wrong byte order) shows as
        # NUL characters or a first character that is not «<».
        if "\x00" not in text and text.lstrip().startswith("<"):
            # A UTF-8 file is kept as written (its version hash does not change); another says UTF-8 now.
            utf8 = codecs.lookup(codec).name in ("utf-8", "utf-8-sig")
            return text if utf8 else _DECLARED_ENCODING.sub(r"\1\2UTF-8\2", text, count=1)
    # libxml2 read an encoding Python's codecs do not: keep libxml2's reading of it.
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(tree, encoding="unicode")


_DECLARED_ENCODING = re.compile(r"""^(\s*<\?xml\b[^>]*?\bencoding\s*=\s*)(["'])[^"']*\2""")
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _codecs(data: bytes, declared: str | None) -> list[str]:
    boms = [codec for bom, codec in _BOMS if data.startswith(bom)]
    return boms[:1] + [declared or "utf-8", "utf-16-le", "utf-16-be"]


def _syntax_message(exc: etree.XMLSyntaxError) -> str:
    """libxml2's refusal in Spanish, with the line and column where it stopped."""
    pattern, text = _SYNTAX.get(exc.code, (None, None))
    english = _english(exc.msg)
    match = re.search(pattern, english) if pattern is not None else None
    detail = text.format(*match.groups()) if match else f"el lector de XML lo rechaza («{english}»)"
    line, column = exc.position if exc.position else (exc.lineno, None)
    where = f"en la línea {line}" + (f", columna {column}" if column else "")
    return f"XML mal formado {where}: {detail}"


def _english(msg: str | None) -> str:
    """libxml2's message without the position it repeats at its end."""
    return re.sub(r"(\s*,\s*line \d+, column \d+)+\s*$", "", (msg or "").strip())


# libxml2's errors an analyst meets, by error name: (pattern of its message, Spanish text).
_SYNTAX_BY_NAME = [
    ("ERR_DOCUMENT_EMPTY", r"",
     "no es un documento XML: no empieza con una etiqueta «<…>» (¿eligió otro archivo, o está en una "
     "codificación sin declarar?)"),
    ("ERR_DOCUMENT_END", r"Extra content",
     "hay contenido después del cierre del elemento raíz (¿dos diagramas pegados en un archivo?)"),
    ("ERR_TAG_NAME_MISMATCH", r"mismatch: (\S+) line (\d+) and (\S+)",
     "la etiqueta «{0}» abierta en la línea {1} se cierra con «{2}»"),
    ("ERR_TAG_NOT_FINISHED", r"Premature end of data in tag (\S+) line (\d+)",
     "el archivo termina sin cerrar la etiqueta «{0}» abierta en la línea {1} (¿archivo incompleto?)"),
    ("ERR_NAME_REQUIRED", r"", "falta un nombre de etiqueta o de entidad (un «&» suelto se escribe «&amp;»), "
                               "o el archivo está incompleto"),
    ("ERR_GT_REQUIRED", r"", "falta «>» al final de una etiqueta"),
    ("ERR_SPACE_REQUIRED", r"", "falta un espacio o «>» entre atributos, o la etiqueta está incompleta"),
    ("ERR_ATTRIBUTE_REDEFINED", r"Attribute (\S+) redefined",
     "el atributo «{0}» aparece dos veces en el mismo elemento"),
    ("ERR_ATTRIBUTE_NOT_STARTED", r"", "el valor de un atributo debe ir entre comillas"),
    ("ERR_ATTRIBUTE_WITHOUT_VALUE", r"", "un atributo no tiene valor (escriba nombre=\"valor\")"),
    ("ERR_LT_IN_ATTRIBUTE", r"", "un valor de atributo contiene «<»; escríbalo como «&lt;»"),
    ("ERR_LITERAL_NOT_FINISHED", r"", "falta cerrar las comillas de un valor"),
    ("ERR_INVALID_CHAR", r"", "contiene un carácter que XML no admite (¿es un archivo binario?)"),
    ("ERR_INVALID_CHARREF", r"", "una referencia de carácter (&#…;) no es válida"),
    ("ERR_INVALID_HEX_CHARREF", r"", "una referencia de carácter (&#x…;) no es válida"),
    ("ERR_INVALID_DEC_CHARREF", r"", "una referencia de carácter (&#…;) no es válida"),
    ("ERR_MISPLACED_CDATA_END", r"", "el texto contiene «]]>», que XML solo admite al cerrar una sección CDATA"),
    ("ERR_CDATA_NOT_FINISHED", r"", "una sección CDATA no se cierra con «]]>»"),
    ("ERR_COMMENT_NOT_FINISHED", r"", "un comentario «<!--» no se cierra con «-->»"),
    ("ERR_PI_NOT_STARTED", r"", "una instrucción «<?…?>» está mal escrita"),
    ("ERR_PI_NOT_FINISHED", r"", "una instrucción «<?…?>» no se cierra con «?>»"),
    ("ERR_STRING_NOT_STARTED", r"", "el valor de un atributo debe ir entre comillas"),
    ("ERR_STRING_NOT_CLOSED", r"", "falta cerrar las comillas de un valor"),
    ("ERR_EQUAL_REQUIRED", r"", "falta «=» entre el nombre de un atributo y su valor"),
    ("ERR_VERSION_MISSING", r"", "la declaración <?xml …?> no indica version=\"1.0\""),
    ("ERR_XMLDECL_NOT_FINISHED", r"", "la declaración <?xml …?> no se cierra con «?>»"),
    ("ERR_ENCODING_NAME", r"", "el nombre de la codificación que declara no es válido: guárdelo en UTF-8"),
    ("NS_ERR_QNAME", r"Failed to parse QName '(.*)'", "«{0}» no es un nombre válido de etiqueta o atributo"),
    ("NS_ERR_XML_NAMESPACE", r"(xmlns\S*): Empty XML namespace", "la declaración {0} está vacía"),
    ("WAR_NS_URI", r"(xmlns\S*): '(.*)' is not a valid URI", "la declaración {0} dice «{1}», que no es una URI"),
    ("ERR_UNDECLARED_ENTITY", r"Entity '(.*)' not defined",
     "usa la entidad «&{0};», que XML no define: escriba el carácter tal cual (p. ej. «ó», no «&oacute;»)"),
    ("ERR_ENTITY_IS_EXTERNAL", r"", "usa una entidad externa (posible XXE); quítela"),
    ("NS_ERR_UNDEFINED_NAMESPACE", r"Namespace prefix (\S+) (?:for \S+ )?on (\S+) is not defined",
     "el prefijo «{0}:» de «{1}» no está declarado (falta xmlns:{0}=\"…\" en bpmn:definitions)"),
    ("ERR_INVALID_ENCODING", r"",
     "el contenido no está en la codificación que declara el archivo (UTF-8 si no declara ninguna): "
     "guárdelo en UTF-8 o declare la suya, p. ej. <?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"),
    ("ERR_UNSUPPORTED_ENCODING", r"Unsupported encoding:? (.*)",
     "declara la codificación «{0}», que no se conoce: guárdelo en UTF-8"),
    ("ERR_RESERVED_XML_NAME", r"", "la declaración <?xml …?> solo puede ir al comienzo del archivo"),
    ("ERR_RESOURCE_LIMIT", r"", "anida demasiados elementos o es demasiado grande para leerlo con seguridad"),
]
_SYNTAX = {getattr(etree.ErrorTypes, name): (pattern, text) for name, pattern, text in _SYNTAX_BY_NAME}
