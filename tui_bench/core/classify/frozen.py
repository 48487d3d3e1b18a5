"""A frozen transformer as a scikit-learn vectoriser: each text becomes the mean of its
token embeddings (padding left out), L2-normalised, as sentence-transformers' MiniLM
models are meant to be used. A logistic regression on top makes the ``minilm-frozen``
candidate: a cheap transformer baseline that needs no GPU and no training of the encoder.

The encoder is loaded on first use, from the model as named (``encoders.model_folder``),
and left out of a pickle: a saved pipeline holds the name, and loads the encoder again
where it is used (with tui-bench and the ``finetune`` extra installed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

BATCH = 64


class MeanPoolEmbedder(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    def __init__(self, model: str = "builtin:minilm-l6", max_length: int = 128) -> None:
        self.model = model
        self.max_length = max_length

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_loaded", None)  # the encoder is loaded again where it is used
        return state

    def _encoder(self) -> tuple[Any, Any, Any]:
        loaded = getattr(self, "_loaded", None)
        if loaded is None:
            from tui_bench.core.classify.encoders import model_folder
            from tui_bench.core.classify.finetune import load_encoder, pick_device

            device = pick_device()
            tokenizer, encoder = load_encoder(model_folder(self.model))
            loaded = self._loaded = (tokenizer, encoder.to(device).eval(), device)
        return loaded

    def fit(self, texts: Sequence[str], y: Any = None) -> MeanPoolEmbedder:
        self._encoder()
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        tokenizer, encoder, device = self._encoder()
        out: list[np.ndarray] = []
        texts = list(texts)
        with torch.inference_mode():
            for start in range(0, len(texts), BATCH):
                enc = tokenizer(
                    texts[start : start + BATCH],
                    truncation=True,
                    max_length=self.max_length,
                    padding=True,
                    return_tensors="pt",
                ).to(device)
                hidden = encoder(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=1)
                out.append(pooled.float().cpu().numpy())
        width = int(encoder.config.hidden_size)
        return np.concatenate(out) if out else np.zeros((0, width), dtype=np.float32)
