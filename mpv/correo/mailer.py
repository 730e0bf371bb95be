"""Sending the e-mails queued as :class:`Correo` rows: claim, render, send, record the outcome.

A step only inserts its Correo rows; this module sends them later, so a mail server that is down
never breaks or slows a filing. :meth:`Mailer.send_due` drains the queue: up to ``MPV_SMTP_CONEXIONES``
senders at once, each with its own SMTP connection reused for message after message, until no row is
due. Each row goes through three short moments:

1. **claim** — a sender takes :data:`LOTE` due rows in one write transaction (``FOR UPDATE SKIP LOCKED``
   on PostgreSQL, SQLite's write lock otherwise): for each, ``intentos + 1``, ``proximo_intento`` pushed
   :data:`RESERVA` ahead and ``ultimo_error`` cleared. Of several senders (threads or processes) exactly
   one takes a row. A sender that dies mid-send leaves the row to be retried once the claim lapses; one
   that stops early (the server went down, the process is stopping) gives back the rows it did not try.
2. **send** — with no transaction open, through :mod:`mpv.correo.transporte`.
3. **outcome** — one write transaction: ``enviado``; or the error, and a new ``proximo_intento`` after
   :data:`ESPERAS_MINUTOS`; after :data:`MAX_INTENTOS` attempts (or a permanent refusal) ``fallido``.

A pendiente row with attempts and no error is therefore being sent right now (see :func:`en_envio`).
"""
from __future__ import annotations

import dataclasses
import logging
import smtplib
import threading
from datetime import datetime, timedelta

import peewee

from .mensajes import Mensajes, NoEnviable
from .transporte import ServidorNoDisponible, describir, rechazo_definitivo, transporte
from ..models import Correo
from ..periodic import Periodic

log = logging.getLogger(__name__)

# The wait after each failed attempt; the attempt after the last wait is the last one (about 22 h in all).
ESPERAS_MINUTOS = (1, 5, 15, 60, 180, 360, 720)
MAX_INTENTOS = len(ESPERAS_MINUTOS) + 1
RESERVA = timedelta(minutes=15)  # how long a claimed row is hidden from other senders
SMTP_TIMEOUT = 30.0  # seconds, for the connection and each SMTP command
LOTE = 20  # rows a sender claims in one transaction: few enough that its claim lapses long after it is sent
ESPERA_VACIA = 5.0  # seconds the sender thread of ``mpv serve`` sleeps when nothing is due

ESTADOS = ("pendiente", "enviado", "fallido")


@dataclasses.dataclass(frozen=True)
class _Reclamo:
    """A row a sender claimed: its attempt number now, and what the claim replaced (to give it back untried)."""

    id: int
    intento: int
    proximo_intento: datetime
    ultimo_error: str


class _Ronda:
    """What the senders of one :meth:`Mailer.send_due` share."""

    def __init__(self, stop: threading.Event | None):
        self._stop = stop
        self.parar = threading.Event()  # the server is down, or a sender failed: the others stop too
        self.abierto = threading.Event()  # the first sender reached the server (or gave up): the others may start
        self._lock = threading.Lock()
        self.enviados = 0
        self.errores: list[BaseException] = []

    def sigue(self) -> bool:
        return not (self.parar.is_set() or (self._stop is not None and self._stop.is_set()))

    def enviado(self):
        with self._lock:
            self.enviados += 1


