"""``python -m tui_bench.core.doctor --probe``: the llama.cpp probe's child process, one
JSON line on stdout (native code logs to stderr)."""

from __future__ import annotations

import json
import sys

from tui_bench.core.doctor.system import probe_here

if sys.argv[1:] == ["--probe"]:
    sys.stdout.write(json.dumps(probe_here()) + "\n")
