"""The REST face of tui-bench (``tui-bench serve``, extra ``rest``): the history's results,
the scenario catalog, runs started in the background and the temporal nDCG metric, over
HTTP on loopback.

- :mod:`.results` lists runs from the SQLite history with their averages (no web framework);
- :mod:`.jobs` starts ``tui-bench run`` / ``tui-bench pipeline`` as subprocesses and
  follows them (no web framework);
- :mod:`.app` is the FastAPI application (imported only by ``tui-bench serve``);
- :mod:`.server` binds the socket, prints ``listening on http://HOST:PORT`` and serves.

A run started over HTTP is an ordinary ``tui-bench`` process writing to the same history
(``$TUI_BENCH_HOME``): the app's history and ``tui-bench history`` list it like any other.
Nothing here is imported by ``tui-bench --help``.
"""
