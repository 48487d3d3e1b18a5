"""The ``code_pass`` scorer: the answer's code and ``expect.tests`` run in a separate,
isolated Python process with a time limit; nothing the answer starts outlives the check."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

CODE_TIMEOUT_S = 10.0

_FENCE = re.compile(
    r"^[ \t]*```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:^[ \t]*```[ \t]*$|\Z)",
    re.DOTALL | re.MULTILINE,
)
_PYTHON_TAGS = frozenset({"python", "py", "python3", "py3"})

# Runs in the child: the answer becomes module ``solution`` (its ``__main__`` block does not
# run, it may define dataclasses), then the tests run as ``__main__`` in a copy of its
# namespace, so they may call the answer's functions directly, import from ``solution`` or
# use unittest.main().
# An exit() in the answer would otherwise skip the tests and look like a pass.
_RUNNER = """\
import sys, types
try:
    import resource
except ImportError:
    resource = None
if resource is not None:
    for name, value in (("RLIMIT_CORE", 0), ("RLIMIT_FSIZE", 16 << 20)):
        limit = getattr(resource, name, None)
        if limit is not None:
            try:
                resource.setrlimit(limit, (value, value))
            except (ValueError, OSError):
                pass

def _source(name):
    with open(name, encoding="utf-8") as f:
        return compile(f.read(), name, "exec", dont_inherit=True)

_tests = _source("tests.py")
_module = types.ModuleType("solution")
_module.__file__ = "solution.py"
sys.modules["solution"] = _module
try:
    exec(_source("solution.py"), _module.__dict__)
except SystemExit as exc:
    sys.stderr.write(f"the answer exited (code {exc.code!r}) before the tests ran\\n")
    sys.exit(3)
# A real __main__ module, so that unittest.main() finds the tests' TestCase classes.
_main = types.ModuleType("__main__")
_main.__dict__.update(_module.__dict__)
_main.__dict__.update(__name__="__main__", __file__="tests.py")
sys.modules["__main__"] = _main
exec(_tests, _main.__dict__)
"""


def extract_code(text: str) -> tuple[str, bool]:
    """The code to run and whether it came from a fenced block.

    The first block fenced ```python (or py, python3), else the first untagged block, else
    the first block of any tag; a block cut off by the token limit runs to the end of the
    text. With no fence at all, the whole text. Indented blocks are dedented.
    """
    blocks = [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(text)]
    if not blocks:
        return text.strip("\n"), False
    for wanted in (lambda tag: tag in _PYTHON_TAGS, lambda tag: tag == "", lambda tag: True):
        for tag, body in blocks:
            if wanted(tag):
                return textwrap.dedent(body).strip("\n"), True
    raise AssertionError("unreachable")  # pragma: no cover


def run_code_tests(
    text: str, tests: str, *, timeout_s: float = CODE_TIMEOUT_S
) -> tuple[float, str]:
    """Run the answer's code, then ``tests``, in a fresh Python; ``(1.0|0.0, note)``.

    ``[sys.executable, "-I", "-X", "utf8", runner]`` in a temporary directory that is also
    the working directory and ``HOME``, with only ``PATH`` inherited, stdin and stdout
    closed (discarded), a 16 MiB file-size limit (POSIX), and ``timeout_s`` of wall time
    after which the whole process group is killed. ``-I`` ignores ``PYTHON*`` variables
    and the user site; installed packages stay importable. 1.0 exactly when it exits 0.
    The note is empty on a pass, else the reason: ``"timeout after 10 s"``, the last line
    of stderr (``"AssertionError: ..."``), ``"no code found"``; a syntax error in an
    answer without a fence says the whole answer was run.
    """
    code, fenced = extract_code(text)
    if not code.strip():
        return 0.0, "no code found"
    with tempfile.TemporaryDirectory(prefix="tui-bench-code-") as tmp:
        tmpdir = Path(tmp)
        for name, source in (("solution.py", code), ("tests.py", tests), ("run.py", _RUNNER)):
            (tmpdir / name).write_bytes(source.encode("utf-8", "replace"))
        env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": tmp, "TMPDIR": tmp}
        if os.name == "nt":  # Python cannot start on Windows without these
            env.update({k: os.environ[k] for k in ("SYSTEMROOT", "TEMP", "TMP") if k in os.environ})
        stderr_path = tmpdir / "stderr.txt"
        with stderr_path.open("wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-X", "utf8", "run.py"],
                cwd=tmp,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=os.name == "posix",
            )
            started = time.monotonic()
            try:
                returncode = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                return 0.0, f"timeout after {timeout_s:g} s"
            finally:
                # Also on a normal exit: nothing the answer started may outlive the check.
                _kill(proc)
            elapsed = time.monotonic() - started
        if returncode == 0:
            return 1.0, ""
        reason = _last_line(stderr_path)
        if returncode < 0:
            sig = _signal_name(-returncode)
            reason = f"killed by {sig}" + (f" ({reason})" if reason else "")
        elif not reason:
            reason = f"exit code {returncode} after {elapsed:.1f} s"
        elif not fenced and reason.startswith(("SyntaxError", "IndentationError", "TabError")):
            # Most likely prose around unfenced code: say so.
            reason = f"no fenced code block, ran the whole answer: {reason}"
        return 0.0, reason


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill the child and anything left in its process group, then reap it.

    After the child itself was reaped the group id cannot have been reused while members
    remain, and an empty group raises ProcessLookupError, so this never hits a stranger.
    """
    if os.name == "posix":
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    proc.wait()


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def _last_line(path: Path, limit: int = 200) -> str:
    """The last non-blank line of a (possibly large) stderr file, at most ``limit`` chars."""
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - 8192))
        tail = f.read().decode("utf-8", "replace")
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    if not lines:
        return ""
    last = lines[-1]
    return last if len(last) <= limit else last[: limit - 3] + "..."
