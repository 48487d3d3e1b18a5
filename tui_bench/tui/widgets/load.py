"""The live view's load panel: the level running now (users or target rate, requests in
flight and queued, the achieved rate), the throughput-against-latency curve drawn one row
per level as levels finish (output tok/s and TTFT p90 as bars), failures by class and,
once a model's sweep ended, its capacity sentence.

One flat widget that draws all of its lines in ``render()`` (see
:mod:`tui_bench.tui.widgets.live` for why). Bars are scaled to the largest value among the
finished levels, so a level's bar does not move once it is drawn unless a later one
exceeds it.
"""

from __future__ import annotations

from typing import Any

from textual.app import RenderResult
from textual.content import Content

from tui_bench.tui.format import MISSING, num
from tui_bench.tui.state.load import LevelLive, LoadLive
from tui_bench.tui.widgets.live import LiveView

EIGHTHS = " ▏▎▍▌▋▊▉"
TPS_STYLE = "$primary"
TTFT_STYLE = "$accent"
LABEL_W = 7  # "c=128 ", "r=0.5 "


def bar(value: float | None, upper: float, width: int) -> str:
    """``value`` against ``upper`` in ``width`` cells, eighths of a cell at the end."""
    if value is None or upper <= 0 or width <= 0:
        return " " * max(width, 0)
    eighths = round(min(value / upper, 1.0) * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (EIGHTHS[part] if part else "")
    return text.ljust(width)


def _ttft_p90(lv: LevelLive) -> float | None:
    return ((lv.summary or {}).get("ttft_ms") or {}).get("p90")


def _tps(lv: LevelLive) -> float | None:
    return (lv.summary or {}).get("output_throughput_tps")


def _who(lv: LevelLive) -> str:
    if lv.kind == "concurrency":
        n = int(lv.target)
        return f"{n} user{'s' if n != 1 else ''}"
    return f"target {lv.target:g} req/s"


def level_line(lv: LevelLive) -> Content:
    """The level running now (or the last one): where it is and what is in flight."""
    parts: list[Any] = [
        ("● " if not lv.done else "✓ ", "$success"),
        (lv.level, "bold"),
        f" · {lv.model} · level {lv.index + 1}/{lv.n_levels or '?'} · {_who(lv)}",
    ]
    if not lv.done:
        parts.append((f" · in flight {lv.in_flight}", "$success bold"))
        if lv.queued:
            parts.append((f" · queued {lv.queued}", "$warning"))
    return Content.assemble(*parts)


def counts_line(lv: LevelLive) -> Content:
    s = lv.summary or {}
    parts: list[Any] = [
        f"sent {s.get('sent', lv.sent)} · ok {s.get('completed', lv.completed)}",
    ]
    failed = s.get("failed", lv.failed)
    if failed:
        parts.append((f" · failed {failed}", "$error"))
    parts.append(f" · {num(s.get('duration_s') or lv.elapsed_s, 1)} s")
    if lv.kind == "rate":  # open loop: did the client keep the schedule?
        achieved = s.get("achieved_rate_rps") if lv.done else lv.rate_now
        parts.append((f" · rate {num(achieved, 2)} of {lv.target:g} req/s achieved", "$accent"))
    return Content.assemble(*parts)


def curve_rows(levels: list[LevelLive], width: int) -> list[Content]:
    """One row per level: output tok/s and TTFT p90, each as a bar and its number."""
    done = [lv for lv in levels if lv.done]
    top_tps = max((_tps(lv) or 0.0 for lv in done), default=0.0)
    top_ttft = max((_ttft_p90(lv) or 0.0 for lv in done), default=0.0)
    half = max((width - LABEL_W) // 2, 10)
    bar_w = half - 10  # room for " 12345.6 " and " 1234 ms "
    rows = [
        Content.assemble(
            ("level".ljust(LABEL_W), "$text-muted"),
            ("output tok/s".ljust(half), TPS_STYLE),
            ("TTFT p90", TTFT_STYLE),
        )
    ]
    for lv in levels:
        label = (lv.level[: LABEL_W - 1]).ljust(LABEL_W)
        if not lv.done:
            rows.append(
                Content.assemble(
                    label, (f"running… {lv.completed} done, {lv.in_flight} in flight", "$success")
                )
            )
            continue
        tps, ttft = _tps(lv), _ttft_p90(lv)
        tps_text = MISSING if tps is None else num(tps, 1)
        ttft_text = MISSING if ttft is None else f"{num(ttft, 0)} ms"
        parts: list[Any] = [
            label,
            (bar(tps, top_tps, bar_w), TPS_STYLE),
            f" {tps_text}".ljust(10),
            (bar(ttft, top_ttft, bar_w), TTFT_STYLE),
            f" {ttft_text}",
        ]
        meets = (lv.summary or {}).get("meets_slo")
        if meets is not None:
            parts.append((" ✓" if meets else " ✗", "$success" if meets else "$error"))
        rows.append(Content.assemble(*parts))
    return rows


def errors_line(load: LoadLive) -> Content:
    errors = load.errors()
    if not errors:
        return Content.styled("errors: none", "$text-muted")
    text = " · ".join(f"{cls} {n}" for cls, n in sorted(errors.items(), key=lambda kv: -kv[1]))
    return Content.assemble(("errors: ", "$error bold"), (text, "$error"))


class LoadView(LiveView):
    """The load panel of the live view (shown once a load level started)."""

    def render(self) -> RenderResult:
        width, height = self.content_size
        load = self.state.load
        cur = load.current
        if cur is None or width <= 0 or height <= 0:
            return Content.styled("waiting for the first load level…", "$text-muted")
        lines = [level_line(cur), counts_line(cur)]
        lines += curve_rows(load.of(cur.model), width)
        lines.append(errors_line(load))
        for model, sentence in load.capacity.items():
            lines.append(Content.assemble(("capacity: ", "$success bold"), sentence))
            if load.knee.get(model):
                lines.append(Content.styled(str(load.knee[model]), "$text-muted"))
        return Content("\n").join(lines[:height])


# -- the results screen's load section ----------------------------------------------------

RESULT_COLUMNS = (  # header, width
    ("level", 7),
    ("ok/sent", 8),
    ("req/s", 7),
    ("tok/s", 8),
    ("TTFT p90", 10),
    ("E2E p90", 10),
    ("conc", 6),
    ("SLO", 3),
)


def _ms(d: dict[str, Any] | None) -> str:
    v = (d or {}).get("p90")
    return MISSING if v is None else f"{num(v, 0)} ms"


def _cells(s: dict[str, Any]) -> list[str]:
    meets = s.get("meets_slo")
    return [
        str(s.get("level", "")),
        f"{s.get('completed', 0)}/{s.get('sent', 0)}",
        num(s.get("request_throughput_rps"), 2),
        num(s.get("output_throughput_tps"), 1),
        _ms(s.get("ttft_ms")),
        _ms(s.get("e2e_ms")),
        num(s.get("achieved_concurrency"), 1),
        MISSING if meets is None else ("✓" if meets else "✗"),
    ]


def results_load(load: dict[str, Any]) -> Content:
    """``load``: data.json's ``load`` (core/load/report.py ``to_json``): per model the
    capacity sentence, the knee and a compact table of its levels."""
    lines: list[Any] = [
        ("Load", "bold"),
        (" (latency from each request's scheduled send)", "$text-muted"),
    ]
    head = "".join(h.ljust(w) for h, w in RESULT_COLUMNS).rstrip()
    for model, verdict in (load.get("models") or {}).items():
        lines += ["\n", ("capacity: ", "$success bold"), str(verdict.get("capacity") or "")]
        if verdict.get("knee_text"):
            lines += ["\n", (str(verdict["knee_text"]), "$text-muted")]
        lines += ["\n  ", (head, "$text-muted")]
        for s in load.get("levels") or []:
            if s.get("model") != model:
                continue
            cells = _cells(s)
            row = "".join(c.ljust(w) for c, (_h, w) in zip(cells, RESULT_COLUMNS, strict=True))
            lines += ["\n  ", row.rstrip()]
            if s.get("errors"):
                errs = ", ".join(f"{k} {v}" for k, v in s["errors"].items())
                lines += [(f"  ✗ {errs}", "$error")]
    lines.append("\n")  # a blank line before the ranking's caption
    return Content.assemble(*lines)


# -- the wizard review's load line ------------------------------------------------------


def sweep_words(sweep: Any) -> str:
    """A load table in words: its levels, its bound, its warm-ups."""
    targets = ", ".join(f"{t:g}" for t in sweep.targets)
    if sweep.concurrency is not None:
        head = f"closed loop at {targets} users"
    else:
        head = f"open loop at {targets} req/s ({sweep.arrival or 'poisson'} arrivals)"
    bounds = []
    if sweep.requests is not None:
        bounds.append(f"{sweep.requests} requests")
    if sweep.duration_s is not None:
        bounds.append(f"{sweep.duration_s:g} s")
    text = f"{head} · {' or '.join(bounds)} per level"
    if sweep.warmup_requests:
        text += f" after {sweep.warmup_requests} warm-up(s)"
    return text


def review_load(plan: Any) -> list[Any]:
    """The review's lines on the plan's load levels and SLOs ([] without any)."""
    from tui_bench.core.load.capacity import slo_words

    own = [m for m in plan.models if m.load is not None]
    if plan.load is None and not own:
        return []
    parts: list[Any] = [("load     ", "bold")]
    if plan.load is not None:
        parts.append(sweep_words(plan.load))
    for m in own:
        parts.append(f"{'; ' if len(parts) > 1 else ''}{m.id}: {sweep_words(m.load)}")
    parts.append("\n")
    if plan.slo is not None:
        slo = plan.slo.model_dump(exclude_none=True)
        parts += [
            ("SLO      ", "bold"),
            f"{slo_words(slo)} for {slo['percentile']:g}% of requests\n",
        ]
    return parts
