"""tui-bench: a terminal benchmark lab for local AI models."""

__version__ = "0.1.0"
