"""Settings: the only place that reads the environment.

Every other module receives a :class:`Settings` built once (``Settings.from_env()`` in the CLI,
``Settings(data_dir=tmp_path)`` in tests).
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from urllib.parse import parse_qs, urlparse
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
    # Where citizens reach the app (links in e-mails); default http://host:port.
    base_url: str = ""
    max_principal_mb: int = 20
    max_anexo_mb: int = 10
    max_anexos: int = 5
    # Outgoing mail: with no host, each message is written to MPV_DATA_DIR/outbox/ instead.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    smtp_from: str = "Mesa de Partes Virtual <mesadepartes@localhost>"
    smtp_conexiones: int = 4  # connections (senders) each process drains the queue with at once
    # Requests a minute per client address on the public routes (429 past them).
    limite_presentaciones: int = 60
    limite_consultas: int = 120
    limite_ingresos: int = 30
    # waitress: the address of a reverse proxy whose X-Forwarded-* headers are trusted ("" = none).
    trusted_proxy: str = ""
    # Certificates (PEM or DER files, or folders of them) a digital signature's chain must reach to be trusted:
    # the IOFE roots the entity installs (mpv.firmas).
    trust_roots: tuple[Path, ...] = ()
    # The entity's seal (mpv.sello): a PKCS#12 and its passphrase; without it, the demo seal of ``mpv demo``.
    sello_p12: Path | None = None
    sello_clave: str = dataclasses.field(default="", repr=False)  # never in a log line of the settings
    # An RFC 3161 time-stamping authority whose timestamp joins every signature MPV makes ("" = none).
    tsa_url: str = ""
    # Development: re-read a template whose file changed (a stat per render); off, templates load once.
    recargar_plantillas: bool = False

    def __post_init__(self):
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        object.__setattr__(self, "workflows_dir", Path(self.workflows_dir))
        object.__setattr__(self, "trust_roots", tuple(Path(p) for p in self.trust_roots))
        if self.sello_p12 is not None:
            object.__setattr__(self, "sello_p12", Path(self.sello_p12))
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.data_dir / 'mpv.sqlite3'}")
        if not self.base_url:
            object.__setattr__(self, "base_url", f"http://{self.host}:{self.port}")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
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
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def plaintext_connections(self) -> list[str]:
        """The connections to another host that these settings leave unencrypted (ASVS V12.3.1), in Spanish."""
        problems = []
        url = urlparse(self.database_url)
        sslmode = (parse_qs(url.query).get("sslmode") or [""])[-1]
        if not self.is_sqlite and not _local(url.hostname) and sslmode not in ("require", "verify-ca", "verify-full"):
            problems.append(f"la base de datos en {url.hostname} se usa sin TLS: agregue ?sslmode=verify-full a "
                            "MPV_DATABASE_URL")
        if self.smtp_host and not _local(self.smtp_host) and not self.smtp_starttls:
            problems.append(f"el correo a {self.smtp_host} se envía sin cifrar: quite MPV_SMTP_STARTTLS=false")
        return problems

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
            "MPV_BASE_URL": "base_url",
            "MPV_SMTP_HOST": "smtp_host",
            "MPV_SMTP_USER": "smtp_user",
            "MPV_SMTP_PASSWORD": "smtp_password",
            "MPV_SMTP_FROM": "smtp_from",
            "MPV_TRUSTED_PROXY": "trusted_proxy",
            "MPV_SELLO_P12": "sello_p12",
            "MPV_SELLO_CLAVE": "sello_clave",
            "MPV_TSA_URL": "tsa_url",
        }
        for name, field in text.items():
            if env.get(name):
                kwargs[field] = env[name]
        if env.get("MPV_PORT"):
            kwargs["port"] = _integer(env, "MPV_PORT", 1, 65535)
        if env.get("MPV_TIMER_INTERVAL"):
            kwargs["timer_interval"] = float(_integer(env, "MPV_TIMER_INTERVAL", 1, 3600))
        numbers = {"MPV_SMTP_PORT": ("smtp_port", 1, 65535), "MPV_SMTP_CONEXIONES": ("smtp_conexiones", 1, 32),
                   "MPV_MAX_PRINCIPAL_MB": ("max_principal_mb", 1, 500),
                   "MPV_MAX_ANEXO_MB": ("max_anexo_mb", 1, 500), "MPV_MAX_ANEXOS": ("max_anexos", 0, 50),
                   "MPV_LIMITE_PRESENTACIONES": ("limite_presentaciones", 1, 100000),
                   "MPV_LIMITE_CONSULTAS": ("limite_consultas", 1, 100000),
                   "MPV_LIMITE_INGRESOS": ("limite_ingresos", 1, 100000)}
        for name, (field, low, high) in numbers.items():
            if env.get(name):
                kwargs[field] = _integer(env, name, low, high)
        if env.get("MPV_TRUST_ROOTS"):
            kwargs["trust_roots"] = tuple(Path(p) for p in env["MPV_TRUST_ROOTS"].split(os.pathsep) if p.strip())
        if env.get("MPV_SELLO_P12") and not env.get("MPV_SELLO_CLAVE"):
            raise SettingsError("MPV_SELLO_CLAVE: falta la contraseña del certificado de MPV_SELLO_P12")
        if env.get("MPV_SELLO_CLAVE") and not env.get("MPV_SELLO_P12"):
            raise SettingsError("MPV_SELLO_P12: falta el certificado (archivo PKCS#12) cuya contraseña es "
                                "MPV_SELLO_CLAVE")
        if env.get("MPV_TSA_URL") and urlparse(env["MPV_TSA_URL"]).scheme not in ("http", "https"):
            raise SettingsError("MPV_TSA_URL debe ser una dirección http:// o https:// de una autoridad de sellado "
                                "de tiempo (RFC 3161)")
        for name, field in (("MPV_SMTP_STARTTLS", "smtp_starttls"), ("MPV_RECARGAR_PLANTILLAS", "recargar_plantillas")):
            if env.get(name):
                value = env[name].strip().lower()
                if value not in ("true", "false", "1", "0", "si", "no"):
                    raise SettingsError(f"{name} debe ser true o false")
                kwargs[field] = value in ("true", "1", "si")
        return cls(**kwargs)


def _integer(env, name, low, high) -> int:
    try:
        value = int(env[name])
    except ValueError:
        raise SettingsError(f"{name} debe ser un número entero, no {env[name]!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} debe estar entre {low} y {high}")
    return value


def _local(host: str | None) -> bool:
    """A connection that never leaves this machine: loopback, or a Unix socket (no host, or a path)."""
    return not host or host.startswith("/") or host in ("localhost", "127.0.0.1", "::1") or host.startswith("127.")
