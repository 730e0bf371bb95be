"""How a message leaves MPV: over SMTP (STARTTLS and login when configured, a timeout on every operation), or,
with no ``MPV_SMTP_HOST``, into ``MPV_DATA_DIR/outbox/`` as an ``.eml`` file; and the Spanish description of a
failure that the administrator reads on the row."""
from __future__ import annotations

import logging
import os
import smtplib
import ssl
from email.message import EmailMessage

from ..models import Correo

log = logging.getLogger(__name__)


class ServidorNoDisponible(Exception):
    """The SMTP server could not be reached: the round stops, the rows not yet tried wait untouched."""


def transporte(settings, timeout: float):
    """The way out these settings choose: one SMTP connection, or the outbox folder."""
    return Smtp(settings, timeout) if settings.smtp_host else Outbox(settings)


class Smtp:
    """One SMTP connection, opened on first use, reused for every message, and reopened after an error."""

    def __init__(self, settings, timeout: float):
        self._settings = settings
        self._timeout = timeout
        self._conn: smtplib.SMTP | None = None

    def send(self, correo: Correo, msg: EmailMessage):
        if self._conn is None:
            self._conn = self._connect()
        try:
            self._conn.send_message(msg)
        except BaseException:
            # No QUIT on a connection that just failed (it could wait a whole timeout): drop it.
            conn, self._conn = self._conn, None
            conn.close()
            raise

    def _connect(self) -> smtplib.SMTP:
        """:raise ServidorNoDisponible: no connection, no TLS, or the login was refused."""
        s = self._settings
        conn = None
        try:
            conn = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=self._timeout)
            if s.smtp_starttls:
                conn.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                conn.login(s.smtp_user, s.smtp_password)
            return conn
        except (smtplib.SMTPException, OSError) as exc:
            if conn is not None:
                conn.close()
            raise ServidorNoDisponible(f"Servidor de correo {s.smtp_host}:{s.smtp_port}: {describir(exc)}") from exc

    def close(self):
        """End the connection politely (QUIT)."""
        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError) as exc:
            # Every message sent on it is already recorded; only the goodbye failed.
            log.info("SMTP QUIT failed: %s", exc)
            conn.close()


class Outbox:
    """With no SMTP server configured: each message becomes an ``.eml`` file in the outbox folder."""

    def __init__(self, settings):
        self._dir = settings.outbox_dir

    def send(self, correo: Correo, msg: EmailMessage):
        self._dir.mkdir(parents=True, exist_ok=True)
        path = self._dir / f"{correo.creado_en:%Y%m%dT%H%M%S}-{correo.id:06d}-{correo.tipo}.eml"
        partial = path.with_suffix(".tmp")
        with partial.open("wb") as fh:
            fh.write(msg.as_bytes())
            fh.flush()
            os.fsync(fh.fileno())
        partial.replace(path)  # a reader of the folder never sees half a message

    def close(self):
        pass


def describir(exc: BaseException) -> str:
    """A short Spanish description of a send failure, for the administrator's page."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"el servidor rechazó a {to}: {code} {_text(msg)}"
                         for to, (code, msg) in exc.recipients.items())
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"el servidor rechazó el usuario o la contraseña ({exc.smtp_code} {_text(exc.smtp_error)})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"el servidor respondió {exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, TimeoutError):
        return "el servidor no respondió a tiempo"
    if isinstance(exc, ConnectionRefusedError):
        return "conexión rechazada (¿el servidor está detenido o el puerto es otro?)"
    if isinstance(exc, ssl.SSLError):
        return f"falló la conexión cifrada (STARTTLS): {exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"error de red: {exc.strerror}"
    return str(exc) or type(exc).__name__


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def rechazo_definitivo(exc: BaseException) -> bool:
    """Whether the server refused every recipient for good (5xx): retrying cannot help."""
    return isinstance(exc, smtplib.SMTPRecipientsRefused) and all(
        code >= 500 for code, _ in exc.recipients.values())
