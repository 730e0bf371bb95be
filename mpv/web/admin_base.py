"""What the /admin pages share: the admin-only guard and one way to show a page with a form's errors."""
from __future__ import annotations

import falcon

from ..engine import Actor
from ..errors import InvalidInput
from .middleware import require


class AdminResource:
    """A page of Administración: every handler starts with :meth:`_actor` (or :meth:`_admin`) and calls one
    action, which writes its own audit row; :meth:`_show` renders ``template``, or re-renders it at 422 with an
    :class:`InvalidInput`'s messages next to its fields."""

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

    def _show(self, req, resp, error: InvalidInput | None = None, valores: dict | None = None,
              template: str = "", **context):
        self._pages.render(req, resp, template or self.template, status=falcon.HTTP_422 if error else falcon.HTTP_200,
                           valores=valores or {}, errores=error.campos if error else {},
                           mensaje=error.message if error else "", **context)


def texto(form, name: str) -> str:
    """A text field without surrounding spaces."""
    return form.get(name).strip()
