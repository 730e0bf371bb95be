"""What the /admin pages share: the admin-only guard and one way to show a page with a form's errors."""
from __future__ import annotations

import falcon
import peewee

from .. import registro
from ..engine import Actor
from ..errors import InvalidInput, NotFound
from .middleware import require


class AdminResource:
    """A page of Administración: every handler starts with :meth:`_admin`; :meth:`_show` renders
    ``template``, or re-renders it at 422 with an :class:`InvalidInput`'s messages next to its fields."""

    template = ""

    def __init__(self, pages, services):
        self._pages = pages
        self._services = services

    @staticmethod
    def _admin(req):
        """The signed-in administrator. :raise NotAllowed: for any other role (login redirect when anonymous)."""
        return require(req, "admin")

    @classmethod
    def _actor(cls, req) -> Actor:
        """The signed-in administrator as the :class:`Actor` of a use case. :raise NotAllowed: as :meth:`_admin`."""
        return Actor.de_usuario(cls._admin(req), ip=req.remote_addr or "")

    def _audit(self, req, accion: str, descripcion: str, detalle: str = ""):
        """One ``tipo=admin`` row in the audit chain for the change this request made (inside its write
        transaction when called there). Never pass a password."""
        with self._services.db.write():
            registro.admin_change(self._services.db, self._services.clock(), req.context.usuario,
                                  req.remote_addr or "", accion, descripcion, detalle)

    def _show(self, req, resp, error: InvalidInput | None = None, valores: dict | None = None,
              template: str = "", **context):
        self._pages.render(req, resp, template or self.template, status=falcon.HTTP_422 if error else falcon.HTTP_200,
                           valores=valores or {}, errores=error.campos if error else {},
                           mensaje=error.message if error else "", **context)


def get_or_404(model, row_id: int, what: str):
    """The ``model`` row ``row_id``. :raise NotFound: naming ``what`` (e.g. «el usuario»)."""
    row = model.get_or_none(model.id == row_id)
    if row is None:
        raise NotFound(f"No existe {what} N° {row_id}; vuelva a la lista y elíjalo de nuevo.")
    return row


def unique_write(db, action, duplicate: InvalidInput):
    """Run ``action`` in one write transaction; a unique-key race another request won becomes ``duplicate``."""
    try:
        with db.write():
            return action()
    except peewee.IntegrityError:
        raise duplicate from None


def texto(form, name: str) -> str:
    """A text field without surrounding spaces."""
    return form.get(name).strip()
