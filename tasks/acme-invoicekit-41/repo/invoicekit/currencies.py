"""ISO 4217 currency metadata used across invoicekit."""

from dataclasses import dataclass


class UnknownCurrency(KeyError):
    """Raised for a currency code invoicekit does not know about."""


@dataclass(frozen=True)
class Currency:
    code: str
    exponent: int  # number of digits after the decimal point (minor units)
    symbol: str
    name: str


_CURRENCIES = {
    c.code: c
    for c in (
        Currency("USD", 2, "$", "US Dollar"),
        Currency("EUR", 2, "\u20ac", "Euro"),
        Currency("GBP", 2, "\u00a3", "Pound Sterling"),
        Currency("CHF", 2, "CHF ", "Swiss Franc"),
        Currency("JPY", 0, "\u00a5", "Yen"),
        Currency("KRW", 0, "\u20a9", "Won"),
        Currency("KWD", 3, "KD", "Kuwaiti Dinar"),
        Currency("BHD", 3, "BD", "Bahraini Dinar"),
    )
}


def get_currency(code: str) -> Currency:
    """Return the :class:`Currency` for an ISO code (case-insensitive)."""
    try:
        return _CURRENCIES[code.upper()]
    except KeyError:
        raise UnknownCurrency(code) from None


def known_codes():
    return sorted(_CURRENCIES)
