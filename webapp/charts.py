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


@dataclass(frozen=True)
class RateChart:
    width: int
    height: int
    #: one series per rate: key, points (x, y, year, value, estimated) and the polyline
    series: list[dict[str, Any]]
    ticks: list[dict[str, Any]]
    years: list[dict[str, Any]]


def rate_chart(
    rows: list[dict[str, Any]], keys: tuple[str, ...], width: int = 420, height: int = 200
) -> RateChart | None:
    """Rates (0..1) by year, one line per key; estimated years are drawn as open circles."""
    rows = [r for r in rows if any(r.get(k) is not None for k in keys)]
    if not rows:
        return None
    pad_l, pad_r, pad_t, pad_b = 44, 12, 10, 26
    hi = max(max((r[k] or 0.0) for k in keys) for r in rows) or 0.01
    hi = min(1.0, hi * 1.15)
    years = [r["year"] for r in rows]
    y0, y1 = min(years), max(years)

    def x(year: int) -> float:
        return pad_l + ((year - y0) / ((y1 - y0) or 1)) * (width - pad_l - pad_r)

    def y(v: float) -> float:
        return pad_t + (hi - v) / hi * (height - pad_t - pad_b)

    series = []
    for key in keys:
        pts = [
            {"x": x(r["year"]), "y": y(r[key]), "year": r["year"], "value": r[key], "estimated": r["estimated"]}
            for r in rows
            if r.get(key) is not None
        ]
        series.append({"key": key, "points": pts, "line": " ".join(f"{p['x']:.1f},{p['y']:.1f}" for p in pts)})
    ticks = [{"y": y(v), "label": f"{v * 100:.0f} %"} for v in (0.0, hi / 2, hi)]
    return RateChart(width, height, series, ticks, [{"x": x(yr), "label": yr} for yr in sorted(set(years))])
