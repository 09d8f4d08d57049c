"""Invoice model: lines, subtotal, tax and total."""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import List

from .money import Money


@dataclass
class InvoiceLine:
    description: str
    qty: int
    unit_price: Money

    @property
    def total(self) -> Money:
        return self.unit_price * self.qty


@dataclass
class Invoice:
    currency: str
    tax_rate: Decimal = Decimal("0")
    lines: List[InvoiceLine] = field(default_factory=list)

    def __post_init__(self):
        self.tax_rate = Decimal(str(self.tax_rate))
        if self.tax_rate < 0:
            raise ValueError("tax_rate must not be negative")

    def add_line(self, description: str, qty: int, unit_price) -> InvoiceLine:
        """Add a line; ``unit_price`` may be a Money or a major-unit amount."""
        if not isinstance(unit_price, Money):
            unit_price = Money.from_decimal(unit_price, self.currency)
        if qty <= 0:
            raise ValueError("qty must be positive")
        line = InvoiceLine(description, qty, unit_price)
        self.lines.append(line)
        return line

    @property
    def subtotal(self) -> Money:
        return sum((line.total for line in self.lines), Money.zero(self.currency))

    @property
    def tax(self) -> Money:
        return Money.from_decimal(self.subtotal.to_decimal() * self.tax_rate, self.currency)

    @property
    def total(self) -> Money:
        return self.subtotal + self.tax

    def render(self) -> str:
        from .render import render_invoice

        return render_invoice(self)
