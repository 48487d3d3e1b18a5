"""The llama.cpp worker's ``score`` op: the log-probability of each token of an answer,
given its prompt, under the loaded model (the fluency scorer's raw material).

The prompt is rendered as generation renders it (chat template and generation prompt, or
the raw text in completion mode); the answer's tokens follow it in one sequence, and each
answer token's log-probability comes from the logits at the position before it
(``log_softmax``, in float64). Only the answer's positions ask llama.cpp for logits, in
chunks of at most ``n_batch`` tokens, so the logits buffer stays small whatever the
prompt's length. Answers never see each other: after each, the KV cache keeps the
prompt alone (``Model.cached`` says which tokens), and the next answer to the same
prompt starts from there instead of reading the prompt again.
"""

from __future__ import annotations

from typing import Any

# Logits are n_vocab floats per scored position; a long answer is scored on its opening
# tokens only (what a reader would judge it by), which bounds the time of one answer.
MAX_ANSWER_TOKENS = 512


def _tokenize_plain(model: Any, text: str) -> list[int]:
    """``text``'s tokens without BOS, special-token syntax taken literally (an answer that
    contains ``<|im_end|>`` is scored as the characters it is)."""
    ll = model.ll
    raw = text.encode()
    cap = len(raw) + 16
    toks = (ll.llama_token * cap)()
    n = ll.llama_tokenize(model.vocab, raw, len(raw), toks, cap, False, False)
    if n < 0:
        cap = -n
        toks = (ll.llama_token * cap)()
        n = ll.llama_tokenize(model.vocab, raw, len(raw), toks, cap, False, False)
    return list(toks[:n])


def score_answer(model: Any, cmd: dict[str, Any]) -> dict[str, Any]:
    """The ``scored`` message for one ``score`` command (``prompt``, ``system``, ``mode``,
    ``answer``): the answer tokens' log-probabilities (natural log), in order. ``model``
    is the worker's loaded ``llama_worker.Model`` (not imported: the worker imports this
    module)."""
    import numpy as np

    ll, ctx = model.ll, model.ctx
    prefix = model.tokenize(model.render(cmd))
    answer = _tokenize_plain(model, str(cmd.get("answer", "")))
    clipped = len(answer) > MAX_ANSWER_TOKENS
    answer = answer[:MAX_ANSWER_TOKENS]
    room = int(model.n_ctx) - len(prefix)
    if room < 1 and answer:
        raise RuntimeError(
            f"the prompt ({len(prefix)} tokens) fills the scoring model's n_ctx ({model.n_ctx})"
        )
    if len(answer) > room:
        answer, clipped = answer[:room], True
    base = {"type": "scored", "id": cmd.get("id"), "n_prompt": len(prefix), "clipped": clipped}
    if not answer or not prefix:
        return {**base, "logprobs": []}

    seq = prefix + answer
    first = len(prefix) - 1  # the logits here predict answer[0]
    n_batch = max(1, int(ll.llama_n_batch(ctx)))
    mem = ll.llama_get_memory(ctx)
    keep = len(model.cached)
    if not (
        0 < keep <= first
        and seq[:keep] == model.cached
        and ll.llama_memory_seq_rm(mem, 0, keep, -1)
    ):
        keep = 0
        ll.llama_memory_clear(mem, True)
    model.cached = []
    batch = ll.llama_batch_init(n_batch, 0, 1)
    logprobs: list[float] = []
    ok = False
    try:
        pos = keep
        end = len(seq) - 1  # the last token predicts nothing we score: never decoded
        while pos < end:
            # the unscored prompt, then the scored part: chunks never straddle ``first``
            stop = min(first if pos < first else end, pos + n_batch)
            n = stop - pos
            for i in range(n):
                batch.token[i] = seq[pos + i]
                batch.pos[i] = pos + i
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = 0
                batch.logits[i] = 1 if pos + i >= first else 0
            batch.n_tokens = n
            rc = ll.llama_decode(ctx, batch)
            if rc != 0:
                raise RuntimeError(f"llama_decode failed while scoring (code {rc})")
            for i in range(n):
                at = pos + i
                if at < first:
                    continue
                row = np.ctypeslib.as_array(ll.llama_get_logits_ith(ctx, i), shape=(model.n_vocab,))
                row = row.astype(np.float64)
                top = row.max()
                lse = top + np.log(np.exp(row - top).sum())
                logprobs.append(float(row[seq[at + 1]] - lse))
            pos = stop
        ok = True
    finally:
        ll.llama_batch_free(batch)
        # keep the prompt but its last token (whose logits the next answer needs)
        if ok and ll.llama_memory_seq_rm(mem, 0, first, -1):
            model.cached = seq[:first]
        else:
            ll.llama_memory_clear(mem, True)
    return {**base, "logprobs": logprobs}
