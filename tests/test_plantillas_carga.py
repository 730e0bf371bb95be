"""Templates load once in production: no file check on every render unless MPV_RECARGAR_PLANTILLAS asks for it
(issue 15: 7% of a list page went to Jinja2 checking template files); the diagram's texts compile once."""
from __future__ import annotations

import os

import pytest

from mpv.config import Settings, SettingsError
from mpv.web.render import Renderer


def test_the_setting_is_off_by_default_and_read_from_the_environment():
    assert Settings.from_env({}).recargar_plantillas is False
    assert Settings.from_env({"MPV_RECARGAR_PLANTILLAS": "true"}).recargar_plantillas is True
    assert Settings.from_env({"MPV_RECARGAR_PLANTILLAS": "no"}).recargar_plantillas is False
    with pytest.raises(SettingsError, match="MPV_RECARGAR_PLANTILLAS debe ser true o false"):
        Settings.from_env({"MPV_RECARGAR_PLANTILLAS": "quizás"})


def _changed(path, text):
    stat = path.stat()
    path.write_text(text, encoding="utf-8")
    os.utime(path, (stat.st_atime, stat.st_mtime + 10))  # a later date, whatever the file system's resolution


@pytest.mark.parametrize("recargar, esperado", [(False, "primera"), (True, "segunda")])
def test_a_changed_template_file_is_read_again_only_when_asked(services, tmp_path, recargar, esperado):
    folder = tmp_path / "plantillas"
    folder.mkdir()
    (folder / "p.html").write_text("primera", encoding="utf-8")
    renderer = Renderer(services.calendario, services.clock, folder, recargar=recargar)
    assert renderer.render("p.html") == "primera"
    _changed(folder / "p.html", "segunda")
    assert renderer.render("p.html") == esperado


def test_a_diagram_text_compiles_once_and_renders_with_each_task_data(services):
    renderer = Renderer(services.calendario, services.clock)
    text = "Atienda el expediente {{ numero }}"
    assert renderer.bpmn_text(text, {"numero": "2026-000001"}) == "Atienda el expediente 2026-000001"
    assert renderer.bpmn_text(text, {"numero": "2026-000002"}) == "Atienda el expediente 2026-000002"
    assert renderer._compilar.cache_info().hits == 1
    assert renderer.bpmn_text("{{ 1 +", {}) == "{{ 1 +"  # a broken text is shown as written, never an error
    assert renderer.bpmn_text("{{ x.__class__ }}", {"x": 1}) == ""  # still in the sandbox: no unsafe attribute
