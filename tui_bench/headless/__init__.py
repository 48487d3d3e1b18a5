"""The headless front end: progress lines on stderr, NDJSON events on stdout, exit codes.

``drivers`` runs a plan or a classifier benchmark from start to exit code, ``log`` holds
the sinks that print it, ``signals`` how SIGINT, SIGTERM and SIGHUP stop it cleanly.

Exit codes (in one place, ``core.errors``): 0 the success rate meets the plan's threshold;
1 it does not; 2 bad input; 3 the run finished and is in history, but its reports (or a
classifier's chosen model) could not be written; 130 interrupted (Ctrl-C, SIGTERM, SIGHUP).
"""

from tui_bench.headless.drivers import run_classify, run_plan
from tui_bench.headless.log import ClassifyLogSink, JsonSink, LineSink, LogSink
from tui_bench.headless.signals import cancel_on_signals

__all__ = [
    "ClassifyLogSink",
    "JsonSink",
    "LineSink",
    "LogSink",
    "cancel_on_signals",
    "run_classify",
    "run_plan",
]
