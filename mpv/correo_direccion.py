"""What an e-mail address must be for MPV to write to it: one rule, applied by the filing and by the mailer.

The syntax is checked by ``email-validator`` (no DNS look-up: a filing never waits on the network).
Addresses with letters outside ASCII before the @ (``lucía@example.com``) are refused: Python's e-mail
package cannot put them in a header, and they need SMTPUTF8, which a municipality's relay may not offer,
so the citizen would never get the constancia. A domain in another script (``ana@münchen.de``) is fine:
it is sent in its ASCII form (punycode), which every server reads.
"""
from __future__ import annotations

import dataclasses

from email_validator import EmailNotValidError, validate_email


@dataclasses.dataclass(frozen=True)
class Direccion:
    """A valid address: ``normalizada`` as stored and shown, ``envio`` as the SMTP server gets it (ASCII)."""

    normalizada: str
    envio: str


class DireccionNoValida(ValueError):
    """An address MPV cannot write to. ``motivo`` says why, in Spanish; ``letras`` are the non-ASCII
    characters before the @ when that is the reason (empty otherwise)."""

    def __init__(self, motivo: str, letras: str = ""):
        super().__init__(motivo)
        self.motivo = motivo
        self.letras = letras


def direccion(texto: str) -> Direccion:
    """The address ``texto`` (without surrounding spaces), checked and normalised.

    :raise DireccionNoValida: not an address, or one with non-ASCII letters before the @.
    """
    texto = (texto or "").strip()
    local = texto.rpartition("@")[0]
    letras = "".join(dict.fromkeys(c for c in local if not c.isascii()))
    if letras:
        raise DireccionNoValida(f"lleva letras fuera del alfabeto básico antes de la @ («{letras}»)", letras)
    try:
        valid = validate_email(texto, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        raise DireccionNoValida("no tiene la forma nombre@dominio.pe") from None
    return Direccion(normalizada=valid.normalized, envio=valid.ascii_email or valid.normalized)
