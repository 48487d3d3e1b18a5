"""Baseline vs candidate: two runs compared metric by metric, per model and task type.

- :mod:`.runs`: two runs of history as the app's compare screen shows them, and what
  differs between them besides the change (caveats);
- :mod:`.sources`: a run named by id, label or output folder, with its records;
- :mod:`.significance`: the tests, intervals and minimum detectable effects;
- :mod:`.gate`: every metric judged, the regression gate and its exit code;
- :mod:`.render`: compare.md, compare.json and the terminal table.
"""

from __future__ import annotations

from tui_bench.core.compare.runs import (
    COMPARED,
    ModelComparison,
    caveats,
    compare_records,
    compare_runs,
)

__all__ = ["COMPARED", "ModelComparison", "caveats", "compare_records", "compare_runs"]
