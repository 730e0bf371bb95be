"""Jinja2: the page environment (autoescape everywhere) and the sandbox for text written in BPMN."""
from __future__ import annotations

import functools
import logging
from datetime import date, datetime, timedelta
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from ..config import PACKAGE_ROOT
from ..tramites.listados import Hoy
from ..plazos import Calendario
from ..text import tamano

log = logging.getLogger(__name__)

TEMPLATES = PACKAGE_ROOT / "templates"

DIAS = ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"]
MESES = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
         "noviembre", "diciembre"]


# A row's plazo (:meth:`mpv.tramites.listados.Hoy.situacion`) as its badge: css class and word.
PLAZO = {"concluido": ("cerrado", "concluido"), "sin_plazo": ("sin-plazo", "sin plazo"), "vencido": ("vencido", "vencido"),
         "por_vencer": ("por-vencer", "por vencer"), "en_plazo": ("en-plazo", "en plazo")}


class Renderer:
    """Renders pages; every template gets the calendar's filters (local dates, plazo states)."""

    def __init__(self, calendario: Calendario, clock, templates: Path = TEMPLATES, recargar: bool = False):
        self.calendario = calendario
        self.clock = clock
        # auto_reload stats each template's file on every render (7% of a list page's CPU): development only.
        self.env = Environment(loader=FileSystemLoader(str(templates)), autoescape=select_autoescape(default=True),
                               undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, auto_reload=recargar)
        self.env.filters.update(fecha=self.fecha, fechahora=self.fechahora, fecha_larga=self.fecha_larga,
                                hora=self.hora, tamano=tamano, ultimo_dia=self.ultimo_dia)
        self.env.globals.update(plazo=self.plazo, ahora=self.clock)  # ahora(): the services' clock, for printed pages
        self._sandbox = ImmutableSandboxedEnvironment(autoescape=True)
        # from_string compiles on every call; the diagram's texts are few and fixed, so compile each once.
        self._compilar = functools.lru_cache(maxsize=512)(self._sandbox.from_string)

    def render(self, template: str, **context) -> str:
        return self.env.get_template(template).render(**context)

    def bpmn_text(self, text: str, data: dict) -> Markup:
        """Text an analyst wrote in the diagram (instructions), rendered in a sandbox with the task's data.

        A template that fails is shown as written (and logged), never as an error page.
        """
        if not text:
            return Markup("")
        try:
            return Markup(self._compilar(text).render(**data))
        except TemplateError as exc:
            log.warning("BPMN text failed to render: %r", str(exc))
            return Markup.escape(text)

    # -- filters -----------------------------------------------------------------------------
    def _local(self, value: datetime) -> datetime:
        return value.astimezone(self.calendario.tz)

    def fecha(self, value, dia: bool = False) -> str:
        """dd/mm/yyyy (a moment, on its local day); with ``dia``, after the weekday: «sáb 07/03/2026»."""
        if value is None:
            return "—"
        if isinstance(value, datetime):
            value = self._local(value).date()
        return f"{DIAS[value.weekday()]} {value:%d/%m/%Y}" if dia else value.strftime("%d/%m/%Y")

    def fechahora(self, value: datetime | None, dia: bool = False) -> str:
        """A moment as local dd/mm/yyyy hh:mm; with ``dia``, after the weekday: «sáb 07/03/2026 10:15»."""
        if value is None:
            return "—"
        local = self._local(value)
        return f"{self.fecha(local.date(), dia)} {local:%H:%M}"

    def hora(self, value: datetime | None) -> str:
        return "—" if value is None else self._local(value).strftime("%H:%M")

    def ultimo_dia(self, vence: datetime | None) -> str:
        """The last day of a plazo (``vence`` is the midnight after it), as dd/mm/yyyy."""
        if vence is None:
            return "—"
        return self._local(vence - timedelta(minutes=1)).strftime("%d/%m/%Y")

    def fecha_larga(self, value) -> str:
        if isinstance(value, datetime):
            value = self._local(value).date()
        return f"{value.day} de {MESES[value.month - 1]} de {value.year}"

    def plazo(self, vence: datetime | None, vencido: bool = False, terminado: bool = False) -> tuple[str, str]:
        """(css class, word) for a deadline: en plazo / por vencer / vencido (or sin plazo, concluido), as
        the lists' plazo filter and the home page's figures define them (:class:`mpv.tramites.listados.Hoy`)."""
        situacion = Hoy.segun(self.calendario, self.clock()).situacion(vence, vencido, terminado)
        return PLAZO[situacion]

    def hoy(self) -> date:
        return self._local(self.clock()).date()

