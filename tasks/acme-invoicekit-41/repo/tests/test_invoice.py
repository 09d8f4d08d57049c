import pytest

from invoicekit import Invoice, Money


def test_invoice_totals():
    inv = Invoice(currency="USD", tax_rate="0.10")
    inv.add_line("Widget", qty=2, unit_price="10.00")
    inv.add_line("Gadget", qty=1, unit_price=Money(500, "USD"))
    assert inv.subtotal == Money(2500, "USD")
    assert inv.tax == Money(250, "USD")
    assert inv.total == Money(2750, "USD")


def test_empty_invoice():
    inv = Invoice(currency="EUR")
    assert inv.total == Money(0, "EUR")


def test_rejects_bad_qty():
    inv = Invoice(currency="USD")
    with pytest.raises(ValueError):
        inv.add_line("Nothing", qty=0, unit_price="1.00")


def test_render_contains_total():
    inv = Invoice(currency="USD", tax_rate="0")
    inv.add_line("Consulting", qty=3, unit_price="100.00")
    text = inv.render()
    assert "Consulting" in text
    assert "$300.00" in text.splitlines()[-1]
