"""The measuring core: plans, engine, backends, metrics, store and reports.

Nothing under ``tui_bench.core`` imports textual or rich; both front ends (the TUI and the
headless CLI) drive it through ``core.engine`` and the events it publishes.
"""
