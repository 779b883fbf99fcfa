"""Small charts in the report: accuracy vs sparsity, with vs without normalization, loss curves.

A check that measures a curve puts a chart *spec* in its details (plain data,
made by `line_chart` or `bar_chart`, so it travels in grader.result/1 JSON like
any other detail); the report turns each spec into a *view*, numbers already
placed in the drawing's coordinates, and templates/report.html.j2 draws the
SVG.  No HTML or SVG is built in Python (STYLE.md: templates receive a view).

# Note [Charts]
Specs are small and bounded: at most MAX_POINTS points per series (a longer
curve, a loss per iteration, is thinned evenly, keeping its first and last
point) and MAX_SERIES series, so a chart costs a few KB of JSON whatever the
run.  A spec carries only what the student may see (their own measurements and
the reference's published targets); hidden checks' details never reach the
page (grader/scoring/plugin.py keeps them out of the report).  Each chart also has a
text alternative: its title plus a sentence per series, read out by screen
readers and printed when a browser shows no SVG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

MAX_POINTS = 60
MAX_SERIES = 4
WIDTH, HEIGHT = 360, 200
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 34  # margins for the axes' labels


def _thin(points: list[tuple[float, float]]) -> list[list[float]]:
    if len(points) <= MAX_POINTS:
        return [[float(x), float(y)] for x, y in points]
    step = (len(points) - 1) / (MAX_POINTS - 1)
    return [[float(points[round(i * step)][0]), float(points[round(i * step)][1])]
            for i in range(MAX_POINTS)]


def line_chart(title: str, x_label: str, y_label: str, series: dict[str, list[tuple[float, float]]],
               target: float | None = None, target_label: str = "") -> dict:
    """A spec for lines through (x, y) points, one per named series; Note [Charts]."""
    kept = {name: _thin([p for p in points if all(map(math.isfinite, p))])
            for name, points in list(series.items())[:MAX_SERIES]}
    return {"type": "line", "title": title, "x_label": x_label, "y_label": y_label,
            "series": [{"name": name, "points": points} for name, points in kept.items()],
            "target": target, "target_label": target_label}


def bar_chart(title: str, y_label: str, bars: dict[str, float], target: float | None = None,
              target_label: str = "") -> dict:
    """A spec for one bar per label (e.g. test accuracy per normalization); Note [Charts]."""
    return {"type": "bar", "title": title, "x_label": "", "y_label": y_label,
            "bars": [{"label": str(k), "value": float(v)} for k, v in bars.items()
                     if math.isfinite(v)],
            "target": target, "target_label": target_label}


@dataclass(frozen=True)
class Tick:
    at: float      # position along the axis, in drawing coordinates
    label: str


@dataclass(frozen=True)
class Line:
    name: str
    points: str    # the SVG polyline's "x,y x,y ..."
    dots: list[tuple[float, float]]
    description: str
    index: int     # which colour


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class ChartView:
    type: str
    title: str
    x_label: str
    y_label: str
    width: int = WIDTH
    height: int = HEIGHT
    plot: tuple[float, float, float, float] = (LEFT, TOP, WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    target_y: float | None = None
    target_label: str = ""
    description: str = ""


def _nice_range(low: float, high: float) -> tuple[float, float]:
    if high - low < 1e-12:
        pad = abs(high) * 0.1 or 1.0
        return low - pad, high + pad
    pad = (high - low) * 0.05
    return low - pad, high + pad


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = min((m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw), default=raw)
    first = math.ceil(low / step) * step
    return [round(first + i * step, 12) for i in range(count + 2) if first + i * step <= high + 1e-12]


def _label(value: float) -> str:
    return f"{value:.3g}"


def view(spec: dict) -> ChartView | None:
    """The drawing of one chart spec, or None for a spec this version cannot draw."""
    try:
        kind = spec["type"]
        left, top = LEFT, TOP
        plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
        target = spec.get("target")
        values = ([y for s in spec.get("series", []) for _, y in s["points"]] if kind == "line"
                  else [b["value"] for b in spec.get("bars", [])])
        if not values:
            return None
        y_low, y_high = _nice_range(min(values + ([target] if target is not None else [])),
                                    max(values + ([target] if target is not None else [])))
        if kind == "bar" and min(values) >= 0:
            y_low = 0.0  # bars stand on zero, so their heights compare

        def y_at(value: float) -> float:
            return round(top + plot_h * (1 - (value - y_low) / (y_high - y_low)), 2)

        y_ticks = [Tick(y_at(v), _label(v)) for v in _ticks(y_low, y_high)]
        common = dict(type=kind, title=str(spec.get("title", "")), x_label=str(spec.get("x_label", "")),
                      y_label=str(spec.get("y_label", "")), y_ticks=y_ticks,
                      target_y=y_at(target) if target is not None else None,
                      target_label=str(spec.get("target_label", "")))
        if kind == "bar":
            bars_in = spec["bars"]
            slot = plot_w / len(bars_in)
            bars = [Bar(b["label"], b["value"], round(left + slot * (i + 0.2), 2), y_at(b["value"]),
                        round(slot * 0.6, 2), round(y_at(y_low) - y_at(b["value"]), 2))
                    for i, b in enumerate(bars_in)]
            description = "; ".join(f"{b.label}: {_label(b.value)}" for b in bars)
            return ChartView(**common, bars=bars, description=description)
        xs = [x for s in spec["series"] for x, _ in s["points"]]
        x_low, x_high = _nice_range(min(xs), max(xs))

        def x_at(value: float) -> float:
            return round(left + plot_w * (value - x_low) / (x_high - x_low), 2)

        lines = []
        for index, series in enumerate(spec["series"]):
            dots = [(x_at(x), y_at(y)) for x, y in series["points"]]
            pairs = ", ".join(f"({_label(x)}, {_label(y)})" for x, y in series["points"][:12])
            more = " ..." if len(series["points"]) > 12 else ""
            lines.append(Line(str(series["name"]), " ".join(f"{x},{y}" for x, y in dots),
                              dots if len(dots) <= 20 else [], f"{series['name']}: {pairs}{more}",
                              index))
        return ChartView(**common, x_ticks=[Tick(x_at(v), _label(v)) for v in _ticks(x_low, x_high)],
                         lines=lines, description="; ".join(line.description for line in lines))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
