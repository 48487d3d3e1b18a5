"""Textual-free live states: what each kind of run's live view reads, kept by a sink.

``base`` holds what every run shares (version, log ring, timing, cancelling, a snapshot
under a lock); ``llm`` and ``classify`` add what their live views draw.
"""
