"""The sessions' use cases (mpv.tramites.sessions), driven directly against the real database: sign in with the
account's throttling, the session behind a token, sign out, change one's own password, end one's sessions — and
their refusals (a clear message, nothing written but what the rule asks for)."""
from __future__ import annotations

import threading

import pytest
from helpers import make_user

from mpv.errors import InvalidInput, NotAllowed, NotFound, Throttled
from mpv.models import Evento, IntentoAcceso, Sesion, Usuario
from mpv.tramites.sessions import Sessions

PASSWORD = "contraseña-de-prueba-1"
NEW = "tres gatos pardos cruzan el rio de noche"


@pytest.fixture
def sessions(services):
    return Sessions(services.db, services.clock, services.refusals)


@pytest.fixture
def mesa(services):
    return make_user("mesa", "mesa", "MP")


def acceso() -> list[tuple[str, str, str]]:
    """The access rows of the audit chain: (accion, who, detalle), oldest first."""
    return [(e.accion, e.actor_nombre, e.detalle)
            for e in Evento.select().where(Evento.tipo == "acceso").order_by(Evento.seq)]


def refused(error, action, *args, **kwargs):
    """The ``error`` ``action`` raises; no session, user or audit row changed meanwhile (the throttle's own
    count aside)."""
    before = (list(Sesion.select().order_by(Sesion.id).tuples()), list(Usuario.select().order_by(Usuario.id).tuples()))
    rows = Evento.select().where(Evento.accion.not_in(["ingreso_fallido", "ingreso_bloqueado", "cambio_clave_fallido",
                                                       "cambio_clave_bloqueado"])).count()
    with pytest.raises(error) as raised:
        action(*args, **kwargs)
    assert (list(Sesion.select().order_by(Sesion.id).tuples()),
            list(Usuario.select().order_by(Usuario.id).tuples())) == before
    assert Evento.select().where(Evento.accion.not_in(["ingreso_fallido", "ingreso_bloqueado", "cambio_clave_fallido",
                                                       "cambio_clave_bloqueado"])).count() == rows
    return raised.value


# -- sign in and out --------------------------------------------------------------------------------------
def test_login_opens_a_session_known_by_its_token_only(sessions, mesa):
    token, usuario = sessions.login(" mesa ", PASSWORD, ip="10.0.0.1")
    assert usuario.id == mesa.id
    row = Sesion.get(Sesion.usuario == mesa.id)
    assert token not in row.token_hash and row.ip == "10.0.0.1" and len(row.csrf) >= 32
    current = sessions.current(token)
    assert current.usuario.username == "mesa" and current.sesion.id == row.id
    assert sessions.current("otro-token") is None and sessions.current(None) is None
    assert acceso() == [("ingreso", "mesa", "")]


@pytest.mark.parametrize("username, password", [("mesa", "equivocada-123"), ("nadie", PASSWORD), ("baja", PASSWORD)])
def test_login_refuses_with_one_message_whatever_was_wrong(services, sessions, mesa, username, password):
    Usuario.update(activo=False).where(Usuario.id == make_user("baja", "mesa", "MP").id).execute()
    error = refused(NotAllowed, sessions.login, username, password, ip="10.0.0.9")
    assert error.message == "Usuario o contraseña incorrectos."
    assert acceso() == [("ingreso_fallido", username, "fallos seguidos: 1")]


def test_signing_in_again_ends_the_session_the_browser_had(sessions, mesa):
    first, _ = sessions.login("mesa", PASSWORD)
    with pytest.raises(NotAllowed):
        sessions.login("mesa", "equivocada-123", anterior=first)
    assert sessions.current(first) is not None  # a failed attempt leaves it as it was
    second, _ = sessions.login("mesa", PASSWORD, anterior=first)
    assert sessions.current(first) is None and sessions.current(second) is not None
    assert [a for a, _, _ in acceso()] == ["ingreso", "ingreso_fallido", "ingreso", "salida"]


