"""Settings: the only place that reads the environment.

Every other module receives a :class:`Settings` built once (``Settings.from_env()`` in the CLI,
``Settings(data_dir=tmp_path)`` in tests).
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """An ``MPV_*`` variable has a value MPV cannot use; the message names it."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """MPV's configuration. Each field is documented in the README under its ``MPV_*`` name."""

    data_dir: Path = Path("data")
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8080
    workflows_dir: Path = PACKAGE_ROOT / "workflows"
    timezone: str = "America/Lima"
    timer_interval: float = 30.0

    def __post_init__(self):
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        object.__setattr__(self, "workflows_dir", Path(self.workflows_dir))
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.data_dir / 'mpv.sqlite3'}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError(f"MPV_TIMEZONE: zona horaria desconocida {self.timezone!r}") from exc

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "adjuntos"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ=None) -> "Settings":
        """Build settings from ``MPV_*`` variables; raise :class:`SettingsError` naming a bad one."""
        env = os.environ if environ is None else environ
        kwargs = {}
        text = {
            "MPV_DATA_DIR": "data_dir",
            "MPV_DATABASE_URL": "database_url",
            "MPV_HOST": "host",
            "MPV_WORKFLOWS_DIR": "workflows_dir",
            "MPV_TIMEZONE": "timezone",
        }
        for name, field in text.items():
            if env.get(name):
                kwargs[field] = env[name]
        if env.get("MPV_PORT"):
            kwargs["port"] = _integer(env, "MPV_PORT", 1, 65535)
        if env.get("MPV_TIMER_INTERVAL"):
            kwargs["timer_interval"] = float(_integer(env, "MPV_TIMER_INTERVAL", 1, 3600))
        return cls(**kwargs)


def _integer(env, name, low, high) -> int:
    try:
        value = int(env[name])
    except ValueError:
        raise SettingsError(f"{name} debe ser un número entero, no {env[name]!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} debe estar entre {low} y {high}")
    return value
