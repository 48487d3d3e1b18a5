"""The Textual front end: it drives ``tui_bench.core`` and renders what it publishes."""
