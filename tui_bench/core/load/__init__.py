"""Load tests: a model served to several users at once or at a request rate.

- :mod:`.spec`      the plan's ``[load]`` and ``[slo]`` tables (pydantic; imported by the plan)
- :mod:`.arrivals`  when the requests of an open-loop level are due (constant or Poisson)
- :mod:`.runner`    runs a model's levels after its warm-ups (the engine's hook)
- :mod:`.server_metrics` a server's Prometheus ``/metrics`` before and after each level
- :mod:`.summary`   a level's figures, from its stored records and its context
- :mod:`.capacity`  the knee and the capacity sentence
- :mod:`.report`    the load parts of report.md, data.json and results.csv

A level's context is kept in the history database by :mod:`tui_bench.core.store_levels`.

Nothing is imported here: the plan imports :mod:`.spec` alone.
"""
