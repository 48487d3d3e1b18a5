"""The texts around the ranking tables of a classifier result: the head (the data, the
split, what was excluded or cancelled), where the reports and the history entry are,
and the final model's panel (in training, saved, failed, or chosen when the benchmark
ran, for a result opened from the history)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.content import Content

from tui_bench.core.classify.candidates import GUESS
from tui_bench.core.redact import home_relative
from tui_bench.tui.classify_bridge import ClassifyOutcome
from tui_bench.tui.format import duration
from tui_bench.tui.state.classify import ClassifyLiveState, cell_name


def head_text(result: Any) -> Content:
    r = result
    cfg = r.config
    ds = r.dataset
    parts: list[Any] = [
        (Path(str(ds.get("path") or cfg.get("data"))).name, "bold"),
        f" · {ds.get('n_rows', 0):,} rows · ",
    ]
    style = "$text-success" if r.status == "completed" else "$text-warning"
    parts.append((r.status, f"bold {style}"))
    parts.append(f" in {duration(r.duration_s)} · started {r.started_at[:19].replace('T', ' ')}\n")
    split = (
        f"{cfg['cv']}-fold cross-validation"
        if cfg.get("cv")
        else f"hold-out {float(cfg.get('test_size', 0.2)):.0%}"
    )
    n_models = len({m for ms in r.models.values() for m in ms})
    parts.append(
        f"{len(r.categories)} categor{'y' if len(r.categories) == 1 else 'ies'} × "
        f"{n_models} candidates + 2 baselines · stratified {split} · seed "
        f"{cfg.get('seed', 0)} · {cfg.get('epochs')} epochs"
    )
    if cfg.get("by_language"):
        parts.append(" · one model per language")
    if r.status == "cancelled":
        jobs = [x for x in r.results if x.candidate != GUESS]  # guessing is computed
        trained = sum(1 for x in jobs if x.error != "cancelled")
        parts.append(
            (
                f"\ncancelled: partial results, {trained} of {len(jobs)} trainings "
                "finished; the ranking covers those only",
                "$text-warning",
            )
        )
    for ex in r.excluded:
        where = cell_name(ex["category"], ex.get("language"))
        parts.append((f"\nexcluded {where}: {ex['reason']}", "$text-muted"))
    for note in r.notes:
        parts.append((f"\n{note}", "$text-muted"))
    return Content.assemble(*parts)


def paths_text(outcome: ClassifyOutcome) -> Content:
    """Where the reports were written and the run recorded (or that they were not)."""
    o = outcome
    parts: list[Any] = []
    if o.reports:
        folder = o.reports[0].parent
        parts += [
            ("reports ", "bold"),
            f"{folder}/ ",
            (" · ".join(p.name for p in o.reports), "$text-muted"),
        ]
    else:
        parts.append(("reports not written", "$text-warning"))
    parts.append("\n")
    if o.run_id is not None:
        parts += [
            ("history ", "bold"),
            f"run {o.run_id}",
            (
                f" in {home_relative(str(o.db_path))} · tui-bench history --kind classify",
                "$text-muted",
            ),
        ]
    else:
        parts.append(("not recorded in the history", "$text-warning"))
    return Content.assemble(*parts)


def final_text(
    state: ClassifyLiveState | None, *, error: str | None, stopped: bool, busy: bool
) -> Content:
    """The final model's panel: what is being trained and what was saved, or why not."""
    if error:
        return Content.assemble(("✗ ", "bold $text-error"), (error, "$text-error"))
    if state is None:
        if stopped:
            return Content.styled("stopped after the benchmark: no model trained", "$text-muted")
        return Content("")
    view = state.snapshot()
    lines: list[Any] = []
    if view.finals:
        folder = Path(view.finals[0].model_path).parent
        lines += [("saved in ", "bold"), f"{folder}/\n"]
    for saved in view.finals:
        lines += [
            ("✓ ", "bold $text-success"),
            (saved.candidate, "bold"),
            f" for {cell_name(saved.category, saved.language)}: ",
            Path(saved.model_path).name,
            (
                f" + {Path(saved.card_path).name} ({duration(saved.train_time_s)})\n",
                "$text-muted",
            ),
        ]
    cur = view.final_current
    if cur is not None:
        epochs = f", {cur.epochs} epochs" if cur.epochs else ""
        lines += [
            ("● training ", "$text-success"),
            (cur.candidate, "bold"),
            f" on all {cur.n_samples:,} rows of {cell_name(cur.category, cur.language)}",
            (f"{epochs} · {duration(view.since_s(cur.started_ns))}", "$text-muted"),
        ]
    elif busy:
        lines.append(("preparing…", "$text-muted"))
    return Content.assemble(*lines)


def archived_final_text(result: Any) -> Content:
    """What was chosen and saved when the benchmark ran (a run opened from history)."""
    choice = result.choice or {}
    mode = choice.get("mode", "none")
    picked = choice.get("model") or ", ".join(
        f"{k}: {v}" for k, v in (choice.get("models_by_language") or {}).items()
    )
    lines: list[Any] = [
        ("chosen ", "bold"),
        f"{mode}{f' · {picked}' if picked else ''}",
        (f" · {choice['reason']}" if choice.get("reason") else "", "$text-muted"),
        "\n",
    ]
    for f in result.final:
        lines += [
            ("✓ ", "bold $text-success"),
            (f.candidate, "bold"),
            f" for {cell_name(f.category, f.language)}: {f.model_path}",
            (f" + {Path(f.card_path).name}\n", "$text-muted"),
        ]
        if f.warning:
            lines.append((f"  ⚠ {f.warning}\n", "$text-warning"))
    lines.append(
        (
            "A run opened from the history: to train another final model, run the "
            "benchmark again (f4).",
            "$text-muted",
        )
    )
    return Content.assemble(*lines)
