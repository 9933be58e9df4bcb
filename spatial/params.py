"""Checks shared by every way a value comes in (HTTP parameters, JSON bodies, files).

PostgreSQL refuses a NUL in text and an integer past its column's range; both used to
surface as server errors. Values are checked here first, so the refusal names the
parameter and says why.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from spatial import ParameterError

#: ids are PostgreSQL ``integer`` columns
MAX_ID = 2**31 - 1
#: C0 controls and DEL, except tab, line feed and carriage return (text people type keeps those)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_character(value: str) -> str | None:
    """The first control character in ``value`` as ``U+0000``, or None."""
    found = _CONTROL.search(value)
    return f"U+{ord(found.group()):04X}" if found else None


def check_text(name: str, value: str) -> None:
    """Refuse text that no column can hold or no person typed."""
    bad = control_character(value)
    if bad is not None:
        raise ParameterError(name, f"contains the control character {bad}")


def check_id(name: str, value: int) -> None:
    if not 0 <= value <= MAX_ID:
        raise ParameterError(name, f"{value} is outside 0..{MAX_ID}")


def whole_number(raw: str | None, name: str, default: int, lo: int, hi: int) -> int:
    """An integer parameter within lo..hi (the default when absent or empty)."""
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ParameterError(name, f"{raw[:40]!r} is not a whole number") from None
    if not lo <= value <= hi:
        raise ParameterError(name, f"{raw[:40]} is outside {lo}..{hi}")
    return value


def one_of(raw: str | None, name: str, allowed: tuple[str, ...] | list[str], default: str | None = None) -> str | None:
    """An enumerated parameter: one of ``allowed``, or ``default`` when absent or empty."""
    if raw is None or raw == "":
        return default
    if raw not in allowed:
        raise ParameterError(name, f"unknown {name} {raw[:40]!r}", list(allowed))
    return raw


def text_in(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string inside a JSON value, with its dotted path (``answers.notes``, ``photos.0``)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            key_path = f"{path}.{key}" if path else str(key)
            yield key_path, str(key)
            yield from text_in(item, key_path)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from text_in(item, f"{path}.{i}" if path else str(i))


def first_control_character(value: Any) -> tuple[str, str] | None:
    """(path, U+XXXX) of the first control character anywhere in a JSON value, or None."""
    for path, text in text_in(value):
        bad = control_character(text)
        if bad is not None:
            return path, bad
    return None


def whole_value(value: Any) -> int | None:
    """A whole number: 1500000, 1500000.0, '1500000', '1.500.000' or '1,500,000'; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value == int(value) else None
    if isinstance(value, str):
        s = value.strip().replace(" ", "")
        if re.fullmatch(r"-?\d+", s):
            return int(s)
        if re.fullmatch(r"-?\d{1,3}(\.\d{3})+", s) or re.fullmatch(r"-?\d{1,3}(,\d{3})+", s):
            return int(s.replace(".", "").replace(",", ""))
    return None


def number_value(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) and value.strip():
        try:
            v = float(value.strip().replace(",", "."))
        except ValueError:
            return None
        return v if math.isfinite(v) else None
    return None
