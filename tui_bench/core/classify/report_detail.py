"""The parts of a classifier report.md that say how sure a verdict is and what each class
got: intervals and verdicts in words, the baseline a cell is held to, per-class metrics
with the confusion matrices, how each transformer trained, and the legend of the
statistics. ``report`` assembles them.
"""

from __future__ import annotations

from typing import Any

from tui_bench.core.fmt import MISSING, cell_name, num, score, signed


def _esc(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def method_text(significance: dict[str, Any]) -> str:
    """How the intervals were computed, in a few words."""
    method = significance.get("method")
    if method == "bootstrap":
        return (
            f"paired bootstrap over the test rows, {significance.get('resamples', 0):,} "
            f"resamples, seed {significance.get('seed', 0)}"
        )
    if method == "corrected t":
        repeats = significance.get("repeats", 1)
        folds = f"{significance.get('cv')}-fold" + (f" × {repeats} repeats" if repeats > 1 else "")
        return (
            f"corrected resampled t-test over the {significance.get('folds')} folds "
            f"({folds}; Nadeau & Bengio 2003)"
        )
    return "no interval recorded for this run"


def interval(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return MISSING
    return f"[{signed(low)}, {signed(high)}]"


def verdict_text(row: Any) -> str:
    """A row's verdict: better or not better than chance, and a tie with the top."""
    if row.baseline:
        return "best baseline" if row.best_baseline else MISSING
    if row.rank is None or not row.verdict:
        return MISSING
    tie = f"; tied with {row.tied_with}" if row.tied_with else ""
    return f"{row.verdict}{tie}"


def vs_top_text(row: Any) -> str:
    if row.baseline or row.rank is None:
        return MISSING
    if row.rank == 1:
        return "top"
    return interval(row.top_low, row.top_high)


def baseline_note(rows: list[Any]) -> list[str]:
    """The line under a cell's table: the baseline its candidates are held to."""
    best = next((r for r in rows if r.baseline and r.best_baseline), None)
    if best is None:
        return []
    others = [r for r in rows if r.baseline and r is not best and r.f1_macro is not None]
    rest = "".join(f"; {r.model} {score(r.f1_macro)}" for r in others)
    how = " (expected, computed from the class priors)" if best.model == "stratified" else ""
    return [f"Baseline: {best.model}, macro-F1 {score(best.f1_macro)}{how}{rest}.", ""]


def per_class_section(result: Any) -> list[str]:
    """Per cell and candidate: precision, recall, F1 and support per class, then the
    confusion matrix."""
    blocks: list[str] = []
    for row in result.rows:
        if row.baseline or row.rank is None:
            continue
        res = result.result_for(row.model, row.category, row.language)
        if res is None or not res.per_class:
            continue
        where = cell_name(row.category, row.language)
        blocks += [
            f"### {_esc(where)}: {row.model}",
            "",
            "| Class | Precision | Recall | F1 | Support |",
            "|---|---:|---:|---:|---:|",
        ]
        for label in res.classes:
            m = res.per_class.get(label) or {}
            blocks.append(
                f"| {_esc(label)} | {score(m.get('precision'))} | {score(m.get('recall'))} "
                f"| {score(m.get('f1'))} | {int(m.get('support', 0)):,} |"
            )
        blocks.append("")
        if res.confusion:
            blocks += [
                "| true \\ predicted | " + " | ".join(_esc(c) for c in res.classes) + " |",
                "|---|" + "---:|" * len(res.classes),
            ]
            for label, counts in zip(res.classes, res.confusion, strict=False):
                blocks.append(f"| {_esc(label)} | " + " | ".join(f"{c:,}" for c in counts) + " |")
            blocks.append("")
    if not blocks:
        return []
    cv = bool(result.config.get("cv"))
    where = "summed over every fold" if cv else "on the test rows"
    return [
        "## Per class",
        "",
        f"Precision, recall, F1 and support of each class, and the confusion matrix (rows: "
        f"the true class, columns: the class predicted), {where}.",
        "",
        *blocks,
    ]


def training_section(result: Any) -> list[str]:
    """Each transformer that trained: where (device, precision, threads), its maximum
    length and batch, examples per second and seconds per epoch, and per epoch the
    training loss and the validation macro-F1; on a GPU its memory peak and utilisation.
    A batch halved to fit in GPU memory says the one planned."""
    trained = [r for r in result.results if r.training]
    if not trained:
        return []
    lines = [
        "## Transformer training",
        "",
        "| cell | candidate | device | max length | batch | examples/s | s/epoch "
        "| loss per epoch | val macro-F1 per epoch | GPU memory peak | GPU util |",
        "|---|---|---|---:|---:|---:|---:|---|---|---:|---:|",
    ]
    for r in trained:
        t = r.training
        device = t.get("device_name") or t.get("device") or MISSING
        if t.get("precision"):
            device += f", {t['precision']}"
        if t.get("threads"):
            device += f", {t['threads']} threads"
        peak = t.get("gpu_memory_peak_mib")
        util = t.get("gpu_util_mean_pct")
        batch = str(t.get("batch_size", MISSING))
        if t.get("batch_size_planned") not in (None, t.get("batch_size")):
            batch += f" (planned {t['batch_size_planned']})"
        losses = " ▸ ".join(num(v, 3) for v in t.get("train_loss_by_epoch") or []) or MISSING
        f1s = " ▸ ".join(score(v) for v in r.val_f1_by_epoch) or MISSING
        lines.append(
            f"| {_esc(cell_name(r.category, r.language))} | {_esc(r.candidate)} | {device} "
            f"| {t.get('max_length', MISSING)} | {batch} "
            f"| {num(t.get('examples_per_s'))} | {num(t.get('epoch_s'))} | {losses} | {f1s} "
            f"| {MISSING if peak is None else f'{peak:.0f} MiB'} "
            f"| {MISSING if util is None else f'{util:.0f}%'} |"
        )
    return [*lines, ""]


def legend() -> list[str]:
    """How to read the intervals, ties and 'not better than chance'."""
    return [
        "- Baselines: majority always answers the commonest training class; stratified "
        "guesses each answer at random with the training class priors p_c. Its expected "
        "macro-F1 is computed, not sampled: on N test rows with n_c of class c, "
        "E[F1_c] = Σ_s P(S_c = s) · 2·s·n_c / (N·(n_c + s)), S_c ~ Binomial(N, p_c) its "
        "count of c answers, and E[macro-F1] is the mean of E[F1_c] over the k classes "
        "(about 1/k when test and training priors match). The better of the two on "
        "macro-F1 is the cell's baseline.",
        "- 95% interval (hold-out): a paired bootstrap over the test rows: the rows are "
        "resampled with replacement, the candidate and the baseline scored on the same "
        "resample (guessing by its expectation given the resample's class counts), and "
        "the interval runs from the 2.5th to the 97.5th percentile of the differences.",
        "- 95% interval (cross-validation): the corrected resampled t-test (Nadeau & "
        "Bengio 2003) over the J fold differences: mean ± t(J−1) · sqrt((1/J + "
        "n_test/n_train) · s²), the variance widened because the folds share training rows.",
        "- 'not better than chance': the interval vs the baseline reaches zero or below; "
        "the model may have learned nothing, whatever its macro-F1 or accuracy. No medal "
        "then, whatever its rank.",
        "- 'tied with X': the interval of the difference to the top candidate X holds "
        "zero; the data cannot tell the two apart.",
        "- MCC (Matthews correlation) runs from -1 to 1, 0 for answers unrelated to the "
        "truth; unlike accuracy it is not fooled by a majority class.",
    ]
