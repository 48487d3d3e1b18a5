"""Key remapping: ``$TUI_BENCH_HOME/keymap.toml`` (binding id = "keys") and what is wrong in it.

Textual ignores a keymap entry whose id no binding has, so a typo would change nothing
without a word. :func:`read_keymap` keeps the entries that can apply and a one-line
problem for each one that cannot; :func:`unknown_ids` finds ids no binding of the app
has, with the nearest known id as a suggestion. The app shows both as notifications.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FILE_NAME = "keymap.toml"


@dataclass(frozen=True)
class KeymapFile:
    """A keymap as read: binding id → keys, and one line per entry that was left out."""

    path: Path | None
    keys: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def keymap_path() -> Path:
    from tui_bench.core import paths

    return paths.home() / FILE_NAME


def _flatten(table: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    # An unquoted dotted key (live.cancel = "x") is a nested table in TOML: it means the
    # id "live.cancel" all the same.
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flatten(value, name + ".")
        else:
            yield name, value


def read_keymap(path: Path | None = None) -> KeymapFile:
    """The keymap file (``$TUI_BENCH_HOME/keymap.toml`` by default); a missing one is empty.

    Never raises: an unreadable file, or an entry whose value is not a key string, is a
    problem line naming the file (and the id), and the rest still applies.
    """
    path = path or keymap_path()
    if not path.is_file():
        return KeymapFile(path)
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return KeymapFile(path, problems=[f"{path}: ignored ({reason})"])
    keys: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, value in _flatten(data):
        if isinstance(value, str) and value.strip():
            keys[binding_id] = value
        else:
            problems.append(
                f'{path}: {binding_id}: expected keys such as "x" or "ctrl+x,f5", '
                f"got {value!r}; ignored"
            )
    return KeymapFile(path, keys, problems)


def _binding_ids() -> set[str]:
    """The ids of the bindings of every screen, widget and app class imported so far."""
    from textual.binding import Binding
    from textual.dom import DOMNode

    ids: set[str] = set()
    todo: list[type] = [DOMNode]
    seen: set[type] = set()
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        todo.extend(cls.__subclasses__())
        for b in cls.__dict__.get("BINDINGS", ()):
            if isinstance(b, Binding) and b.id:
                ids.add(b.id)
    return ids


def _import_all_screens() -> None:
    # Some screens are imported on first use (the classifier's pull in scikit-learn);
    # they are imported here only when an id is not found among those already loaded.
    import tui_bench.tui as pkg

    for mod in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        importlib.import_module(mod.name)


def known_binding_ids() -> set[str]:
    """Every binding id of the app, its screens and widgets."""
    _import_all_screens()
    return _binding_ids()


def unknown_ids(
    keymap: Mapping[str, str], known: Iterable[str] | None = None
) -> list[tuple[str, str | None]]:
    """(id, nearest known id or None) for each keymap id that no binding has, in order.

    Without ``known``, the bindings loaded so far are tried first; the remaining screens
    are imported only if some id is not among them.
    """
    if known is None:
        ids = _binding_ids()
        if not set(keymap) <= ids:
            ids = known_binding_ids()
    else:
        ids = set(known)
    choices = sorted(ids)
    out: list[tuple[str, str | None]] = []
    for binding_id in keymap:
        if binding_id not in ids:
            near = difflib.get_close_matches(binding_id, choices, n=1, cutoff=0.6)
            out.append((binding_id, near[0] if near else None))
    return out


def unknown_id_warnings(
    keymap: Mapping[str, str], origin: Path | str | None, known: Iterable[str] | None = None
) -> list[str]:
    """One line per unknown id: the file, the id and the nearest known id."""
    where = origin or "keymap"
    lines = []
    for binding_id, near in unknown_ids(keymap, known):
        hint = f"did you mean {near!r}?" if near else "see F1 for the ids of this screen's keys"
        lines.append(f"{where}: unknown binding id {binding_id!r}, ignored ({hint})")
    return lines
