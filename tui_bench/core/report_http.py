"""In process vs over HTTP, decomposed: the same GGUF run in tui-bench's own process
(backend ``llama_cpp``) and through a server tui-bench launched (backend ``openai`` with
``launch = true``), over the same prompts, in one run.

A pair is an in-process model and a launched model that served the same file: the
resolved paths both models recorded (``info["path"]``) are equal, or, for a run stored
before a launched model recorded its path, the plan's ``source`` strings are. A server
tui-bench did not launch is never paired: its ``source`` only describes what it runs.

Per side, over the measured requests (not warm-up, ok, no invalidating flag), medians of:

- **E2E**: send to last content token, as everywhere (``metrics.md``);
- **engine**: the engine's own counters, prompt eval + decode + sampling
  (``t_p_eval_ms + t_eval_ms`` + the stamped sample calls ``t_sample_call_ms``, else the
  sampler counter ``t_sample_ms``, else none: sampling left out, said in the section);
- in process, **harness** = E2E − engine: the worker's token loop, the pipe to the engine;
- over HTTP, **server overhead** = server wall − engine, where the server reports its wall
  time (``server_wall_ms``: tui-bench's launcher), and **client/transport** = E2E − server
  wall: the request and the stream on the wire, parsing and the client's loop. A server
  without a wall time (llama-server proper) leaves the two as one part, server +
  transport = E2E − engine, and the section says so instead of inventing a split.

The difference of the medians, E2E(HTTP) − E2E(in process), is shown as Δengine + server
overhead + client/transport − in-process harness + residual. Medians do not add up: the
residual is what they leave over, shown, never folded into a part. No verdict is drawn;
these are medians of the requests measured, with their counts.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Any

from tui_bench.core.fmt import MISSING, num
from tui_bench.core.results import RequestRecord
from tui_bench.core.summary import counts_for_timing

KEY = "http_vs_inprocess"
ALL_PROMPTS = None  # the pooled row's prompt

NO_WALL = (
    "the server reports no wall time of its own (llama-server's timings have none): its "
    "overhead cannot be told from the transport's, shown together as server + transport"
)
NO_ENGINE = "no engine counters on one side: the difference is not split"


def pairs(models: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(in-process id, HTTP id)`` of each in-process model and launched model that served
    the same GGUF."""
    inproc = [m for m in models if m.get("backend") == "llama_cpp"]
    launched = [
        m for m in models if m.get("backend") == "openai" and (m.get("info") or {}).get("launched")
    ]
    out = []
    for a in inproc:
        for b in launched:
            pa, pb = (a.get("info") or {}).get("path"), (b.get("info") or {}).get("path")
            if pa and pb:
                same = pa == pb
            else:  # a run stored before a launched model recorded its path
                same = a.get("source") is not None and a.get("source") == b.get("source")
            if same:
                out.append((a["id"], b["id"]))
    return out


def engine_ms(r: RequestRecord) -> float | None:
    """Prompt eval + decode + sampling, from the engine's own counters (None: not known)."""
    e = r.engine
    if e is None or e.t_p_eval_ms is None or e.t_eval_ms is None:
        return None
    sample = e.t_sample_call_ms if e.t_sample_call_ms is not None else e.t_sample_ms
    return e.t_p_eval_ms + e.t_eval_ms + (sample or 0.0)


def _wall(r: RequestRecord) -> float | None:
    return r.engine.server_wall_ms if r.engine is not None else None


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _median(recs: Sequence[RequestRecord], f: Callable[[RequestRecord], float | None]) -> Any:
    values = [v for r in recs if (v := f(r)) is not None]
    return statistics.median(values) if values else None


def side(recs: Sequence[RequestRecord], *, http: bool) -> dict[str, Any]:
    """Medians of one side's measured requests (each part over the requests that have it)."""
    out: dict[str, Any] = {
        "n": len(recs),
        "e2e_ms": _median(recs, lambda r: r.e2e_ms),
        "engine_ms": _median(recs, engine_ms),
        "sampling_known": all(
            r.engine is not None
            and (r.engine.t_sample_call_ms is not None or r.engine.t_sample_ms is not None)
            for r in recs
        ),
    }
    if not http:
        out["harness_ms"] = _median(recs, lambda r: _minus(r.e2e_ms, engine_ms(r)))
        return out
    walls = bool(recs) and all(_wall(r) is not None for r in recs)
    out["server_wall_known"] = walls
    if walls:
        out["server_wall_ms"] = _median(recs, _wall)
        out["server_overhead_ms"] = _median(recs, lambda r: _minus(_wall(r), engine_ms(r)))
        out["client_ms"] = _median(recs, lambda r: _minus(r.e2e_ms, _wall(r)))
    else:
        out["server_and_transport_ms"] = _median(recs, lambda r: _minus(r.e2e_ms, engine_ms(r)))
    return out


