"""Small server-drawn SVG charts (no script needed, fine under the content security policy)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EventStudyChart:
    width: int
    height: int
    points: list[dict[str, float]]  # x, y, y_low, y_high, event_time, att
    zero_y: float
    ticks: list[dict[str, Any]]


def event_study_chart(event_study: list[dict[str, Any]], width: int = 420, height: int = 220) -> EventStudyChart | None:
    """Effect by periods since joining, with 95 % intervals (1.96 × se)."""
    rows = [e for e in event_study if e.get("att") is not None and e.get("se") is not None]
    if not rows:
        return None
    pad_l, pad_r, pad_t, pad_b = 56, 12, 12, 28
    lows = [e["att"] - 1.96 * e["se"] for e in rows] + [0.0]
    highs = [e["att"] + 1.96 * e["se"] for e in rows] + [0.0]
    lo, hi = min(lows), max(highs)
    span = (hi - lo) or 1.0
    times = [e["event_time"] for e in rows]
    t0, t1 = min(times), max(times)
    tspan = (t1 - t0) or 1

    def x(t: float) -> float:
        return pad_l + (t - t0) / tspan * (width - pad_l - pad_r)

    def y(v: float) -> float:
        return pad_t + (hi - v) / span * (height - pad_t - pad_b)

    points = [
        {
            "x": x(e["event_time"]),
            "y": y(e["att"]),
            "y_low": y(e["att"] - 1.96 * e["se"]),
            "y_high": y(e["att"] + 1.96 * e["se"]),
            "event_time": e["event_time"],
            "att": e["att"],
        }
        for e in rows
    ]
    ticks = [{"y": y(v), "label": f"{v / 1000:,.0f}k"} for v in (lo, (lo + hi) / 2, hi)]
    return EventStudyChart(width, height, points, y(0.0), ticks)