def test_logout_ends_the_session_and_is_audited_once(sessions, mesa):
    token, _ = sessions.login("mesa", PASSWORD)
    sessions.logout(token, ip="10.0.0.1")
    sessions.logout(token)
    sessions.logout(None)
    assert sessions.current(token) is None and not Sesion.select().exists()
    assert [a for a, _, _ in acceso()] == ["ingreso", "salida"]


def test_sessions_end_when_idle_too_old_or_their_user_is_disabled(sessions, mesa, clock):
    token, _ = sessions.login("mesa", PASSWORD)
    clock.advance(minutes=31)
    assert sessions.current(token) is None and not Sesion.select().exists()
    token, _ = sessions.login("mesa", PASSWORD)
    for _ in range(36):  # used every 20 minutes: idle never, but 12 hours after login it ends
        clock.advance(minutes=20)
        assert sessions.current(token) is not None
    clock.advance(minutes=20)
    assert sessions.current(token) is None
    token, _ = sessions.login("mesa", PASSWORD)
    Usuario.update(activo=False).where(Usuario.id == mesa.id).execute()
    assert sessions.current(token) is None


# -- throttling --------------------------------------------------------------------------------------------
def test_after_five_failures_the_account_waits_and_each_new_failure_doubles_the_wait(sessions, mesa, clock):
    make_user("gdur", "oficina", "GDUR")
    for _ in range(5):
        refused(NotAllowed, sessions.login, "mesa", "adivinando-123")
    error = refused(Throttled, sessions.login, "mesa", PASSWORD)  # even the right password waits
    assert error.retry_after == 30
    assert error.message == "Demasiados intentos fallidos para el usuario mesa. Espere 30 segundos e inténtelo de nuevo."
    sessions.login("gdur", PASSWORD)  # another account does not wait
    clock.advance(seconds=31)
    refused(NotAllowed, sessions.login, "mesa", "otra-vez-mal")
    assert refused(Throttled, sessions.login, "mesa", PASSWORD).message.endswith("Espere 1 minuto e inténtelo de nuevo.")
    clock.advance(seconds=61)
    token, _ = sessions.login("mesa", PASSWORD)  # a right password clears the count
    assert token and not IntentoAcceso.select().where(IntentoAcceso.username == "mesa").exists()
    rows = acceso()
    assert [d for a, n, d in rows if a == "ingreso_fallido"][-1] == "fallos seguidos: 6"
    assert [(a, d) for a, n, d in rows if a == "ingreso_bloqueado"] == [("ingreso_bloqueado", "espera 30 s"),
                                                                       ("ingreso_bloqueado", "espera 60 s")]


def test_failures_older_than_a_day_no_longer_count(sessions, mesa, clock):
    for _ in range(4):
        refused(NotAllowed, sessions.login, "mesa", "adivinando-123")
    clock.advance(hours=25)
    refused(NotAllowed, sessions.login, "mesa", "adivinando-123")
    assert acceso()[-1][2] == "fallos seguidos: 1"
    assert sessions.login("mesa", PASSWORD)


def test_guesses_sent_at_once_wait_as_a_series_would(services, sessions, mesa):
    """Each parallel guess used to read the same count before any failure was written: all twelve were
    checked. Counted before the check, the sixth and later ones wait, whatever the order they ran in."""
    barrier = threading.Barrier(12)
    outcomes = []

    def guess():
        try:
            barrier.wait()
            sessions.login("mesa", "adivinando-123")
        except (NotAllowed, Throttled) as exc:
            outcomes.append(type(exc).__name__)
        finally:
            services.db.peewee.close()

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["NotAllowed"] * 5 + ["Throttled"] * 7
    assert IntentoAcceso.get(IntentoAcceso.username == "mesa").fallos == 5
    assert sorted(d for a, _, d in acceso() if a == "ingreso_fallido") == [f"fallos seguidos: {n}" for n in range(1, 6)]


