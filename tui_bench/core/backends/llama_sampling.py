"""The sampler chain the llama.cpp worker builds for each request (``llama_worker``)."""

from __future__ import annotations

from typing import Any


def sampler_chain(ll: Any, cmd: dict[str, Any], eog: list[int], n_vocab: int) -> Any:
    """The request's sampler chain, llama.cpp's own (C side): greedy at temperature 0,
    else top-k, top-p, min-p, temperature and a seeded draw; with ``ignore_eos`` the
    end-of-generation tokens biased to -inf first."""
    sparams = ll.llama_sampler_chain_default_params()
    sparams.no_perf = False
    chain = ll.llama_sampler_chain_init(sparams)
    if cmd.get("ignore_eos") and eog:
        bias = (ll.llama_logit_bias * len(eog))()
        for i, tok in enumerate(eog):
            bias[i].token = tok
            bias[i].bias = float("-inf")
        ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_logit_bias(n_vocab, len(eog), bias))
    temperature = float(cmd.get("temperature", 0.0))
    if temperature <= 0:
        ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_greedy())
    else:
        top_k = int(cmd.get("top_k", 40))
        if top_k > 0:
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_top_k(top_k))
        ll.llama_sampler_chain_add(
            chain, ll.llama_sampler_init_top_p(float(cmd.get("top_p", 0.95)), 1)
        )
        ll.llama_sampler_chain_add(
            chain, ll.llama_sampler_init_min_p(float(cmd.get("min_p", 0.05)), 1)
        )
        ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_temp(temperature))
        ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_dist(int(cmd.get("seed", 42))))
    return chain
