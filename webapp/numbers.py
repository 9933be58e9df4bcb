"""Numbers and money in the reader's locale (Babel's CLDR data), as Jinja filters.

The map formats with the browser's ``Intl.NumberFormat`` in the page's language, which follows
the same CLDR patterns, so a page and the map write 72.500.000 ₫ (vi) or ₫72,500,000 (en) alike.
"""

from __future__ import annotations

from decimal import Decimal

from flask import Flask
from flask_babel import format_currency, format_decimal

Number = int | float | Decimal | None


def number(value: Number, digits: int = 0) -> str:
    """``value`` with the locale's grouping and decimal signs and exactly ``digits`` decimals; '–' for none."""
    if value is None:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern)


def money(value: Number) -> str:
    """An amount of VND in the locale's currency format, e.g. 72.500.000 ₫; '–' for none."""
    if value is None:
        return "–"
    return format_currency(round(value), "VND", format_type="standard")


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(number=number, money=money)