# -- Mi cuenta: one's own password and sessions -------------------------------------------------------------
def test_changing_the_password_ends_the_other_sessions_and_is_audited(sessions, mesa):
    Usuario.update(cambiar_clave=True).where(Usuario.id == mesa.id).execute()
    laptop, _ = sessions.login("mesa", PASSWORD, ip="10.0.0.1")
    phone, _ = sessions.login("mesa", PASSWORD, ip="10.0.0.2")
    sessions.change_password(sessions.current(laptop), PASSWORD, NEW, NEW, ip="10.0.0.1")
    assert sessions.current(laptop) is not None and sessions.current(phone) is None
    assert not Usuario.get_by_id(mesa.id).cambiar_clave
    assert sessions.login("mesa", NEW)
    with pytest.raises(NotAllowed):
        sessions.login("mesa", PASSWORD)
    row = Evento.get(Evento.accion == "cambio_clave")
    assert (row.actor_nombre, row.ip, row.detalle) == ("mesa", "10.0.0.1", "otras sesiones cerradas: 1")
    assert NEW not in f"{row.descripcion} {row.detalle}" and PASSWORD not in f"{row.descripcion} {row.detalle}"


@pytest.mark.parametrize("actual, nueva, confirmacion, field, message", [
    ("equivocada-123456", NEW, NEW, "actual", "La contraseña actual no es correcta."),
    (PASSWORD, "corta", "corta", "nueva", "al menos 12 caracteres"),
    (PASSWORD, "mesa12345678", "mesa12345678", "nueva", "demasiado común"),
    (PASSWORD, PASSWORD, PASSWORD, "nueva", "debe ser distinta de la actual"),
    (PASSWORD, NEW, NEW + "x", "confirmacion", "no coincide"),
    (PASSWORD, "", "", "nueva", "al menos 12 caracteres"),
])
def test_a_refused_password_change_names_its_field_and_changes_nothing(sessions, mesa, actual, nueva, confirmacion,
                                                                       field, message):
    token, _ = sessions.login("mesa", PASSWORD)
    other, _ = sessions.login("mesa", PASSWORD)
    error = refused(InvalidInput, sessions.change_password, sessions.current(token), actual, nueva, confirmacion)
    assert error.message == "Revise los campos marcados." and list(error.campos) == [field]
    assert message in error.campos[field]
    assert sessions.current(other) is not None


def test_a_wrong_current_password_counts_as_a_failed_login(sessions, mesa, clock):
    """A stolen session used to be able to guess the current password without end; now each wrong one is
    a failure of the account, audited, and after five the account waits (the login too)."""
    token, _ = sessions.login("mesa", PASSWORD, ip="10.0.0.7")
    current = sessions.current(token)
    for _ in range(5):
        refused(InvalidInput, sessions.change_password, current, "adivinando-123", NEW, NEW)
    error = refused(Throttled, sessions.change_password, current, PASSWORD, NEW, NEW)
    assert error.retry_after == 30 and "Espere 30 segundos" in error.message
    assert refused(Throttled, sessions.login, "mesa", PASSWORD).retry_after == 30
    rows = [(a, n, d) for a, n, d in acceso() if a.startswith("cambio_clave")]
    assert rows[0] == ("cambio_clave_fallido", "mesa", "fallos seguidos: 1") and len(rows) == 6
    assert rows[-1] == ("cambio_clave_bloqueado", "mesa", "espera 30 s")
    clock.advance(seconds=31)
    sessions.change_password(sessions.current(token), PASSWORD, NEW, NEW)
    assert not IntentoAcceso.select().where(IntentoAcceso.username == "mesa").exists()


def test_a_right_current_password_clears_the_count_even_if_the_new_one_is_refused(sessions, mesa):
    current = sessions.current(sessions.login("mesa", PASSWORD)[0])
    for _ in range(4):
        refused(InvalidInput, sessions.change_password, current, "adivinando-123", NEW, NEW)
    refused(InvalidInput, sessions.change_password, current, PASSWORD, "corta", "corta")
    refused(InvalidInput, sessions.change_password, current, "adivinando-123", NEW, NEW)
    assert acceso()[-1] == ("cambio_clave_fallido", "mesa", "fallos seguidos: 1")


