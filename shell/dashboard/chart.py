"""The batch page's throughput-over-time chart: items copied per minute, drawn as SVG here.

Server-side SVG (``/chart/throughput.svg?batch=NAME``), so nothing is fetched from anywhere
and no script draws it: the page shows it as an image and its live script reloads the image
when the batch's passes moved. The figures come from engine/service/passes.py's
:func:`~engine.service.passes.throughput` over the batch's recorded passes.

The window runs from the first recorded pass (at most :data:`MAX_WINDOW` back) to now while a
pass runs, else to the end of the last one; it is cut into :data:`STEPS` steps. Every text in
the SVG is escaped (a batch name may be anything).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from engine.service.passes import rate_per_minute, throughput, window_step
from engine.store.passes import PassRow

STEPS = 60
MAX_WINDOW = timedelta(days=7)
MIN_WINDOW = timedelta(seconds=30)
WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 28, 12, 16, 28  # margins around the plot


@dataclass(frozen=True)
class Chart:
    """What the chart shows, in figures (the JSON carries it; the SVG draws it)."""

    start: datetime
    end: datetime
    step: timedelta
    rates: tuple[float, ...]  # items per minute, one per step
    passes: int
    running: int
    items: int  # copied by the passes in the window

    @property
    def peak(self) -> float:
        return max(self.rates, default=0.0)

    @property
    def version(self) -> str:
        """Changes whenever what is drawn changes (the page reloads the image then)."""
        return f"{self.passes}.{self.running}.{self.items}.{self.end:%H%M%S}"


def chart(passes: Sequence[PassRow], now: datetime) -> Chart:
    running = [p for p in passes if p.finished_at is None]
    ends = [p.finished_at for p in passes if p.finished_at is not None]
    end = now if running or not ends else max(ends)
    start = min((p.started_at for p in passes), default=end - MIN_WINDOW)
    start = max(start, end - MAX_WINDOW)
    if end - start < MIN_WINDOW:
        if running:  # now stays at the right edge
            start = end - MIN_WINDOW
        else:  # a short batch: its passes in the middle
            start -= (MIN_WINDOW - (end - start)) / 2
            end = start + MIN_WINDOW
    step = window_step(start, end, STEPS)
    steps = throughput(passes, start, end, step)
    return Chart(start, end, step, tuple(rate_per_minute(steps, step)), len(passes),
                 len(running), sum(p.items_copied for p in passes))


def summary(drawn: Chart) -> dict[str, object]:
    """The chart's figures for the page and its JSON."""
    peak = round(drawn.peak) if drawn.peak >= 10 else round(drawn.peak, 1)
    return {"passes": drawn.passes, "running": drawn.running, "items_copied": drawn.items,
            "peak_items_per_minute": peak, "version": drawn.version}


def _nice(value: float) -> float:
    """The round number (1, 2, 5 × 10^n) at or above ``value``: the y axis' top."""
    if value <= 0:
        return 1.0
    scale = 1.0
    while scale * 10 <= value:
        scale *= 10
    while scale > value:
        scale /= 10
    for factor in (1, 2, 5, 10):
        if factor * scale >= value:
            return factor * scale
    return 10 * scale


def svg(drawn: Chart, title: str) -> str:
    """The chart as a standalone SVG document."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice(drawn.peak)
    count = len(drawn.rates)

    def x(i: float) -> float:
        return LEFT + plot_w * i / count

    def y(rate: float) -> float:
        return TOP + plot_h * (1 - rate / top)

    points = [(x(i + 0.5), y(rate)) for i, rate in enumerate(drawn.rates)]
    line = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
    area = f"{x(0.5):.1f},{y(0):.1f} {line} {x(count - 0.5):.1f},{y(0):.1f}"
    label = f"{top:g} items/min"
    fmt = "%H:%M:%S" if drawn.end - drawn.start < timedelta(days=1) else "%m-%d %H:%M"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'font-family="sans-serif" font-size="11">'
        f"<title>{escape(title)}</title>"
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
        'stroke="#ccc"/>'
        f'<line x1="{LEFT}" y1="{y(top / 2):.1f}" x2="{WIDTH - RIGHT}" y2="{y(top / 2):.1f}" '
        'stroke="#eee"/>'
        f'<polygon class="area" points="{area}" fill="#cfe3f7"/>'
        f'<polyline class="rate" points="{line}" fill="none" stroke="#1f6fbf" '
        'stroke-width="2"/>'
        f'<text x="{LEFT + 4}" y="{TOP + 12}">{escape(label)}</text>'
        f'<text x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end">0</text>'
        f'<text x="{LEFT}" y="{HEIGHT - 8}">{drawn.start:{fmt}}Z</text>'
        f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 8}" text-anchor="end">'
        f"{drawn.end:{fmt}}Z</text>"
        f'<text x="{LEFT + plot_w / 2:.0f}" y="{HEIGHT - 8}" text-anchor="middle">'
        f"{drawn.passes} passes, {drawn.running} running, {drawn.items} items</text>"
        "</svg>"
    )
