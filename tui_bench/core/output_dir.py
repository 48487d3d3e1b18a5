"""An output folder (reports, saved models), checked before a run or any training starts.

A benchmark can run for a long time; a folder it cannot write (a file in its place, a
read-only folder, a name the file system refuses) must be a one-line error at once, not
a failure once the work is done. Nothing is created: the check writes and removes one
probe folder, inside the folder when it exists, else inside its nearest existing parent.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tui_bench.core.errors import UserError


def check_output_dir(path: str | Path) -> None:
    """Raise a one-line UserError unless ``path`` is a folder that exists or can be
    created, and that files can be written into."""
    out = Path(path).expanduser()
    target = out.absolute()
    existing = target
    # os.path.exists, not Path.exists: a name too long for the file system is "absent"
    # here (and refused by _check_names) rather than an OSError.
    while not os.path.exists(existing):
        # A dangling symlink does not "exist" but cannot be created over either.
        if os.path.islink(existing) or existing.parent == existing:
            raise UserError(f"output folder {out}: {existing} cannot be created")
        existing = existing.parent
    if not os.path.isdir(existing):
        what = "is a file" if existing == target else f"{existing} is a file"
        raise UserError(f"output folder {out}: {what}, not a folder")
    _check_names(out, target, existing)
    try:
        probe = tempfile.mkdtemp(prefix=".tui-bench-probe-", dir=existing)
    except OSError as exc:
        where = "" if existing == target else f"{existing}: "
        raise UserError(
            f"output folder {out}: {where}cannot write ({exc.strerror or exc})"
        ) from None
    os.rmdir(probe)


def _check_names(out: Path, target: Path, existing: Path) -> None:
    """Each folder still to be created must have a name the file system accepts."""
    try:
        limit = os.pathconf(existing, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # not reported (or not POSIX): the usual
        limit = 255
    for part in target.relative_to(existing).parts:
        if len(os.fsencode(part)) > limit:
            raise UserError(
                f"output folder {out}: the name {part[:40]!r}... is longer than the "
                f"{limit} bytes a file name may have here"
            )
