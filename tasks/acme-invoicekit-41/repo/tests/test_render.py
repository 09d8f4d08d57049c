from invoicekit import Money, format_money


def test_format_usd():
    assert format_money(Money(123450, "USD")) == "$1,234.50"


def test_format_negative():
    assert format_money(Money(-300, "GBP")) == "-\u00a33.00"


def test_format_without_symbol():
    assert format_money(Money(5, "EUR"), symbol=False) == "0.05 EUR"