class Mailer:
    """Sends the due Correo rows of ``services`` (see the module docstring)."""

    def __init__(self, services, timeout: float = SMTP_TIMEOUT, conexiones: int | None = None):
        self._db = services.db
        self._clock = services.clock
        self._settings = services.settings
        self._mensajes = Mensajes(services)
        self._timeout = timeout
        self._conexiones = conexiones or services.settings.smtp_conexiones

    def send_due(self, stop: threading.Event | None = None) -> int:
        """Send every due row, until none is due or ``stop`` is set; return how many this call sent.

        The first sender works alone until the server has answered once, so a server that is down costs
        one attempt of one message, as with a single connection; then the other senders join it.
        """
        if not self._hay_pendientes():
            return 0  # the idle look of mpv serve's thread: one indexed read, no write lock, no threads
        ronda = _Ronda(stop)
        senders = [threading.Thread(target=self._sender, args=(ronda, n == 0), name=f"mpv-correos-{n + 1}",
                                    daemon=True) for n in range(max(1, self._conexiones))]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        if ronda.errores:
            raise ronda.errores[0]
        return ronda.enviados

    def _sender(self, ronda: _Ronda, primero: bool):
        """One connection's work: claim a batch, send it, claim the next, until nothing is due."""
        if not primero:
            ronda.abierto.wait()
        transport = transporte(self._settings, self._timeout)
        sin_intentar: list[_Reclamo] = []
        try:
            while ronda.sigue():
                sin_intentar = self._claim(LOTE)
                if not sin_intentar:
                    break
                while sin_intentar and ronda.sigue():
                    reclamo = sin_intentar.pop(0)
                    try:
                        if self._attempt(reclamo.id, reclamo.intento, transport):
                            ronda.enviado()
                    except ServidorNoDisponible as exc:
                        log.warning("Correo %s: %r; the other due messages wait for the next round", reclamo.id,
                                    str(exc))
                        ronda.parar.set()
                    ronda.abierto.set()
            self._release(sin_intentar)
        except BaseException as exc:  # noqa: BLE001 - handed to send_due's caller, which raises it
            log.exception("The mail sender failed; its claimed rows are retried once the claim lapses")
            ronda.errores.append(exc)
            ronda.parar.set()
        finally:
            ronda.abierto.set()
            transport.close()
            self._db.peewee.close()  # this thread's connection

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
            log.warning("Correo %s not sent (attempt %d): %r", correo_id, intento, describir(exc))
            self._failed(correo_id, intento, describir(exc), permanente=rechazo_definitivo(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - as above: record it on the row, go on with the others
            log.exception("Correo %s failed while sending", correo_id)
            self._failed(correo_id, intento, f"Error al enviar: {exc}")
            return False
        return self._sent(correo_id, intento)

    def _hay_pendientes(self) -> bool:
        now = self._clock()
        return Correo.select(Correo.id).where(
            (Correo.estado == "pendiente") & (Correo.proximo_intento <= now)).exists()

    # -- the short write transactions -------------------------------------------------------------
    def _claim(self, limit: int) -> list[_Reclamo]:
        """Claim up to ``limit`` due rows, oldest due first; rows another sender holds are skipped."""
        now = self._clock()
        with self._db.write():
            filas = list(self._db.claimed(
                Correo.select(Correo.id, Correo.intentos, Correo.proximo_intento, Correo.ultimo_error)
                .where((Correo.estado == "pendiente") & (Correo.proximo_intento <= now))
                .order_by(Correo.proximo_intento, Correo.id).limit(limit)).tuples())
            if filas:
                Correo.update(intentos=Correo.intentos + 1, proximo_intento=now + RESERVA, ultimo_error="").where(
                    Correo.id.in_([fila[0] for fila in filas])).execute()
        return [_Reclamo(correo_id, intentos + 1, proximo, error) for correo_id, intentos, proximo, error in filas]

    def _release(self, reclamos: list[_Reclamo]):
        """Give back claimed rows this sender did not try: as they were, due again for any sender."""
        if not reclamos:
            return
        with self._db.write():
            for r in reclamos:
                Correo.update(intentos=r.intento - 1, proximo_intento=r.proximo_intento,
                              ultimo_error=r.ultimo_error).where(
                    (Correo.id == r.id) & (Correo.intentos == r.intento) & (Correo.estado == "pendiente")).execute()

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
    """Drains the queue whenever something is due, looking every ``interval`` seconds while it is empty (what
    ``mpv serve`` runs); a stop request ends a drain after the messages being sent."""

    def __init__(self, services, interval: float = ESPERA_VACIA):
        super().__init__("mpv-correos", services.db, interval)
        self._mailer = Mailer(services)

    def round(self):
        sent = self._mailer.send_due(self._stopping)
        if sent:
            log.info("Correos: %d sent", sent)
