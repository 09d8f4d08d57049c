from decimal import Decimal

import pytest

from invoicekit import CurrencyMismatch, Money, UnknownCurrency


def test_from_decimal_simple():
    assert Money.from_decimal("12.50", "USD") == Money(1250, "USD")


def test_to_decimal():
    assert Money(1999, "USD").to_decimal() == Decimal("19.99")


def test_arithmetic():
    a = Money(1000, "EUR")
    b = Money(250, "EUR")
    assert a + b == Money(1250, "EUR")
    assert a - b == Money(750, "EUR")
    assert b * 3 == Money(750, "EUR")
    assert 3 * b == Money(750, "EUR")
    assert -b == Money(-250, "EUR")


def test_sum_of_money():
    items = [Money(100, "USD"), Money(200, "USD")]
    assert sum(items) == Money(300, "USD")


def test_currency_mismatch():
    with pytest.raises(CurrencyMismatch):
        Money(1, "USD") + Money(1, "EUR")


def test_unknown_currency():
    with pytest.raises(UnknownCurrency):
        Money(1, "XXX")


def test_minor_must_be_int():
    with pytest.raises(TypeError):
        Money(1.5, "USD")
