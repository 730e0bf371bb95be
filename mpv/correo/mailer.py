"""Sending the e-mails queued as :class:`Correo` rows: claim, render, send, record the outcome.

A step only inserts its Correo rows; this module sends them later, so a mail server that is down
never breaks or slows a filing. Each row goes through three short moments:

1. **claim** — one write transaction: ``intentos + 1``, ``proximo_intento`` pushed :data:`RESERVA`
   ahead and ``ultimo_error`` cleared, *only if* the row is still pendiente, due and at the attempt
   count this sender read. Of several senders (threads or processes) exactly one changes the row;
   the others skip it. A sender that dies mid-send leaves the row to be retried once the claim lapses.
2. **send** — with no transaction open: through SMTP (STARTTLS and login when configured, a timeout
   on every operation), or, with no ``MPV_SMTP_HOST``, into ``MPV_DATA_DIR/outbox/`` as an ``.eml`` file.
3. **outcome** — one write transaction: ``enviado``; or the error, and a new ``proximo_intento`` after
   :data:`ESPERAS_MINUTOS`; after :data:`MAX_INTENTOS` attempts (or a permanent refusal) ``fallido``.

A pendiente row with attempts and no error is therefore being sent right now (see :func:`en_envio`).
"""
from __future__ import annotations

import logging
import os
import smtplib
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage

import peewee

from .mensajes import Mensajes, NoEnviable
from ..models import Correo
from ..periodic import Periodic

log = logging.getLogger(__name__)

# The wait after each failed attempt; the attempt after the last wait is the last one (about 22 h in all).
ESPERAS_MINUTOS = (1, 5, 15, 60, 180, 360, 720)
MAX_INTENTOS = len(ESPERAS_MINUTOS) + 1
RESERVA = timedelta(minutes=15)  # how long a claimed row is hidden from other senders
SMTP_TIMEOUT = 30.0  # seconds, for the connection and each SMTP command

ESTADOS = ("pendiente", "enviado", "fallido")


class ServidorNoDisponible(Exception):
    """The SMTP server could not be reached: the round stops, the rows not yet claimed wait untouched."""


