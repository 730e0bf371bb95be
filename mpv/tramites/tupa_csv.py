"""The TUPA as a CSV file (UTF-8, comma-separated, one procedure a row, the columns of :data:`tupa.COLUMNAS`):
export every procedure, and import a file all or nothing.

An import creates or updates each procedure by its code, in one write transaction. Every row is checked first
with the same rules as the administrator's form (:func:`tupa_ficha.revisar`); one bad row refuses the whole file, and
the refusal lists every bad row as «Línea N, campo X» (the header is line 1). Exporting, importing that file
and exporting again gives the same bytes.
"""
from __future__ import annotations

import csv
import dataclasses
import io

from ..engine import Actor
from ..errors import InvalidInput
from ..models import Procedimiento
from . import tupa, tupa_ficha
from .administracion import solo_administrador, unique_write

ACTIVO = {"sí": True, "si": True, "no": False}


@dataclasses.dataclass(frozen=True)
class Resumen:
    """What an import changed: the codes created and modified, and how many rows were already so."""

    creados: tuple[str, ...]
    modificados: tuple[str, ...]
    sin_cambios: int

    def __str__(self) -> str:
        partes = [_contar(self.creados, "creado"), _contar(self.modificados, "modificado")]
        return (f"TUPA importado: {'; '.join(partes)}; {self.sin_cambios} sin cambios."
                if self.creados or self.modificados else
                f"TUPA importado: ningún cambio ({self.sin_cambios} procedimientos ya estaban así).")


@dataclasses.dataclass(frozen=True)
class _Fila:
    linea: int
    valores: dict
    activo: bool


def exportar(actor: Actor) -> str:
    """Every procedure, active or not, by code, as the text of a CSV file. :raise NotAllowed:"""
    solo_administrador(actor, "exportar el TUPA")
    salida = io.StringIO()
    escritor = csv.writer(salida, lineterminator="\r\n")
    escritor.writerow(tupa.COLUMNAS)
    for procedimiento in tupa.lista(actor):
        texto = tupa.en_texto(procedimiento)
        escritor.writerow([texto[columna] for columna in tupa.COLUMNAS])
    return salida.getvalue()


def importar(services, actor: Actor, datos: bytes, nombre: str = "") -> Resumen:
    """Create or update the procedures of the CSV file ``datos`` (``nombre``: its file name, for the audit rows).

    :raise InvalidInput: the file cannot be read, or some rows break a rule: ``campos`` maps «Línea N, campo X»
        to each message, for every bad row. Nothing is written then. :raise NotAllowed:
    """
    solo_administrador(actor, "importar el TUPA")
    texto = _decodificar(datos)
    origen = f"importado de {nombre}" if nombre else "importado de un archivo CSV"

    def importar_filas() -> Resumen:
        creados, modificados, sin_cambios = [], [], 0
        for fila in _leer(texto):
            actual = services.db.locked(Procedimiento.select().where(
                Procedimiento.codigo == fila.valores["codigo"])).first()
            row, cambio = tupa.guardar(services, actor, actual, fila.valores, fila.activo, origen)
            if cambio == "creado":
                creados.append(row.codigo)
            elif cambio == "modificado":
                modificados.append(row.codigo)
            else:
                sin_cambios += 1
        return Resumen(tuple(creados), tuple(modificados), sin_cambios)

    return unique_write(services.db, importar_filas, InvalidInput(
        "Otro administrador creó al mismo tiempo alguno de estos procedimientos; no se guardó ningún cambio. "
        "Vuelva a importar el archivo."))


def _decodificar(datos: bytes) -> str:
    try:
        texto = datos.decode("utf-8-sig")  # a spreadsheet's «CSV UTF-8» starts with a BOM
    except UnicodeDecodeError:
        raise InvalidInput("El archivo no está en UTF-8: guárdelo como «CSV UTF-8 (delimitado por comas)» y vuelva "
                           "a importarlo.") from None
    if "\x00" in texto:
        raise InvalidInput("El archivo contiene caracteres no válidos: ¿es un archivo CSV? Exporte el TUPA para "
                           "ver el formato esperado.")
    if not texto.strip():
        raise InvalidInput("El archivo está vacío: exporte el TUPA para ver el formato esperado.")
    return texto


