"""The domain of the digest bot: content, matching, answers and storage; no Telegram here."""

from __future__ import annotations

import os

# The matcher's similarity product is one small matrix-vector multiply per question: with
# its default of a thread per core, OpenBLAS spends more time waking threads that fight
# over two cores than multiplying (0.17 ms became 8 ms). Set before numpy is imported;
# an operator's own setting wins.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
