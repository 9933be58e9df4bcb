"""JSON bodies with dates and times as ISO 8601 (Flask's encoder would write HTTP dates)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any


def iso(value: Any) -> Any:
    """``value`` with every date and datetime inside it turned into ISO 8601 text."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [iso(v) for v in value]
    return value
