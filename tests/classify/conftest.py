"""Fixtures for the classifier tests: small generated datasets with known class counts."""

from __future__ import annotations

from pathlib import Path

import pytest
from classify_helpers import annotated_rows, write_csv


@pytest.fixture
def profiled_csv(tmp_path: Path) -> Path:
    """Three categories with known profiles over 120 rows.

    - sentiment (binary): pos 60 / neg 60 → ratio 1.0, balanced
    - topic (3 classes): a 60 / b 36 / c 24 → ratio 2.5, moderate
    - spam (binary): ham 100 / spam 20 → ratio 5.0, imbalanced
    """
    rows = annotated_rows(
        {
            "sentiment": {"pos": 60, "neg": 60},
            "topic": {"a": 60, "b": 36, "c": 24},
            "spam": {"ham": 100, "spam": 20},
        },
        n_rows=120,
    )
    return write_csv(tmp_path / "profiled.csv", rows)