def _leer(texto: str) -> list[_Fila]:
    """The file's rows, each checked. :raise InvalidInput: listing every bad row."""
    lector = csv.reader(io.StringIO(texto, newline=""))
    errores: dict[str, str] = {}
    columnas = _columnas(lector, errores)
    filas, vistos = [], {}
    while columnas:
        linea = lector.line_num + 1
        try:
            celdas = next(lector)
        except StopIteration:
            break
        except csv.Error:
            errores[f"Línea {linea}"] = "No se pudo leer: revise las comillas (un valor con comas o saltos de línea " \
                                        "va entre comillas dobles)."
            break
        if not any(celda.strip() for celda in celdas):
            continue
        if len(celdas) != len(columnas):
            errores[f"Línea {linea}"] = (f"Tiene {len(celdas)} valores y se esperaban {len(columnas)}; un valor con "
                                         "comas va entre comillas dobles.")
            continue
        fila = dict(zip(columnas, celdas))
        campos = {}
        activo = ACTIVO.get(fila["activo"].strip().lower())
        if activo is None:
            campos["activo"] = "Escriba sí o no."
        ficha = tupa_ficha.Ficha(**{c: fila[c] for c in tupa.COLUMNAS if c not in ("requisitos", "activo")},
                           requisitos=tuple(fila["requisitos"].split("|")))
        valores, revisados = tupa_ficha.revisar(ficha, activo is not False)
        campos = {**revisados, **campos}
        codigo = valores["codigo"]
        if "codigo" not in campos and codigo in vistos:
            campos["codigo"] = f"El código {codigo} ya aparece en la línea {vistos[codigo]}."
        vistos.setdefault(codigo, linea)
        for campo in tupa.COLUMNAS:
            if campo in campos:
                errores[f"Línea {linea}, campo {campo}"] = campos[campo]
        if not campos:
            filas.append(_Fila(linea, valores, activo))
    if errores:
        malas = len({clave.split(",")[0] for clave in errores})
        raise InvalidInput(f"El archivo no se importó: {malas} línea{'s' if malas > 1 else ''} con errores. "
                           "Corríjalas y vuelva a importarlo; no se guardó ningún cambio.", errores)
    return filas


def _columnas(lector, errores: dict[str, str]) -> list[str]:
    """The header's column names; [] (and the messages in ``errores``) when it is not :data:`tupa.COLUMNAS`."""
    try:
        columnas = [c.strip().lower() for c in next(lector)]
    except csv.Error:
        errores["Línea 1"] = "No se pudo leer la fila de títulos: revise las comillas."
        return []
    if len(columnas) == 1 and ";" in columnas[0]:
        errores["Línea 1"] = "Las columnas deben ir separadas por comas, no por punto y coma."
        return []
    for columna in tupa.COLUMNAS:
        if columna not in columnas:
            errores[f"Línea 1, campo {columna}"] = "Falta esta columna."
    for columna in sorted(set(columnas)):
        if columna not in tupa.COLUMNAS:
            errores[f"Línea 1, columna «{columna[:40]}»"] = ("Columna desconocida; las columnas son: "
                                                           f"{', '.join(tupa.COLUMNAS)}.")
        elif columnas.count(columna) > 1:
            errores[f"Línea 1, campo {columna}"] = "Esta columna aparece más de una vez."
    return [] if errores else columnas


def _contar(codigos: tuple[str, ...], que: str) -> str:
    n = len(codigos)
    lista = f" ({', '.join(codigos)})" if codigos and n <= 20 else ""
    return f"{n} procedimiento{'s' if n != 1 else ''} {que}{'s' if n != 1 else ''}{lista}"
