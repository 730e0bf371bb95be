"""Tests for the ASVS rows SECURITY.md §8 listed as gaps: each fails without the fix it names."""
from __future__ import annotations

import logging

from helpers import file_tramite, make_user
from webclient import Browser

from mpv.models import Evento, Sesion
from mpv.web.app import create_app


# -- V7.2.4 re-authentication ends the older session --------------------------------------------------
def test_login_while_signed_in_ends_the_older_session(services):
    make_user("mesa", "mesa", "MP")
    app = create_app(services)
    b = Browser(app)
    b.login("mesa")
    first = b.cookies["mpv_sesion"]
    b.login("mesa")  # a second POST /login with the first session's cookie
    second = b.cookies["mpv_sesion"]
    assert second != first and Sesion.select().count() == 1
    thief = Browser(app)
    thief.cookies["mpv_sesion"] = first
    assert thief.get("/inicio").status_code == 303
    assert b.get("/inicio").status_code == 200
