"""The pipeline mode: a scenario's stages (retrieve → classify → generate) run question
by question, each stage measured as its own span, the bottleneck named, and each stage's
quality judged against the scenario's thresholds.

- :mod:`.spans`: spans, shares of a question's end-to-end time, the bottleneck;
- :mod:`.retrieve`: TF-IDF cosine retrieval and nDCG / recall / MRR;
- :mod:`.classifier`: a model saved by the classifier mode, accuracy and macro-F1;
- :mod:`.generate`: the LLM through the engine's backends, the prompt template;
- :mod:`.runner`: the run (events, no printing); :mod:`.result`: what it found and the
  verdicts; :mod:`.report`: report.md and data.json; :mod:`.history`: the history entry.
"""
