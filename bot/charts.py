"""The statistics chart: questions per day, stacked by outcome, as PNG bytes.

matplotlib is an optional extra (`pip install -e '.[charts]'`), imported only when a chart
is drawn; without it `questions_chart` raises ChartsUnavailableError and callers send the
text figures alone. The Agg canvas is used directly, not pyplot, so drawing keeps no global
state and works in any thread with no display.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from bot.stats import OUTCOME_NAMES, Day

# Green, amber, red: the reading order of "good, so-so, gap" needs no legend lookup.
COLOURS = {"answered": "#2e7d32", "suggested": "#f9a825", "unanswered": "#c62828"}
SIZE_INCHES = (10.0, 4.5)
DPI = 100


class ChartsUnavailableError(RuntimeError):
    """matplotlib is not installed; send the figures as text instead."""


def questions_chart(days: Sequence[Day], title: str = "Questions per day") -> bytes:
    """A PNG of questions per UTC day over the window, stacked by outcome."""
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
    for name in OUTCOME_NAMES:
        heights = [getattr(day, name) for day in days]
        axes.bar(positions, heights, bottom=bottom, color=COLOURS[name], label=name, width=0.8)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    axes.set_title(f"{title} ({days[0].date} to {days[-1].date}, UTC)" if days else title)
    axes.set_ylabel("questions")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    # Headroom above the tallest bar keeps the legend off the bars.
    axes.set_ylim(0, max([*bottom, 1]) * 1.18)
    # At most ~12 date labels, so a 90-day window stays readable.
    step = max(1, -(-len(days) // 12))
    axes.set_xticks(list(positions)[::step], [day.date[5:] for day in days][::step])
    axes.set_xlim(-0.6, len(days) - 0.4)
    axes.legend(loc="upper left", frameon=False, ncols=3)
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", alpha=0.3)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
