"""The batch page's throughput-over-time chart: items copied per minute, as SVG drawn by the
charting library pygal.

Server-side SVG (``/chart/throughput.svg?batch=NAME``), so nothing is fetched from anywhere
and no script draws it (pygal's own script, which only adds tooltips, is not linked): the
page shows it as an image and its live script reloads the image when the batch's passes
moved. The figures come from engine/service/passes.py's
:func:`~engine.service.passes.throughput` over the batch's recorded passes.

The window runs from the first recorded pass (at most :data:`MAX_WINDOW` back) to now while a
pass runs, else to the end of the last one; it is cut into :data:`STEPS` steps. pygal escapes
every text in the SVG (a batch name may be anything).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pygal
from pygal.style import Style

from engine.service.passes import rate_per_minute, throughput, window_step
from engine.store.passes import PassRow

STEPS = 60
MAX_WINDOW = timedelta(days=7)
MIN_WINDOW = timedelta(seconds=30)
WIDTH, HEIGHT = 720, 200
_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)
_STYLE = Style(background="white", plot_background="#fafafa", colors=("#1f6fbf",),
               font_family="sans-serif", opacity=".35", opacity_hover=".35")


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
    """The round number (1, 2, 5 x 10^n) at or above ``value``: the y axis' top."""
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
    """The chart as a standalone SVG document, drawn by pygal (no JavaScript: served as an
    image; pygal escapes every text, and a batch name may be anything)."""
    fmt = "%H:%M:%S" if drawn.end - drawn.start < timedelta(days=1) else "%m-%d %H:%M"
    top = _nice(drawn.peak)
    labels = [f"{drawn.start + drawn.step * i:{fmt}}Z" for i in range(len(drawn.rates))]
    line = pygal.Line(
        js=[], width=WIDTH, height=HEIGHT, explicit_size=True, disable_xml_declaration=True,
        fill=True, show_dots=False, show_legend=False, show_minor_x_labels=False,
        style=_STYLE, title=title, range=(0, top),
        x_title=f"{drawn.passes} passes, {drawn.running} running, {drawn.items} items",
        truncate_label=-1, print_values=False)
    line.y_labels = [0, top / 2, top]  # three guides, the top a round number
    line.x_labels = labels
    line.x_labels_major = [labels[0], labels[-1]] if labels else []
    line.add("items per minute", list(drawn.rates))
    rendered: str = line.render(is_unicode=True)
    # pygal's inline script only configures its tooltip script, which is not linked: drop it
    return _SCRIPT.sub("", rendered)
