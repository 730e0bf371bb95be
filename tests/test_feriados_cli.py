"""``mpv feriados listar | add | remove``: a day registered from the shell moves the running plazos whose window
holds it, with the audit row saying how many; removing it moves them back; bad input is a Spanish message and
a non-zero exit code, with nothing written."""
from __future__ import annotations

from datetime import date

import pytest
from helpers import derivar, file_tramite, lima, make_user, recibir, step

from mpv.cli import main
from mpv.engine import Actor
from mpv.models import Evento, Feriado, Temporizador

LUNES = lima(2026, 3, 2, 9, 30)


def run(capsys, settings, clock, *argv):
    code = main(list(argv), settings=settings, clock=clock)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def plazo(services, clock):
    """An expediente derived on Monday 2 March 2026 to GDUR with 3 business days and received there: its
    plazo runs out at the end of Thursday 5 March."""
    clock.set(LUNES)
    mesa = Actor.de_usuario(make_user("mesa", "mesa", "MP"))
    gdur = Actor.de_usuario(make_user("gdur", "oficina", "GDUR"))
    exp = file_tramite(services)
    step(services, exp, mesa, accion="conforme")
    derivar(services, exp, mesa, "GDUR", plazo_dias=3)
    recibir(services, exp, gdur)
    return exp


def vence(exp):
    [row] = Temporizador.select().where(Temporizador.expediente == exp.id)
    return row.vence


def admin_rows():
    return [(r.accion, r.descripcion) for r in Evento.select().where(Evento.tipo == "admin").order_by(Evento.seq)]


def test_a_day_added_inside_a_running_plazo_moves_it_one_business_day_and_back(capsys, settings, clock, plazo):
    assert vence(plazo) == lima(2026, 3, 6, 0, 0)
    code, out, err = run(capsys, settings, clock, "feriados", "add", "2026-03-04", "Aniversario del distrito")
    assert (code, err) == (0, "")
    assert out == ("Se registró el 04/03/2026 como día no hábil (Feriado local: Aniversario del distrito).\n"
                   "1 plazo en curso se recalculó.\n")
    assert vence(plazo) == lima(2026, 3, 7, 0, 0)
    code, out, _ = run(capsys, settings, clock, "feriados", "listar", "--anio", "2026")
    assert code == 0 and "  04/03/2026  Feriado local      Aniversario del distrito\n" in out
    assert "  28/07/2026  Feriado nacional" in out and "de la municipalidad" in out

    code, out, err = run(capsys, settings, clock, "feriados", "remove", "2026-03-04")
    assert (code, err) == (0, "")
    assert out == "Se eliminó el feriado del 04/03/2026 (Aniversario del distrito).\n1 plazo en curso se recalculó.\n"
    assert vence(plazo) == lima(2026, 3, 6, 0, 0) and Feriado.select().count() == 0
    assert admin_rows() == [
        ("feriado_registrado", "Se registró el 04/03/2026 como día no hábil; 1 plazo en curso se recalculó."),
        ("feriado_eliminado", "Se eliminó el feriado del 04/03/2026; 1 plazo en curso se recalculó."),
    ]


def test_a_day_outside_every_plazo_moves_none_and_the_type_can_be_chosen(capsys, settings, clock, plazo):
    code, out, _ = run(capsys, settings, clock, "feriados", "add", "2026-03-20", "Decreto", "--tipo", "no laborable")
    assert code == 0 and out.endswith("(Día no laborable: Decreto).\nNingún plazo en curso cambió.\n")
    assert Feriado.get().tipo == "no laborable" and vence(plazo) == lima(2026, 3, 6, 0, 0)


@pytest.mark.parametrize("argv, message", [
    (("add", "04/03/2026", "Aniversario"), "Error: FECHA: «04/03/2026» no es una fecha válida; escríbala como "
                                           "AAAA-MM-DD (por ejemplo 2026-12-07), entre los años 2000 y 2100.\n"),
    (("add", "2026-02-30", "Aniversario"), "Error: FECHA: «2026-02-30» no es una fecha válida"),
    (("add", "mañana", "Aniversario"), "Error: FECHA: «mañana» no es una fecha válida"),
    (("add", "2026-03-04", "Aniversario", "--tipo", "nacional"),
     "Error: --tipo: «nacional» no es un tipo de día no hábil; use uno de: local, regional, «no laborable».\n"),
    (("add", "2026-03-04", " "), "Error: Revise los campos marcados.\n  - nombre: Escriba el motivo del feriado"),
    (("add", "2026-07-28", "Fiestas Patrias"), "Error: El 28/07/2026 ya es feriado nacional ("),
    (("remove", "2026-03-05"), "Error: No hay un feriado local registrado el 05/03/2026; vea «mpv feriados "
                               "listar --anio 2026».\n"),
    (("remove", "2026-07-29"), "Error: El 29/07/2026 es feriado nacional ("),
    (("remove", "2026-3-5"), "Error: FECHA: «2026-3-5» no es una fecha válida"),
    (("listar", "--anio", "dos mil"), "Error: --anio: «dos mil» no es un año válido; escriba uno entre 2000 y "
                                      "2100, como 2026.\n"),
])
def test_bad_input_is_a_clear_message_and_a_failing_exit_code(capsys, settings, clock, plazo, argv, message):
    before = vence(plazo), Evento.select().count()
    code, out, err = run(capsys, settings, clock, "feriados", *argv)
    assert code != 0 and out == "" and err.startswith(message), err
    assert "Traceback" not in err
    assert (vence(plazo), Evento.select().count()) == before and Feriado.select().count() == 0
