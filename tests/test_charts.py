from __future__ import annotations

import struct
import sys

import pytest

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
    with pytest.raises(ChartsUnavailableError, match="charts unavailable"):
        questions_chart([Day("2025-06-01", 1)])
