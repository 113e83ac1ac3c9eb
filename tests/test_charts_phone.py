"""The stats chart on a phone: one or two columns of Telegram, about 360 px wide."""

from __future__ import annotations

import struct
from datetime import date, timedelta

import pytest

from bot.charts import (
    MAX_X_TICKS,
    MAX_Y_TICKS,
    date_ticks,
    questions_chart,
    questions_figure,
    short_date,
)
from bot.stats import Day

PHONE_WIDTH_PX = 360
MIN_TEXT_PX = 12  # a text's height in pixels once the chart is shown PHONE_WIDTH_PX wide


def window(count: int) -> list[Day]:
    first = date(2025, 12, 31) - timedelta(days=count - 1)
    return [
        Day((first + timedelta(days=n)).isoformat(), n % 7, n % 3, (n * 5) % 4)
        for n in range(count)
    ]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_png_is_sharp_on_a_phone_and_not_scaled_down_by_telegram() -> None:
    pytest.importorskip("matplotlib")
    width, height = png_size(questions_chart(window(30)))
    # At least twice the phone's width (a 2-3x screen), at most Telegram's 1280 px side.
    assert 2 * PHONE_WIDTH_PX <= width <= 1280 and height <= 1280
    assert 0.6 <= height / width <= 0.9  # landscape, as a chat column shows it


@pytest.mark.parametrize("count", [1, 2, 6, 7, 13, 30, 31, 90, 365])
def test_ticks_are_few_and_the_last_day_is_labelled(count: int) -> None:
    pytest.importorskip("matplotlib")
    days = window(count)
    figure = questions_figure(days)
    figure.draw_without_rendering()  # the layout and the ticks, with no pixels to fill
    (axes,) = figure.axes
    x_labels = [t.get_text() for t in axes.get_xticklabels()]
    assert 1 <= len(x_labels) <= MAX_X_TICKS
    assert x_labels[-1] == short_date(days[-1].date) == "Dec 31"
    assert all(len(label) <= 6 for label in x_labels)
    low, high = axes.get_ylim()
    y_ticks = [y for y in axes.get_yticks() if low <= y <= high]
    assert 2 <= len(y_ticks) <= MAX_Y_TICKS
    assert all(float(y).is_integer() for y in y_ticks)


def test_every_text_is_readable_at_phone_width() -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.text import Text

    figure = questions_figure(window(30))
    figure.draw_without_rendering()  # the layout and the ticks, with no pixels to fill
    width_inches = figure.get_size_inches()[0]
    texts = [
        t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()
    ]  # the title, the dates, the tick labels, the legend
    assert len(texts) >= 8
    for text in texts:
        # Points are 1/72 inch; shown PHONE_WIDTH_PX wide, an inch is that over the width.
        pixels = text.get_fontsize() / 72 * PHONE_WIDTH_PX / width_inches
        assert pixels >= MIN_TEXT_PX, (text.get_text(), pixels)


def test_date_ticks_are_bounded_and_end_today() -> None:
    assert date_ticks(0) == []
    for count in range(1, 3651):  # up to /stats's longest window
        ticks = date_ticks(count)
        assert min(count, MAX_X_TICKS // 2) <= len(ticks) <= MAX_X_TICKS, count
        assert ticks == sorted(set(ticks)) and ticks[0] >= 0 and ticks[-1] == count - 1


def test_short_dates() -> None:
    assert short_date("2025-06-07") == "Jun 7"
    assert short_date("2026-12-31") == "Dec 31"