def test_own_sessions_are_listed_and_another_one_can_be_ended(sessions, mesa, clock):
    make_user("gdur", "oficina", "GDUR")
    old, _ = sessions.login("mesa", PASSWORD, ip="10.0.0.1")
    clock.advance(minutes=31)
    a, _ = sessions.login("mesa", PASSWORD, ip="10.0.0.2")
    clock.advance(minutes=2)
    b, _ = sessions.login("mesa", PASSWORD, ip="10.0.0.3")
    theirs, _ = sessions.login("gdur", PASSWORD)
    current = sessions.current(a)
    assert [s.ip for s in sessions.of(mesa.id)] == ["10.0.0.3", "10.0.0.2"]  # live ones, the latest used first
    b_id = sessions.current(b).sesion.id
    error = refused(InvalidInput, sessions.end_one, current, current.sesion.id)
    assert "para cerrarla use «Salir»" in error.message
    error = refused(NotFound, sessions.end_one, current, sessions.current(theirs).sesion.id)
    assert error.message == "Esa sesión ya no está abierta; vuelva a cargar la página."
    sessions.end_one(current, b_id, ip="10.0.0.2")
    assert sessions.current(b) is None and sessions.current(a) is not None and sessions.current(theirs) is not None
    assert acceso()[-1] == ("sesion_cerrada", "mesa", f"sesión N° {b_id}")
    refused(NotFound, sessions.end_one, current, b_id)  # already ended
    assert old and sessions.current(old) is None


# -- refused requests -----------------------------------------------------------------------------------------
def test_refused_requests_are_audited_folded_per_address_and_minute(sessions, mesa, clock):
    sessions.denied(mesa, "10.0.0.1", "GET", "/admin", "Su rol no tiene acceso a esta página.")
    sessions.denied(mesa, "10.0.0.1", "GET", "/admin", "Su rol no tiene acceso a esta página.")
    sessions.limited(None, "10.0.0.5", "POST", "/login", 12)
    clock.advance(seconds=61)
    sessions.limited(None, "10.0.0.5", "POST", "/login", 3)
    rows = [(e.accion, e.descripcion, e.actor_nombre, e.detalle)
            for e in Evento.select().where(Evento.tipo == "acceso").order_by(Evento.seq)]
    assert rows == [
        ("denegado", "Acceso denegado: GET /admin", "mesa", "Su rol no tiene acceso a esta página."),
        ("limite", "Límite de solicitudes: POST /login", "anónimo", "espere 12 s"),
        ("limite", "Límite de solicitudes: POST /login", "anónimo", "espere 3 s"),
    ]


# -- the faces: /login and /cuenta parse, call one action, render ------------------------------------------------
def test_cuenta_shows_the_wait_at_429_with_the_form_again(services, mesa, clock):
    from webclient import Browser

    from mpv.web.app import create_app

    b = Browser(create_app(services))
    b.login("mesa")
    b.get("/cuenta")
    for _ in range(5):
        wrong = b.post("/cuenta/clave", {"actual": "adivinando-123", "nueva": NEW, "confirmacion": NEW})
        assert wrong.status_code == 422 and 'id="error-actual"' in wrong.text
    waiting = b.post("/cuenta/clave", {"actual": PASSWORD, "nueva": NEW, "confirmacion": NEW})
    assert waiting.status_code == 429 and waiting.headers["retry-after"] == "30"
    assert "Demasiados intentos fallidos para el usuario mesa. Espere 30 segundos" in waiting.text
    assert 'action="/cuenta/clave"' in waiting.text and "Traceback" not in waiting.text
    assert not Evento.select().where(Evento.accion == "limite").exists()  # the wait's own row, not a rate limit's
    clock.advance(seconds=31)
    assert b.post("/cuenta/clave", {"actual": PASSWORD, "nueva": NEW, "confirmacion": NEW}).status_code == 303
