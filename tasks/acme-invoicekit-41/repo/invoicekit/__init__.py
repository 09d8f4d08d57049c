"""invoicekit: build and render simple invoices."""

from .currencies import Currency, UnknownCurrency, get_currency
from .invoice import Invoice, InvoiceLine
from .money import CurrencyMismatch, Money
from .render import format_money

__all__ = [
    "Currency",
    "CurrencyMismatch",
    "Invoice",
    "InvoiceLine",
    "Money",
    "UnknownCurrency",
    "format_money",
    "get_currency",
]

__version__ = "0.4.1"
