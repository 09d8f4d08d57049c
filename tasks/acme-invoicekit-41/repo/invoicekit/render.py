"""Human-readable rendering of money amounts and invoices."""

from .currencies import get_currency
from .money import Money


def format_money(m: Money, *, symbol: bool = True) -> str:
    """Format ``m`` for display, e.g. ``$1,234.50`` or ``-$3.00``.

    With ``symbol=False`` the ISO code is appended instead: ``1,234.50 USD``.
    """
    cur = get_currency(m.currency)
    units, cents = divmod(abs(m.minor), 100)
    body = f"{units:,}.{cents:02d}"
    sign = "-" if m.minor < 0 else ""
    if symbol:
        return f"{sign}{cur.symbol}{body}"
    return f"{sign}{body} {cur.code}"


def render_invoice(invoice) -> str:
    """Render an invoice as a plain-text table."""
    rows = []
    width = max([len(line.description) for line in invoice.lines] + [len("Description")])
    rows.append(f"{'Description'.ljust(width)}  {'Qty':>4}  {'Amount':>14}")
    for line in invoice.lines:
        rows.append(
            f"{line.description.ljust(width)}  {line.qty:>4}  {format_money(line.total):>14}"
        )
    rows.append("-" * (width + 22))
    rows.append(f"{'Subtotal'.ljust(width)}  {'':>4}  {format_money(invoice.subtotal):>14}")
    rows.append(f"{'Tax'.ljust(width)}  {'':>4}  {format_money(invoice.tax):>14}")
    rows.append(f"{'Total'.ljust(width)}  {'':>4}  {format_money(invoice.total):>14}")
    return "\n".join(rows)