def split(inproc: dict[str, Any], http: dict[str, Any]) -> dict[str, Any]:
    """E2E(HTTP) − E2E(in process) into its parts and the residual the medians leave."""
    delta = _minus(http["e2e_ms"], inproc["e2e_ms"])
    d_engine = _minus(http["engine_ms"], inproc["engine_ms"])
    harness = inproc.get("harness_ms")
    if http["server_wall_known"]:
        parts = {
            "engine_ms": d_engine,
            "server_overhead_ms": http.get("server_overhead_ms"),
            "client_ms": http.get("client_ms"),
        }
    else:
        parts = {"engine_ms": d_engine, "server_and_transport_ms": http["server_and_transport_ms"]}
    parts["minus_inprocess_harness_ms"] = None if harness is None else -harness
    known = None not in parts.values() and delta is not None
    residual = delta - sum(parts.values()) if known else None  # type: ignore[arg-type]
    return {"e2e_diff_ms": delta, "parts": parts, "residual_ms": residual, "split": known}


def decompose(models: Sequence[dict[str, Any]], records: Sequence[RequestRecord]) -> list[dict]:
    """Per pair and prompt (and pooled over the prompts, where there are several)."""
    out: list[dict[str, Any]] = []
    measured = [r for r in records if counts_for_timing(r)]
    for a, b in pairs(models):
        prompts = sorted({r.prompt for r in measured if r.model in (a, b)})
        both = [p for p in prompts if any(r.prompt == p and r.model == a for r in measured)]
        both = [p for p in both if any(r.prompt == p and r.model == b for r in measured)]
        for prompt in [*both, *([ALL_PROMPTS] if len(both) > 1 else [])]:
            keep = both if prompt is ALL_PROMPTS else [prompt]
            ra = [r for r in measured if r.model == a and r.prompt in keep]
            rb = [r for r in measured if r.model == b and r.prompt in keep]
            sa, sb = side(ra, http=False), side(rb, http=True)
            entry = {"inprocess": a, "http": b, "prompt": prompt, "inprocess_side": sa}
            entry |= {"http_side": sb, **split(sa, sb)}
            notes = [] if sb["server_wall_known"] else [NO_WALL]
            if not entry["split"]:
                notes.append(NO_ENGINE)
            if not (sa["sampling_known"] and sb["sampling_known"]):
                notes.append("sampling time not known on one side: left out of its engine time")
            entry["notes"] = notes
            out.append(entry)
    return out


def annotate_json(
    out: dict[str, Any], models: Sequence[dict[str, Any]], records: Sequence[RequestRecord]
) -> None:
    """``data.json``'s ``http_vs_inprocess``: only where the run holds a pair."""
    rows = decompose(models, records)
    if rows:
        out[KEY] = rows


def _ms(value: float | None) -> str:
    return MISSING if value is None else num(value, 1)


def markdown(models: Sequence[dict[str, Any]], records: Sequence[RequestRecord]) -> list[str]:
    rows = decompose(models, records)
    if not rows:
        return []
    lines = [
        "## In process vs over HTTP",
        "",
        "The same GGUF in tui-bench's process and through a server it launched. Medians "
        "of the measured requests, in ms; the difference E2E(HTTP) − E2E(in process) = "
        "Δengine + server overhead + client/transport − in-process harness + residual "
        "(medians do not add up: the residual is what they leave over).",
        "",
        "| in process / HTTP | prompt | n | E2E in process | E2E HTTP | difference | Δengine "
        "| server overhead | client/transport | − in-process harness | residual |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        sa, sb, p = row["inprocess_side"], row["http_side"], row["parts"]
        if sb["server_wall_known"]:
            server, client = _ms(p["server_overhead_ms"]), _ms(p["client_ms"])
        else:  # one part: shown across both columns' meaning, named so
            server = f"{_ms(p['server_and_transport_ms'])} (with transport)"
            client = "not separable"
        cells = [
            f"`{row['inprocess']}` / `{row['http']}`",
            "all" if row["prompt"] is ALL_PROMPTS else f"`{row['prompt']}`",
            f"{sa['n']} / {sb['n']}",
            _ms(sa["e2e_ms"]),
            _ms(sb["e2e_ms"]),
            _ms(row["e2e_diff_ms"]),
            _ms(p["engine_ms"]),
            server,
            client,
            _ms(p["minus_inprocess_harness_ms"]),
            _ms(row["residual_ms"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [
        "- **engine**: the engine's own counters, prompt eval + decode + sampling; "
        "**server overhead** = the server's wall time for the request − engine; "
        "**client/transport** = E2E − the server's wall time; "
        "**in-process harness** = E2E − engine in process.",
    ]
    notes = sorted({n for row in rows for n in row["notes"]})
    lines += [f"- {n[0].upper()}{n[1:]}." for n in notes]
    lines.append("")
    return lines
