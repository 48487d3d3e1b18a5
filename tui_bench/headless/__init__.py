"""The headless front end: progress lines on stderr, NDJSON events on stdout, exit codes.

Exit codes (in one place): 0 the success rate meets the plan's threshold; 1 it does not;
2 bad input; 3 the run finished and is in history, but its reports could not be written;
130 interrupted (Ctrl-C / SIGTERM).
"""

from tui_bench.headless.log import ClassifyLogSink, JsonSink, LogSink, run_engine_with_signals

__all__ = ["ClassifyLogSink", "JsonSink", "LogSink", "run_engine_with_signals"]
