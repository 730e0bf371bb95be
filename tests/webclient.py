"""A small browser over falcon.testing: keeps cookies, reads the page's CSRF token, posts forms."""
from __future__ import annotations

import re
import uuid
from urllib.parse import urlencode

from falcon import testing

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Browser:
    def __init__(self, app, remote_addr="127.0.0.1"):
        self.client = testing.TestClient(app)
        self.cookies: dict[str, str] = {}
        self.csrf = ""
        self.remote_addr = remote_addr

    def _keep(self, result):
        for name, cookie in result.cookies.items():
            if cookie.value == "" or (cookie.max_age is not None and cookie.max_age <= 0):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = cookie.value
        match = CSRF.search(result.text or "") if "html" in (result.headers.get("content-type") or "") else None
        if match:
            self.csrf = match.group(1)
        return result

    def get(self, path, **params):
        return self._keep(self.client.simulate_get(path, params=params or None, cookies=self.cookies,
                                                   remote_addr=self.remote_addr))

    def post(self, path, data=None, files=None, csrf=True, headers=None):
        """POST ``data`` (a dict or list of pairs) urlencoded, or multipart when ``files`` is given, with
        ``headers`` besides the content type (``Origin``, ``Sec-Fetch-Site``…)."""
        pairs = list(data.items()) if isinstance(data, dict) else list(data or [])
        flat = []
        for key, value in pairs:
            for v in (value if isinstance(value, (list, tuple)) else [value]):
                flat.append((key, str(v)))
        if csrf:
            flat.insert(0, ("csrf", self.csrf))
        if files is None:
            body, content_type = urlencode(flat), "application/x-www-form-urlencoded"
        else:
            body, content_type = multipart(flat, files)
        headers = {**(headers or {}), "Content-Type": content_type}
        return self._keep(self.client.simulate_post(path, body=body, headers=headers, cookies=self.cookies,
                                                    remote_addr=self.remote_addr))

    def login(self, username, password="contraseña-de-prueba-1"):
        self.get("/login")
        result = self.post("/login", {"username": username, "password": password, "siguiente": "/inicio"})
        assert result.status_code == 303, result.text
        self.get("/inicio")
        return result


def signed_in(services, username: str, rol: str, oficina: str | None = None) -> Browser:
    """A new user ``username`` with ``rol``, signed in, in a test browser on a fresh app over ``services``."""
    from helpers import make_user

    from mpv.web.app import create_app

    make_user(username, rol, oficina)
    b = Browser(create_app(services))
    b.login(username)
    return b


def multipart(fields, files) -> tuple[bytes, str]:
    """Encode (name, value) fields and (name, filename, bytes) files as multipart/form-data."""
    boundary = uuid.uuid4().hex  # random-ok: a boundary, as browsers make them; no outcome depends on it
    out = bytearray()
    for name, value in fields:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    for name, filename, content in files:
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: application/pdf\r\n\r\n").encode()
        out += content + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"
