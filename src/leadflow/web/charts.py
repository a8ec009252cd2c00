"""Charts drawn on the server as inline SVG: no JavaScript library, nothing to load.

``daily_bars`` turns (day, visitors, leads) rows into the geometry a template draws: two
bars per day on a shared scale with round tick values, and a few date labels along the
bottom. Everything here is numbers and dates; the template escapes it like any text.
"""

import datetime as dt
import math
from dataclasses import dataclass, field

WIDTH = 960
HEIGHT = 260
LEFT = 44  # room for the tick labels
RIGHT = 8
TOP = 12
BOTTOM = 28  # room for the date labels
MAX_DATE_LABELS = 8


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float


@dataclass
class ChartDay:
    day: dt.date
    visitors: int
    leads: int
    visitors_bar: Bar
    leads_bar: Bar


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class DateLabel:
    x: float
    day: dt.date


@dataclass
class BarChart:
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    baseline: float = HEIGHT - BOTTOM
    days: list[ChartDay] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    labels: list[DateLabel] = field(default_factory=list)
    total_visitors: int = 0
    total_leads: int = 0

    @property
    def label_y(self) -> float:
        return self.baseline + 18

    @property
    def busiest(self) -> ChartDay | None:
        """The day with the most visitors (the earliest such day), for the description."""
        return max(self.days, key=lambda d: (d.visitors, -d.day.toordinal()), default=None)


def nice_ceiling(value: int) -> int:
    """A round top for the scale: the smallest 1, 2 or 5 times a power of ten that is at
    least ``value`` (and at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def daily_bars(rows: list[tuple[dt.date, int, int]]) -> BarChart:
    """Visitors and leads per day as side-by-side bars on one scale."""
    chart = BarChart()
    plot_height = chart.baseline - TOP
    top = nice_ceiling(max((max(v, n) for _, v, n in rows), default=0))
    chart.ticks = [
        Tick(y=round(chart.baseline - plot_height * fraction, 1), value=round(top * fraction))
        for fraction in (0, 0.25, 0.5, 0.75, 1)
        if top * fraction == int(top * fraction)
    ]
    if not rows:
        return chart
    slot = (chart.right_edge - chart.left) / len(rows)
    gap = slot * 0.2 if slot >= 4 else 0
    bar_width = max((slot - gap) / 2, 0.5)

    def bar(x: float, value: int) -> Bar:
        height = plot_height * value / top
        return Bar(
            x=round(x, 2),
            y=round(chart.baseline - height, 2),
            width=round(bar_width, 2),
            height=round(height, 2),
        )

    for index, (day, visitors, leads) in enumerate(rows):
        x = chart.left + index * slot + gap / 2
        chart.days.append(
            ChartDay(day, visitors, leads, bar(x, visitors), bar(x + bar_width, leads))
        )
        chart.total_visitors += visitors
        chart.total_leads += leads
    every = math.ceil(len(rows) / MAX_DATE_LABELS)
    chart.labels = [
        DateLabel(x=round(chart.left + (index + 0.5) * slot, 2), day=day)
        for index, (day, _, _) in enumerate(rows)
        if index % every == 0
    ]
    return chart


@dataclass
class ChartCategory:
    label: str
    first: float
    second: float
    first_bar: Bar
    second_bar: Bar
    label_x: float


@dataclass
class CategoryChart:
    """Two bars per category (for example unweighted and weighted amounts per month) on
    one scale, with the same ticks as ``daily_bars``."""

    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    baseline: float = HEIGHT - BOTTOM
    categories: list[ChartCategory] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)

    @property
    def label_y(self) -> float:
        return self.baseline + 18


def category_bars(rows: list[tuple[str, float, float]]) -> CategoryChart:
    """(label, first, second) rows as side-by-side bars on one scale, in the given order."""
    chart = CategoryChart()
    plot_height = chart.baseline - TOP
    top = nice_ceiling(math.ceil(max((max(a, b) for _, a, b in rows), default=0)))
    chart.ticks = [
        Tick(y=round(chart.baseline - plot_height * fraction, 1), value=round(top * fraction))
        for fraction in (0, 0.25, 0.5, 0.75, 1)
        if top * fraction == int(top * fraction)
    ]
    if not rows:
        return chart
    slot = (chart.right_edge - chart.left) / len(rows)
    gap = slot * 0.3
    bar_width = min((slot - gap) / 2, 60)

    def bar(x: float, value: float) -> Bar:
        height = plot_height * float(value) / top
        return Bar(
            round(x, 2), round(chart.baseline - height, 2), round(bar_width, 2), round(height, 2)
        )

    for index, (label, first, second) in enumerate(rows):
        middle = chart.left + (index + 0.5) * slot
        x = middle - bar_width
        chart.categories.append(
            ChartCategory(
                label,
                float(first),
                float(second),
                bar(x, first),
                bar(x + bar_width, second),
                round(middle, 2),
            )
        )
    return chart
