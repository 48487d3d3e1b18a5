"""Stored text made safe to print as part of one line of terminal output.

Names come from plan files, data files and the history database; one written before
validation rejected control characters (or by another program) must not split a log line
or a table row, or send escape sequences to the terminal. Such characters are shown as
Python escapes (``\\n``, ``\\x1b``, ``\\u2028``): visible, and nothing else changes.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


def one_line(text: str) -> str:
    """``text`` with every control character escaped; unchanged when it has none."""
    return CONTROL.sub(_escape, text)
