"""Every test module has a name of its own: the tests import by base name (no packages,
pytest's default import mode), and two modules of one name stop the whole collection."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_no_two_test_modules_share_a_name() -> None:
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert len(names) > 50  # the tests themselves, found
    assert [n for n, count in names.items() if count > 1] == []
