"""Servers the tests start on 127.0.0.1: a fault-injecting OpenAI-compatible one, and
llama-cpp-python's real one through tui-bench's launcher."""
