"""The one-time notice after an action («Expediente …: se registró …»): shown once, then its cookie expires.

Through falcon.testing; tests/test_browser.py checks the same in Chromium.
"""
from __future__ import annotations

import re

import pytest
from helpers import derivar, file_tramite, make_user, step
from webclient import Browser

from mpv.engine import Actor
from mpv.web.app import create_app
from mpv.web.pages import NOTICE_COOKIE

BANNER = re.compile(r'<p class="aviso" role="status">(.*?)</p>', re.S)


@pytest.fixture
def app(services):
    return create_app(services)


def test_the_page_that_shows_the_notice_expires_its_cookie(services, app, clock):
    make_user("gdur", "oficina", "GDUR")
    mesa = Actor.de_usuario(make_user("mesa", "mesa", "MP"), ip="127.0.0.1")
    expediente = file_tramite(services)
    step(services, expediente, mesa, accion="conforme")
    derivar(services, expediente, mesa, "GDUR")
    browser = Browser(app)
    browser.login("gdur")
    tray = browser.get("/bandeja")
    task = re.search(r'action="(/expedientes/[^"]+/tareas/[0-9a-f-]{36})"', tray.text).group(1)
    assert browser.post(task, {}).status_code == 303

    shown = browser.get("/bandeja")
    assert expediente.numero in BANNER.search(shown.text).group(1)
    cookie = shown.cookies[NOTICE_COOKIE]
    assert cookie.value == "" and cookie.path == "/" and cookie.http_only
    assert cookie.expires is not None and cookie.expires < clock()  # the browser drops it at once
    assert f'{NOTICE_COOKIE}=""; expires=Thu, 01 Jan 1970 00:00:00 GMT' in shown.headers["set-cookie"]

    assert BANNER.search(browser.get("/inicio").text) is None


def test_an_emptied_notice_cookie_shows_no_banner_and_is_expired(services, app, clock):
    """A browser that kept the emptied cookie (before the fix above) sends back "" on every page."""
    make_user("gdur", "oficina", "GDUR")
    browser = Browser(app)
    browser.login("gdur")
    for value in ('""', ""):
        result = browser.client.simulate_get("/inicio", cookies={**browser.cookies, NOTICE_COOKIE: value})
        assert result.status_code == 200
        assert BANNER.search(result.text) is None and 'class="aviso"' not in result.text
        assert result.cookies[NOTICE_COOKIE].expires < clock()
