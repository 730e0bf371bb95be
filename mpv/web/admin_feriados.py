"""Administración › Feriados locales: the municipality's own non-working days, by year, next to the
national holidays the calendar already knows. Every change refreshes the business-day calendar at once."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from ..errors import InvalidInput
from ..engine.forms import Field
from ..models import Feriado
from .admin_base import AdminResource, get_or_404, texto, unique_write
from .requests import read_form

TIPOS = {"local": "Feriado local", "regional": "Feriado regional", "no laborable": "Día no laborable"}
NACIONAL = "Feriado nacional"
FIELDS = [
    Field("fecha", "Fecha", "date", True, help="Elíjala en el calendario o escríbala como dd/mm/aaaa."),
    Field("nombre", "Motivo", "text", True, max_length=200, placeholder="Aniversario de creación del distrito"),
    Field("tipo", "Tipo", "select", True, choices=list(TIPOS.items())),
]


def add_feriado_routes(app, pages, services):
    feriados = Feriados(pages, services)
    app.add_route("/admin/feriados", feriados)
    app.add_route("/admin/feriados/{feriado_id:int}/eliminar", feriados, suffix="eliminar")


def _fecha(value: str) -> date | None:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            parsed = datetime.strptime(value, pattern).date()
        except ValueError:
            continue
        return parsed if 2000 <= parsed.year <= 2100 else None
    return None


class Feriados(AdminResource):
    """GET ?anio=: the year's holidays, local ones deletable. POST: add one. POST …/eliminar: delete one."""

    template = "admin/feriados.html"

    def _year_page(self, req, resp, anio: int, error=None, valores=None):
        locales = list(Feriado.select().where(Feriado.fecha.between(date(anio, 1, 1), date(anio, 12, 31))))
        own = {f.fecha for f in locales}
        calendario = self._services.calendario
        nacionales = []
        day = date(anio, 1, 1)
        while day.year == anio:
            nombre = None if day in own else calendario.feriado(day)
            if nombre:
                nacionales.append((day, nombre))
            day += timedelta(days=1)
        filas = sorted([(f.fecha, f.nombre, TIPOS.get(f.tipo, f.tipo), f) for f in locales]
                       + [(d, nombre, NACIONAL, None) for d, nombre in nacionales], key=lambda fila: fila[0])
        self._show(req, resp, error, valores or {"tipo": "local"}, anio=anio, filas=filas, fields=FIELDS)

    def on_get(self, req, resp):
        self._admin(req)
        anio = req.get_param_as_int("anio", min_value=2000, max_value=2100)
        self._year_page(req, resp, anio or self._services.calendario.fecha_local(self._services.clock()).year)

    def on_post(self, req, resp):
        self._admin(req)
        form = read_form(req)
        valores = {name: texto(form, name) for name in ("fecha", "nombre", "tipo")}
        fecha = _fecha(valores["fecha"])
        if fecha:
            valores["fecha"] = fecha.isoformat()  # what a date control shows again
        anio = fecha.year if fecha else self._services.calendario.fecha_local(self._services.clock()).year
        try:
            fecha = self._add(req, fecha, valores)
        except InvalidInput as exc:
            self._year_page(req, resp, anio, exc, valores)
            return
        self._services.calendario.refresh()
        self._pages.redirect(req, resp, f"/admin/feriados?anio={fecha.year}",
                             f"Se registró el {fecha:%d/%m/%Y} ({valores['nombre']}) como día no hábil.")

    def _add(self, req, fecha: date | None, valores: dict) -> date:
        """Save the holiday. :raise InvalidInput: naming each bad field, or the date already taken."""
        campos = {}
        if fecha is None:
            campos["fecha"] = "Escriba una fecha válida entre los años 2000 y 2100, como 15/08/2026."
        if not valores["nombre"] or len(valores["nombre"]) > 200:
            campos["nombre"] = "Escriba el motivo del feriado (hasta 200 caracteres)."
        if valores["tipo"] not in TIPOS:
            campos["tipo"] = "Elija el tipo de la lista."
        if campos:
            raise InvalidInput("Revise los campos marcados.", campos)
        duplicate = InvalidInput(f"Ya hay un feriado registrado el {fecha:%d/%m/%Y}.",
                                 {"fecha": "Esa fecha ya está registrada; elimínela primero si quiere cambiarla."})

        def create():
            taken = Feriado.get_or_none(Feriado.fecha == fecha)
            if taken is not None:
                raise InvalidInput(f"Ya hay un feriado registrado el {fecha:%d/%m/%Y}: {taken.nombre}.",
                                   duplicate.campos)
            nacional = self._services.calendario.feriado(fecha)
            if nacional:
                raise InvalidInput(f"El {fecha:%d/%m/%Y} ya es feriado nacional ({nacional}).",
                                   {"fecha": "Esa fecha ya es feriado nacional; no hace falta registrarla."})
            Feriado.create(fecha=fecha, nombre=valores["nombre"], tipo=valores["tipo"])
            self._audit(req, "feriado_registrado", f"Se registró el {fecha:%d/%m/%Y} como día no hábil.",
                        f"{TIPOS[valores['tipo']]}: {valores['nombre']}")

        unique_write(self._services.db, create, duplicate)
        return fecha

    def on_post_eliminar(self, req, resp, feriado_id):
        self._admin(req)
        feriado = get_or_404(Feriado, feriado_id, "el feriado")
        read_form(req)
        with self._services.db.write():
            Feriado.delete().where(Feriado.id == feriado.id).execute()
            self._audit(req, "feriado_eliminado", f"Se eliminó el feriado del {feriado.fecha:%d/%m/%Y}.",
                        f"{TIPOS.get(feriado.tipo, feriado.tipo)}: {feriado.nombre}")
        self._services.calendario.refresh()
        self._pages.redirect(req, resp, f"/admin/feriados?anio={feriado.fecha.year}",
                             f"Se eliminó el feriado del {feriado.fecha:%d/%m/%Y} ({feriado.nombre}); "
                             "ese día vuelve a ser hábil si no es fin de semana ni feriado nacional.")
