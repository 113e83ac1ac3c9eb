from __future__ import annotations

from pathlib import Path

import pytest

from bot.library import Library
from bot.parsing import load_folder

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_ID = "000_4859508c0bdee28a"

# An article in the Markdown form, and one that ends in an empty section (rejected):
# what the upload tests send.
ROVER = """# Lunar rover program update
Source: Space Desk · 2025-06-02 09:30

## Core Viewpoint
The lunar rover program is on schedule after its battery redesign [1].

## Battery
- The redesigned solid-state battery keeps the rover running through the lunar night [2][3].

## Payload
- The rover carries a ground-penetrating radar to map water ice near the south pole [4].
""".encode()

BROKEN = b"# Draft\nSource: X \xc2\xb7 2025-01-01\n\n## Core Viewpoint\nA view [1].\n\n## Outlook\n"


@pytest.fixture(scope="session")
def library() -> Library:
    """The bundled seed, indexed with the default thresholds."""
    return Library(load_folder(SEEDS).articles)
