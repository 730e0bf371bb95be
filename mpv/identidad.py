"""Identity documents of Peruvian filers: DNI, carné de extranjería, pasaporte and RUC."""
from __future__ import annotations

import re

TIPOS = {
    "DNI": "DNI",
    "CE": "Carné de extranjería",
    "PASAPORTE": "Pasaporte",
    "RUC": "RUC",
}

RUC_PREFIXES = ("10", "15", "16", "17", "20")
_RUC_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def ruc_check_digit(first_ten: str) -> int:
    """SUNAT's modulo-11 check digit for the first ten digits of a RUC."""
    total = sum(int(d) * w for d, w in zip(first_ten, _RUC_WEIGHTS))
    digit = 11 - total % 11
    return {10: 0, 11: 1}.get(digit, digit)


def error_documento(tipo: str, numero: str) -> str | None:
    """What is wrong with an identity document number, in Spanish; None when it is valid."""
    numero = (numero or "").strip()
    if tipo not in TIPOS:
        return "Elija DNI, carné de extranjería, pasaporte o RUC."
    if not numero:
        return "Escriba el número de documento."
    if tipo == "DNI" and not re.fullmatch(r"\d{8}", numero):
        return "El DNI tiene 8 dígitos."
    if tipo == "RUC":
        if not re.fullmatch(r"\d{11}", numero):
            return "El RUC tiene 11 dígitos."
        if not numero.startswith(RUC_PREFIXES):
            return "El RUC debe empezar con 10, 15, 16, 17 o 20."
        if ruc_check_digit(numero[:10]) != int(numero[10]):
            return "El RUC no es válido: revise los dígitos (el dígito verificador no coincide)."
    if tipo == "CE" and not re.fullmatch(r"[A-Za-z0-9]{1,12}", numero):
        return "El carné de extranjería tiene hasta 12 letras o dígitos."
    if tipo == "PASAPORTE" and not re.fullmatch(r"[A-Za-z0-9]{5,15}", numero):
        return "El pasaporte tiene de 5 a 15 letras o dígitos."
    return None
