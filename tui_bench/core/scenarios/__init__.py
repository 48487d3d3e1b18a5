"""The scenario catalog: named, runnable benchmarks with their data and success thresholds.

A scenario is an entry of an index file (TOML or JSON, a list ``scenarios``):

- ``id`` (lower-case, unique), ``description``, optional ``name``;
- ``stages``: the pipeline stages it runs, in order, from ``retrieve``, ``classify``,
  ``generate``;
- ``folder``: where its data lives, relative to the index file (default: the id);
- ``data``: file paths relative to that folder: ``documents`` (the retrieve stage's
  collection), ``questions`` (the tasks, with labels, relevance judgements and what a
  good answer holds) and ``train`` (a CSV with ``text`` and ``label`` columns that
  ``tui-bench classify`` trains the classify stage's model on);
- ``labels``: the classify stage's label set;
- ``thresholds``: metric -> minimum from 0 to 1: ``success_rate``, ``ndcg@K``,
  ``recall@K``, ``mrr`` (retrieve), ``accuracy``, ``macro_f1`` (classify), ``quality``
  (generate); a threshold on a stage the scenario does not run is an error;
- ``tasks_total``: how many questions it holds;
- ``ranking``: temporal nDCG parameters (``now``, ``T_days``, ``lam``; :mod:`..ranking`).

The package ships ``tui_bench/scenarios/index.toml``; ``$TUI_BENCH_SCENARIOS`` names a
user's index, whose scenarios add to the shipped ones and replace those of the same id.
"""

from __future__ import annotations

from tui_bench.core.scenarios.index import (
    SCENARIOS_ENV,
    SHIPPED,
    SHIPPED_INDEX,
    STAGES,
    RankingParams,
    Scenario,
    find_scenario,
    load_catalog,
    load_index,
    user_index_path,
)
from tui_bench.core.scenarios.rag_data import (
    Document,
    Question,
    RagData,
    load_documents,
    load_questions,
    load_rag_data,
)

__all__ = [
    "SCENARIOS_ENV",
    "SHIPPED",
    "SHIPPED_INDEX",
    "STAGES",
    "Document",
    "Question",
    "RagData",
    "RankingParams",
    "Scenario",
    "find_scenario",
    "load_catalog",
    "load_documents",
    "load_index",
    "load_questions",
    "load_rag_data",
    "user_index_path",
]
