from __future__ import annotations

from pathlib import Path

import pytest

from bot.library import Library
from bot.parsing import load_folder

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_ID = "000_4859508c0bdee28a"


@pytest.fixture(scope="session")
def library() -> Library:
    """The bundled seed, indexed with the default thresholds."""
    return Library(load_folder(SEEDS).articles)
