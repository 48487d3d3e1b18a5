"""What a report or the history may reveal about the machine and its user.

Reports are made to be shared: they keep the hardware and the versions, but never the
host name (a label the user chose with ``--host-label`` stands in for it), and every path
under the home folder is written ``~/...`` (a home path usually carries the user name).
Every report writer and the history store pass what they write through here; readers
that need a real path again use :func:`expand_home`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import PurePath
from typing import Any

# Characters that continue a file name: "/home/ann" must not match inside "/home/anna".
_NAME_CHAR = r"[\w.\-~@+]"


def _home_pattern() -> re.Pattern[str] | None:
    """The home folder (as $HOME says, and resolved) where it starts a path in a text."""
    home = os.path.expanduser("~")
    return None if home == "~" else _pattern_for(home)


@lru_cache(maxsize=8)
def _pattern_for(home: str) -> re.Pattern[str] | None:
    forms = {h.rstrip("/\\") for h in (home, os.path.realpath(home))}
    forms.discard("")  # a home of "/" would match every absolute path
    if not forms:
        return None
    alternatives = "|".join(re.escape(h) for h in sorted(forms, key=len, reverse=True))
    return re.compile(rf"(?<!{_NAME_CHAR})(?:{alternatives})(?!{_NAME_CHAR})")


def _substitute(pattern: re.Pattern[str] | None) -> Callable[[str], str]:
    if pattern is None:
        return lambda text: text
    return lambda text: pattern.sub("~", text)


def home_relative(text: str) -> str:
    """``text`` with every path under the home folder written ``~/...``."""
    return _substitute(_home_pattern())(text)


def redact(value: Any) -> Any:
    """A JSON-like value (dicts, lists, strings, paths) with :func:`home_relative` applied
    to every string, keys included. Other values are returned as they are."""
    sub = _substitute(_home_pattern())

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return sub(v)
        if isinstance(v, PurePath):
            return sub(str(v))
        if isinstance(v, dict):
            return {(sub(k) if isinstance(k, str) else k): walk(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [walk(x) for x in v]
        return v

    return walk(value)


def public_host(host: dict[str, Any]) -> dict[str, Any]:
    """A host description fit to share: no host name (older history entries hold one),
    paths home-relative; the user's ``label``, hardware and versions kept."""
    return redact({k: v for k, v in host.items() if k != "hostname"})


def expand_home(path: str | None) -> str | None:
    """A path stored as ``~/...`` made absolute again (for this user, on this machine)."""
    if path is None or not (path == "~" or path.startswith("~/")):
        return path
    return os.path.expanduser(path)
