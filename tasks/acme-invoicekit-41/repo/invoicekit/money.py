"""Money values stored as integer minor units."""

from decimal import Decimal

from .currencies import get_currency


class CurrencyMismatch(ValueError):
    """Raised when combining amounts in different currencies."""


class Money:
    """An amount of money in a currency, stored as an integer of minor units.

    ``Money(1999, "USD")`` is 19.99 USD.
    """

    __slots__ = ("minor", "currency")

    def __init__(self, minor: int, currency: str):
        if not isinstance(minor, int) or isinstance(minor, bool):
            raise TypeError(f"minor units must be an int, got {type(minor).__name__}")
        self.minor = minor
        self.currency = get_currency(currency).code

    @classmethod
    def from_decimal(cls, amount, currency: str) -> "Money":
        """Build a Money from a major-unit amount such as ``"19.99"``."""
        get_currency(currency)
        return cls(int(float(amount) * 100), currency)

    @classmethod
    def zero(cls, currency: str) -> "Money":
        return cls(0, currency)

    def to_decimal(self) -> Decimal:
        """The amount in major units, e.g. ``Decimal("19.99")``."""
        return Decimal(self.minor) / 100

    def _check(self, other):
        if not isinstance(other, Money):
            return NotImplemented
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} != {other.currency}")
        return other

    def __add__(self, other):
        if self._check(other) is NotImplemented:
            return NotImplemented
        return Money(self.minor + other.minor, self.currency)

    def __radd__(self, other):
        # allows sum(list_of_money, start=...) and sum() starting at 0
        if other == 0:
            return self
        return self.__add__(other)

    def __sub__(self, other):
        if self._check(other) is NotImplemented:
            return NotImplemented
        return Money(self.minor - other.minor, self.currency)

    def __mul__(self, qty):
        if not isinstance(qty, int) or isinstance(qty, bool):
            return NotImplemented
        return Money(self.minor * qty, self.currency)

    __rmul__ = __mul__

    def __neg__(self):
        return Money(-self.minor, self.currency)

    def __eq__(self, other):
        if not isinstance(other, Money):
            return NotImplemented
        return (self.minor, self.currency) == (other.minor, other.currency)

    def __hash__(self):
        return hash((self.minor, self.currency))

    def __lt__(self, other):
        if self._check(other) is NotImplemented:
            return NotImplemented
        return self.minor < other.minor

    def __bool__(self):
        return self.minor != 0

    def __repr__(self):
        return f"Money({self.minor}, {self.currency!r})"