class Mailer:
    """Sends the due Correo rows of ``services`` (see the module docstring)."""

    def __init__(self, services, timeout: float = SMTP_TIMEOUT):
        self._db = services.db
        self._clock = services.clock
        self._settings = services.settings
        self._mensajes = Mensajes(services)
        self._timeout = timeout

    def send_due(self, limit: int = 100) -> int:
        """Send up to ``limit`` due rows, each claimed first; return how many this call sent."""
        now = self._clock()
        due = list(Correo.select(Correo.id, Correo.intentos)
                   .where((Correo.estado == "pendiente") & (Correo.proximo_intento <= now))
                   .order_by(Correo.proximo_intento, Correo.id).limit(limit).tuples())
        sent = 0
        transport = _Smtp(self._settings, self._timeout) if self._settings.smtp_host else _Outbox(self._settings)
        try:
            for correo_id, intentos in due:
                if not self._claim(correo_id, intentos):
                    continue  # another sender has it
                try:
                    sent += self._attempt(correo_id, intentos + 1, transport)
                except ServidorNoDisponible as exc:
                    log.warning("Correo %s: %r; the other due messages wait for the next round", correo_id, str(exc))
                    break
        finally:
            transport.close()
        return sent

    def _attempt(self, correo_id: int, intento: int, transport) -> bool:
        """Render and send one claimed row and record the outcome. :raise ServidorNoDisponible: (recorded)"""
        correo = Correo.get_by_id(correo_id)
        try:
            msg = self._mensajes.build(correo, self._clock())
        except NoEnviable as exc:
            log.error("Correo %s cannot be sent: %r", correo_id, str(exc))
            self._failed(correo_id, intento, str(exc), permanente=True)
            return False
        except Exception as exc:  # noqa: BLE001 - a bug or a missing file in one message must not stop the queue
            log.exception("Correo %s could not be rendered", correo_id)
            self._failed(correo_id, intento, f"No se pudo preparar el mensaje: {exc}")
            return False
        try:
            transport.send(correo, msg)
        except ServidorNoDisponible as exc:
            self._failed(correo_id, intento, str(exc))
            raise
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("Correo %s not sent (attempt %d): %r", correo_id, intento, _describe(exc))
            self._failed(correo_id, intento, _describe(exc), permanente=_rechazo_definitivo(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - as above: record it on the row, go on with the others
            log.exception("Correo %s failed while sending", correo_id)
            self._failed(correo_id, intento, f"Error al enviar: {exc}")
            return False
        return self._sent(correo_id, intento)

    # -- the three short write transactions ------------------------------------------------------
    def _claim(self, correo_id: int, intentos: int) -> bool:
        now = self._clock()
        with self._db.write():
            return Correo.update(intentos=intentos + 1, proximo_intento=now + RESERVA, ultimo_error="").where(
                (Correo.id == correo_id) & (Correo.estado == "pendiente") & (Correo.intentos == intentos)
                & (Correo.proximo_intento <= now)).execute() == 1

    def _sent(self, correo_id: int, intento: int) -> bool:
        with self._db.write():
            changed = Correo.update(estado="enviado", enviado_en=self._clock(), ultimo_error="").where(
                (Correo.id == correo_id) & (Correo.intentos == intento)).execute()
        if changed != 1:
            log.error("Correo %s was sent but its row changed meanwhile; it may be sent again", correo_id)
        return changed == 1

    def _failed(self, correo_id: int, intento: int, error: str, permanente: bool = False):
        now = self._clock()
        if permanente or intento >= MAX_INTENTOS:
            fields = {"estado": "fallido", "proximo_intento": now}
        else:
            fields = {"proximo_intento": now + timedelta(minutes=ESPERAS_MINUTOS[intento - 1])}
        with self._db.write():
            Correo.update(ultimo_error=error[:500], **fields).where(
                (Correo.id == correo_id) & (Correo.intentos == intento)).execute()


class _Smtp:
    """One SMTP connection per round, opened on first use and reopened after an error."""

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
            raise ServidorNoDisponible(f"Servidor de correo {s.smtp_host}:{s.smtp_port}: {_describe(exc)}") from exc

    def close(self):
        """End the round's connection politely (QUIT)."""
        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError) as exc:
            # Every message of the round is already sent and recorded; only the goodbye failed.
            log.info("SMTP QUIT failed: %s", exc)
            conn.close()


class _Outbox:
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


def _describe(exc: BaseException) -> str:
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


def _rechazo_definitivo(exc: BaseException) -> bool:
    """Whether the server refused every recipient for good (5xx): retrying cannot help."""
    return isinstance(exc, smtplib.SMTPRecipientsRefused) and all(
        code >= 500 for code, _ in exc.recipients.values())


# -- what the administrator's queue (mpv.correo.cola) and the CLI use ---------------------------------------
def en_envio(correo: Correo, now: datetime) -> bool:
    """Whether a sender has claimed ``correo`` and may be talking to the server right now."""
    return (correo.estado == "pendiente" and correo.intentos > 0 and not correo.ultimo_error
            and correo.proximo_intento > now)


def contar() -> dict[str, int]:
    """How many rows are in each state."""
    counts = dict(Correo.select(Correo.estado, peewee.fn.COUNT(Correo.id)).group_by(Correo.estado).tuples())
    return {estado: counts.get(estado, 0) for estado in ESTADOS}


class SenderThread(Periodic):
    """Sends due e-mails every ``interval`` seconds until stopped (what ``mpv correos --loop`` does)."""

    def __init__(self, services, interval: float):
        super().__init__("mpv-correos", services.db, interval)
        self._mailer = Mailer(services)

    def round(self):
        sent = self._mailer.send_due()
        if sent:
            log.info("Correos: %d sent", sent)
