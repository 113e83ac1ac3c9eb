from __future__ import annotations

import struct
import sys

import pytest

from bot import charts
from bot.charts import DPI, SIZE_INCHES, ChartsUnavailableError, questions_chart
from bot.stats import Day

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which follows the signature."""
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_chart_is_a_png_of_the_configured_size() -> None:
    pytest.importorskip("matplotlib")
    days = [Day(f"2025-06-{n:02d}", n, n % 3, n % 2) for n in range(1, 31)]
    data = questions_chart(days)
    assert png_size(data) == (int(SIZE_INCHES[0] * DPI), int(SIZE_INCHES[1] * DPI))
    # An empty window still draws (axes only) rather than failing.
    assert png_size(questions_chart([Day("2025-06-01")])) == png_size(data)


def test_chart_without_matplotlib_says_it_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    charts._drawn.cache_clear()  # no chart drawn before may answer for it
    with pytest.raises(ChartsUnavailableError, match="charts unavailable"):
        questions_chart([Day("2025-06-01", 1)])


def test_the_same_figures_are_drawn_once() -> None:
    pytest.importorskip("matplotlib")
    days = [Day("2025-07-01", 3, 1, 2), Day("2025-07-02", 5)]
    first = questions_chart(days)
    hits = charts._drawn.cache_info().hits
    assert questions_chart(tuple(days)) == first  # /stats again with nothing changed
    assert charts._drawn.cache_info().hits == hits + 1
    assert questions_chart([*days, Day("2025-07-03", 1)]) != first
