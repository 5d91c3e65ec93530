"""Geometry for the console's SVG charts, computed here and drawn by a template.

No chart library and no CDN: the server computes rectangles and ticks, the template
writes ``<rect>``/``<text>`` elements (with labels escaped like any other text), and the
page works with scripts disabled. Every chart has its data table and CSV beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: float
    title: str  # tooltip text


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class ColumnChart:
    """Vertical bars over time; an optional second series drawn inside each bar."""

    width: int
    height: int
    bars: list[Bar]
    inner: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    plot_left: int
    plot_bottom: int
    empty: bool


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars for rankings (top intents, departments …)."""

    width: int
    height: int
    bars: list[Bar]
    label_width: int
    empty: bool


def nice_max(value: float) -> float:
    """A round axis maximum ≥ value: 1, 2, 5 × 10^n."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value:
            return float(candidate)
    return float(10 ** (exponent + 1))


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def column_chart(
    series: Sequence[tuple[date, int, int]],
    *,
    width: int = 720,
    height: int = 240,
    main_label: str = "会话",
    inner_label: str = "转人工",
) -> ColumnChart:
    left, right, top, bottom = 44, 10, 10, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = nice_max(max((v for _, v, _ in series), default=0))
    slot = plot_w / max(len(series), 1)
    bar_w = max(1.0, slot * 0.7)
    bars: list[Bar] = []
    inner: list[Bar] = []
    for index, (day, value, part) in enumerate(series):
        x = left + index * slot + (slot - bar_w) / 2
        h = plot_h * value / top_value
        label = day.strftime("%m-%d")
        bars.append(
            Bar(
                x,
                top + plot_h - h,
                bar_w,
                h,
                label,
                value,
                f"{day.isoformat()} {main_label} {value}",
            )
        )
        ih = plot_h * part / top_value
        inner.append(
            Bar(
                x,
                top + plot_h - ih,
                bar_w,
                ih,
                label,
                part,
                f"{day.isoformat()} {inner_label} {part}",
            )
        )
    steps = 4 if f"{top_value:g}".startswith("2") else 5  # 0-20 by 5, 0-50 by 10
    y_ticks = [
        Tick(top + plot_h - plot_h * i / steps, _fmt(top_value * i / steps))
        for i in range(steps + 1)
    ]
    every = max(1, math.ceil(len(series) / 8))
    x_ticks = [Tick(b.x + b.width / 2, b.label) for i, b in enumerate(bars) if i % every == 0]
    return ColumnChart(
        width,
        height,
        bars,
        inner,
        y_ticks,
        x_ticks,
        left,
        top + plot_h,
        empty=not any(v for _, v, _ in series),
    )


def bar_chart(
    items: Sequence[tuple[str, float]], *, width: int = 480, row: int = 24, label_width: int = 160
) -> BarChart:
    top_value = nice_max(max((v for _, v in items), default=0))
    plot_w = width - label_width - 50
    bars = [
        Bar(
            label_width,
            index * row + 4,
            max(1.0, plot_w * value / top_value) if value else 0.0,
            row - 8,
            label if len(label) <= 14 else label[:13] + "…",
            value,
            f"{label}：{_fmt(value)}",
        )
        for index, (label, value) in enumerate(items)
    ]
    return BarChart(width, max(row, row * len(items)), bars, label_width, empty=not items)
