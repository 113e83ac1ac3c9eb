"""The statistics chart: questions per day, stacked by outcome, as PNG bytes.

Drawn for a phone: an admin reads it in Telegram, one or two columns wide (about 360 px).
So the figure is small in inches and dense in pixels (4 x 3 in at 240 dpi: 960 x 720 px,
under Telegram's 1280 px, so it is not scaled down again), every text is large for that
size (10 pt or more: 12 px or more when shown 360 px wide), and there are few labels: at
most MAX_X_TICKS dates ("Jun 7"), the last one today, and at most MAX_Y_TICKS counts.

matplotlib is an optional extra (`pip install -e '.[charts]'`), imported only when a chart
is drawn; without it `questions_chart` raises ChartsUnavailableError and callers send the
text figures alone. The Agg canvas is used directly, not pyplot, so drawing keeps no global
state and works in any thread with no display.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from bot.stats import OUTCOME_NAMES, Day

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Green, amber, red: the reading order of "good, so-so, gap" needs no legend lookup.
COLOURS = {"answered": "#2e7d32", "suggested": "#f9a825", "unanswered": "#c62828"}
SIZE_INCHES = (4.0, 3.0)
DPI = 240
FONT_SIZE = 11.0  # points: tick labels and the window's dates (the legend's one less)
TITLE_SIZE = 14.0
MAX_X_TICKS = 6
MAX_Y_TICKS = 5
MAX_BARS = 62  # days drawn as separate bars; a longer window is drawn as filled steps
CACHED_CHARTS = 8  # PNGs of recent figures kept (~60 KB each)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class ChartsUnavailableError(RuntimeError):
    """matplotlib is not installed; send the figures as text instead."""


def questions_chart(days: Sequence[Day], title: str = "Questions per day") -> bytes:
    """A PNG of questions per UTC day over the window, stacked by outcome."""
    return _drawn(tuple(days), title)


@lru_cache(maxsize=CACHED_CHARTS)
def _drawn(days: tuple[Day, ...], title: str) -> bytes:
    """The chart's PNG, kept for the same figures: drawing takes ~0.2 s of CPU, and admins
    ask /stats again and again while nothing changed."""
    buffer = io.BytesIO()
    questions_figure(days, title).savefig(buffer, format="png")
    return buffer.getvalue()


def questions_figure(days: Sequence[Day], title: str = "Questions per day") -> Figure:
    """The chart as a matplotlib Figure on an Agg canvas (questions_chart saves it)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as error:
        raise ChartsUnavailableError(
            "charts unavailable: matplotlib is not installed (pip install -e '.[charts]')"
        ) from error
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = range(len(days))
    bottom = [0] * len(days)
    edges = [position - 0.5 for position in range(len(days) + 1)]
    for name in OUTCOME_NAMES:
        heights = [getattr(day, name) for day in days]
        top = [b + h for b, h in zip(bottom, heights, strict=True)]
        if len(days) <= MAX_BARS:
            axes.bar(positions, heights, bottom=bottom, color=COLOURS[name], label=name, width=0.8)
        else:  # one filled outline, not hundreds of 2 px bars (a year's took over a second)
            axes.stairs(top, edges, baseline=bottom, fill=True, color=COLOURS[name], label=name)
        bottom = top
    axes.set_title(title, fontsize=TITLE_SIZE, loc="left")
    if days:  # the window in full under the axis, the ticks only say "Jun 7"
        window = days[0].date if len(days) == 1 else f"{days[0].date} to {days[-1].date}"
        axes.set_xlabel(f"{window} (UTC)", fontsize=FONT_SIZE)
    axes.yaxis.set_major_locator(MaxNLocator(nbins=MAX_Y_TICKS - 1, integer=True))
    # Headroom above the tallest bar keeps the legend off the bars.
    axes.set_ylim(0, max([*bottom, 1]) * 1.3)
    ticks = date_ticks(len(days))
    axes.set_xticks(ticks, [short_date(days[i].date) for i in ticks])
    axes.set_xlim(-0.6, len(days) - 0.4)
    axes.tick_params(labelsize=FONT_SIZE, length=3)
    axes.legend(
        loc="upper left", frameon=False, ncols=3, fontsize=FONT_SIZE - 1,
        handlelength=0.8, handletextpad=0.3, columnspacing=0.8, borderaxespad=0.1,
    )  # fmt: skip
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", alpha=0.3)
    return figure


def date_ticks(count: int) -> list[int]:
    """The positions of at most MAX_X_TICKS evenly spaced days, the last day among them."""
    step = max(1, -(-count // MAX_X_TICKS))
    return list(range(count - 1, -1, -step))[::-1]


def short_date(date: str) -> str:
    """ "2025-06-07" -> "Jun 7": short enough for six of them across a phone."""
    _year, month, day = date.split("-")
    return f"{MONTHS[int(month) - 1]} {int(day)}"
