"""Report files of a classifier benchmark: report.md, data.json, results.csv, and the
SVG charts beside them (:mod:`tui_bench.core.classify.charts`, linked from report.md).

``data.json`` is ``ClassifyResult.to_dict()``: ``imbalance`` (one entry per category:
category, n_classes, n_samples, imbalance_ratio, normalized_entropy, minority_share,
profile ...), ``suggested`` {balanced, moderate, imbalanced}, ``results`` (one row per
candidate and cell: rank, medal, model, category, language, f1_macro, accuracy,
balanced_accuracy, train_time_s ...), ``aggregates``, ``final`` and the rest.
``results.csv`` holds the ``results`` rows, per-class figures and the confusion matrix
as JSON strings. Every figure is kept at full precision in data.json and the history:
a report rebuilt from either is the original byte for byte.
Paths under the home folder are written ``~/...`` in all three (reports are shared).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from tui_bench.core.classify import candidates as cand
from tui_bench.core.classify import charts
from tui_bench.core.classify import imbalance as imb
from tui_bench.core.classify import report_detail as detail
from tui_bench.core.classify.estimate import human_seconds
from tui_bench.core.classify.result import ClassifyResult
from tui_bench.core.fmt import MISSING, cell_name, num, or_missing, score, signed
from tui_bench.core.redact import home_relative, redact

AGGREGATE_GROUPS = ("binary", "multiclass", "all")
AGGREGATE_TITLES = {
    "binary": "Binary categories",
    "multiclass": "Multi-class categories",
    "all": "Every category (the top choice is read from this table)",
}

CSV_COLUMNS = [
    "rank",
    "medal",
    "model",
    "category",
    "language",
    "group",
    "n_classes",
    "baseline",
    "f1_macro",
    "f1_vs_baseline",
    "ci_low",
    "ci_high",
    "verdict",
    "tied_with",
    "top_low",
    "top_high",
    "best_baseline",
    "f1_macro_sd",
    "accuracy",
    "balanced_accuracy",
    "mcc",
    "minority_class",
    "minority_f1",
    "train_time_s",
    "predict_ms_per_1k",
    "n_train",
    "n_test",
    "folds",
    "epochs_run",
    "best_epoch",
    "error",
    "per_class_f1",
    "per_class",
    "confusion",
]


def write_reports(result: ClassifyResult, output_dir: str | Path) -> dict[str, Path]:
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = redact(result.to_dict())
    paths = {
        "json": out / "data.json",
        "csv": out / "results.csv",
        "md": out / "report.md",
    }
    paths["json"].write_text(
        json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    write_csv(data["results"], paths["csv"])
    paths["md"].write_text(home_relative(render_markdown(result)), encoding="utf-8")
    paths.update(charts.write(result, out))
    return paths


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            flat = dict(row)
            for key, empty in (("per_class_f1", {}), ("per_class", {}), ("confusion", [])):
                flat[key] = json.dumps(row.get(key) or empty, ensure_ascii=False)
            writer.writerow({k: "" if flat.get(k) is None else flat.get(k) for k in CSV_COLUMNS})


# --------------------------------------------------------------------------- markdown


def _esc(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(result: ClassifyResult) -> str:
    cfg = result.config
    ds = result.dataset
    lines: list[str] = ["# Classifier benchmark", ""]
    source = cfg.get("label_column") or cfg.get("annotation_column")
    lines += [
        f"- data: `{ds['path']}` ({ds['n_rows']} rows, {ds['format']}); text column "
        f"`{ds['text_column']}`, labels from `{source}`"
        + (f", language column `{ds['language_column']}`" if ds.get("language_column") else ""),
        f"- status: {result.status}; started {result.started_at}; {result.duration_s:.1f} s"
        + _estimate_text(result),
        "- split: "
        + (
            f"stratified {cfg['cv']}-fold cross-validation"
            if cfg.get("cv")
            else f"stratified hold-out, {cfg['test_size']:.0%} test"
        )
        + f"; seed {cfg['seed']}; {cfg['epochs']} epochs (patience {cfg['patience']}) for learners "
        f"that train by epochs; {cfg['jobs']} job(s)"
        + ("; one model per language" if cfg.get("by_language") else ""),
    ]
    if ds.get("skipped_no_text"):
        lines.append(f"- rows without text, left out: {ds['skipped_no_text']}")
    lines.append("")

    lines += _imbalance_section(result)
    lines += _ranking_section(result)
    lines += detail.training_section(result)
    lines += _aggregate_section(result)
    if result.language_balance:
        lines += _balance_section(result)
    lines += _final_section(result)
    lines += charts.markdown(result)
    lines += detail.per_class_section(result)
    for note in result.notes:
        lines.append(f"- note: {note}")
    if result.notes:
        lines.append("")
    lines += _how_to_read()
    return "\n".join(lines).rstrip() + "\n"


def _estimate_text(result: ClassifyResult) -> str:
    est = result.estimate
    if not est or est.get("seconds") is None:
        return ""
    return f" (estimated beforehand: about {human_seconds(float(est['seconds']))})"


def _imbalance_section(result: ClassifyResult) -> list[str]:
    t = result.thresholds
    lines = [
        "## Class imbalance",
        "",
        f"Profile by imbalance ratio r = largest class / smallest class: **balanced** if "
        f"r ≤ {t['balanced_max_ratio']:g}, **imbalanced** if r ≥ {t['imbalanced_min_ratio']:g}, "
        f"**moderate** in between. The ratio means the same with 2 or with 10 classes; "
        f"normalised entropy (H / ln k, 1 = balanced) and the minority shares are shown "
        f"but do not decide the profile. Rare classes: {t['rare_class_rule']}; the measures "
        f"are those of the classes that remain. A category is used when it has "
        f"{t['eligibility']}.",
        "",
        "| Category | Rows | Classes | Ratio | Norm. entropy | Minority share | Minority vs 1/k "
        "| Profile | Dropped rare classes | Used |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    chosen = set(result.categories)
    for a in result.imbalance:
        used = "benchmarked" if a.category in chosen else ("yes" if a.eligible else "excluded")
        lines.append(
            f"| {_esc(a.category)} | {a.n_samples} | {a.n_classes} | {num(a.imbalance_ratio, 2)} "
            f"| {num(a.normalized_entropy, 3)} | {num(a.minority_share, 3)} "
            f"| {num(a.minority_vs_fair, 3)} "
            f"| {or_missing(a.profile)} | {_dropped(a.dropped_classes)} | {used} |"
        )
    lines.append("")
    counts = [
        f"{_esc(a.category)}: " + ", ".join(f"{_esc(k)} {v}" for k, v in a.class_counts.items())
        for a in result.imbalance
        if a.n_classes <= 12
    ]
    if counts:
        lines += ["Class counts: " + "; ".join(counts) + ".", ""]
    if result.cell_imbalance:
        lines += [
            "Per language (one model per language: each is split, trained and ranked apart):",
            "",
            "| Category | Language | Rows | Classes | Ratio | Norm. entropy | Minority share "
            "| Profile | Used |",
            "|---|---|---:|---:|---:|---:|---:|---|---|",
        ]
        for a in result.cell_imbalance:
            lines.append(
                f"| {_esc(a.category)} | {_esc(or_missing(a.language))} | {a.n_samples} "
                f"| {a.n_classes} "
                f"| {num(a.imbalance_ratio, 2)} | {num(a.normalized_entropy, 3)} "
                f"| {num(a.minority_share, 3)} | {or_missing(a.profile)} "
                f"| {'yes' if a.eligible else 'excluded'} |"
            )
        lines.append("")
    if result.excluded:
        lines += ["Excluded:", ""]
        for ex in result.excluded:
            lines.append(f"- {_esc(cell_name(ex['category'], ex.get('language')))}: {ex['reason']}")
        lines.append("")
    lines += [
        "Suggested categories (per profile, the eligible category with the most rows):",
        "",
    ]
    for profile in imb.PROFILES:
        s = result.suggested[profile]
        if s.category is None:
            lines.append(f"- {profile}: none ({s.reason})")
        else:
            lines.append(f"- {profile}: **{_esc(s.category)}** ({s.reason})")
    lines += ["", f"Benchmarked: {', '.join(map(_esc, result.categories))}.", ""]
    return lines


def _dropped(dropped: dict[str, int]) -> str:
    if not dropped:
        return MISSING
    items = [f"{_esc(k)} ({v})" for k, v in dropped.items()]
    return ", ".join(items[:4]) + (f" +{len(items) - 4} more" if len(items) > 4 else "")


def _ranking_section(result: ClassifyResult) -> list[str]:
    lines = ["## Ranking per category", ""]
    lines.append(
        "Ranked by macro-F1 (ties: accuracy, then training time). Binary and multi-class "
        "categories are ranked separately, never against each other. Two baselines are "
        "shown in every table, never ranked: majority (always the commonest training class) "
        "and stratified (guessing by the class priors; its expected scores are computed, "
        "not sampled). 'vs baseline' is macro-F1 minus the better baseline's, with its 95% "
        f"interval ({detail.method_text(result.significance)}). Places come from the same "
        "intervals: a candidate whose difference to the best candidate of the place above "
        "holds zero shares that place ('tied with' it); places count as in sport (two tied "
        "first, the next is third). A medal goes to a place of the first three whose "
        "interval to the baseline lies above zero; any other candidate is 'not better than "
        "chance'. 'vs top' is the difference to the top candidate."
    )
    lines.append("")
    cells: dict[tuple[str, str | None], list[Any]] = {}
    for row in result.rows:
        cells.setdefault(row.cell, []).append(row)
    cv = bool(result.config.get("cv"))
    for (category, language), rows in cells.items():
        first = rows[0]
        kind = "binary" if first.group == "binary" else f"multi-class, {first.n_classes} classes"
        res = result.result_for(first.model, category, language)
        sizes = f"; {res.n_train} train / {res.n_test} test rows" if res is not None else ""
        lines += [f"### {_esc(cell_name(category, language))} ({kind}{sizes})", ""]
        head = "| Rank | Model | Macro-F1 |" + (" ± sd |" if cv else "")
        head += (
            " vs baseline | 95% interval | Verdict | vs top, 95% interval | Balanced acc. "
            "| MCC | Accuracy | Minority F1 | Train s | Predict ms / 1k |"
        )
        lines.append(head)
        lines.append(
            "|---|---|---:|"
            + ("---:|" if cv else "")
            + "---:|---|---|---|---:|---:|---:|---:|---:|---:|"
        )
        for row in rows:
            lines.append(_ranking_line(row, cv))
        lines.append("")
        lines += detail.baseline_note(rows)
        errors = [r for r in rows if r.error]
        for r in errors:
            lines.append(f"- {r.model} failed: {_esc(r.error or '')}")
        if errors:
            lines.append("")
    return lines


def _ranking_line(row: Any, cv: bool) -> str:
    if row.baseline:
        rank = "baseline"
    elif row.rank is None:
        rank = "failed"
    else:
        rank = f"{row.medal} {row.shown_place}".strip()
    minority = (
        f"{score(row.minority_f1)} ({_esc(row.minority_class)})" if row.minority_class else MISSING
    )
    line = f"| {rank} | {row.model} | {score(row.f1_macro)} |"
    if cv:
        line += f" {score(row.f1_macro_sd)} |"
    return line + (
        f" {signed(row.f1_vs_baseline)} | {detail.interval(row.ci_low, row.ci_high)} "
        f"| {detail.verdict_text(row)} | {detail.vs_top_text(row)} "
        f"| {score(row.balanced_accuracy)} | {signed(row.mcc) if row.mcc is not None else MISSING} "
        f"| {score(row.accuracy)} | {minority} | {num(row.train_time_s, 2)} "
        f"| {num(row.predict_ms_per_1k, 1)} |"
    )


def _aggregate_section(result: ClassifyResult) -> list[str]:
    if not result.aggregates:
        return []
    lines = [
        "## Across categories",
        "",
        "One rule orders these tables and makes the top choice: the lowest mean place over "
        "the cells (places shared when tied), then the lowest mean rank, then more first "
        "places, then shorter total training time; models with the same mean place share "
        "a place here. Places and ranks are ordinal within each category, so binary and "
        "multi-class categories can share a "
        "mean rank; their macro-F1 scales differ, so mean macro-F1 is shown per kind only "
        "as a figure. A medal needs the model to be better than chance in every cell of "
        "the table.",
        "",
    ]
    for group in AGGREGATE_GROUPS:
        rows = [a for a in result.aggregates if a.group == group]
        if not rows:
            continue
        lines += [
            f"### {AGGREGATE_TITLES[group]}",
            "",
            "| Rank | Model | Cells | Mean rank | Wins | Better than chance | Mean macro-F1 "
            "| Mean vs baseline | Mean accuracy | Train s (total) |",
            "|---|---|---:|---:|---:|---|---:|---:|---:|---:|",
        ]
        for a in rows:
            rank = (
                f"{a.medal} {a.shown_place}".strip()
                if a.rank
                else f"{MISSING} ({a.n_missing} missing)"
            )
            lines.append(
                f"| {rank} | {a.model} | {a.n_cells} | {num(a.mean_rank, 2)} | {a.wins} "
                f"| {a.n_better} of {a.n_cells} | {score(a.mean_f1_macro)} "
                f"| {signed(a.mean_f1_vs_baseline)} | {score(a.mean_accuracy)} "
                f"| {num(a.total_train_time_s, 2)} |"
            )
        lines.append("")
    return lines


def _balance_section(result: ClassifyResult) -> list[str]:
    penalty = result.language_balance[0].penalty
    lines = [
        "## Balance across languages",
        "",
        f"Language balance penalty in use: score = mean macro-F1 over languages − {penalty:g} × "
        "sd over languages (population sd). A model good in one language and poor in another "
        "ranks below a steadier one.",
        "",
        "| Category | Kind | Rank | Model | Score | Mean F1 | Sd | Per language |",
        "|---|---|---|---|---:|---:|---:|---|",
    ]
    for b in result.language_balance:
        per = ", ".join(f"{lang} {score(v)}" for lang, v in b.f1_by_language.items())
        lines.append(
            f"| {_esc(b.category)} | {b.group} | {f'{b.medal} {b.rank}'.strip()} | {b.model} "
            f"| {score(b.score)} "
            f"| {score(b.mean_f1_macro)} | {score(b.sd_f1_macro)} | {per} |"
        )
    lines.append("")
    return lines


def _final_section(result: ClassifyResult) -> list[str]:
    lines = ["## Final choice", ""]
    choice = result.choice
    mode = choice.get("mode")
    if mode == "none":
        lines.append(
            f"No final model trained ({choice.get('reason', 'stopped after the benchmark')})."
        )
    elif "models_by_language" in choice:
        for lang, model in choice["models_by_language"].items():
            why = choice.get("reasons", {}).get(lang, "")
            lines.append(f"- {lang}: **{model or 'none'}** ({why})")
    else:
        lines.append(f"Chosen: **{choice.get('model') or 'none'}** ({choice.get('reason', '')}).")
    lines.append("")
    if result.final:
        tuned = any(cand.info(fm.candidate)["kind"] == cand.FINETUNE for fm in result.final)
        lines += [
            "Trained on all the rows of each category, epochs doubled for learners that train "
            "by epochs"
            + (" (a fine-tuned transformer: the epochs early stopping kept)" if tuned else "")
            + ", and saved with a JSON card (labels, benchmark metrics, data hash, "
            "library versions):",
            "",
        ]
        for fm in result.final:
            lines.append(
                f"- {_esc(cell_name(fm.category, fm.language))}: {fm.candidate}, "
                f"{fm.n_samples} rows, {fm.train_time_s:.2f} s → `{Path(fm.model_path).name}`, "
                f"`{Path(fm.card_path).name}`" + (f" ⚠ {_esc(fm.warning)}" if fm.warning else "")
            )
        lines.append("")
    errors = choice.get("errors") or []
    if errors:
        lines += ["Not saved:", "", *(f"- {_esc(e)}" for e in errors), ""]
    return lines


def _how_to_read() -> list[str]:
    return [
        "## How to read these numbers",
        "",
        "- Macro-F1 averages the F1 of every class with equal weight: a model that ignores a "
        "rare class loses as much as on a common one. It is the ranking key.",
        "- Accuracy counts correct answers; on an imbalanced category the majority baseline "
        "already scores high on it, so read it against the baseline row.",
        "- Balanced accuracy is the mean recall over classes (the baseline gets 1/k).",
        "- Minority F1 is the F1 of the class with the fewest training rows: the first thing "
        "to suffer from imbalance.",
        "- 'vs baseline' is how far macro-F1 sits above the better baseline; read it with "
        "its interval and verdict below.",
        *detail.legend(),
        "- Train s is wall time for vectorising and training (every epoch and its validation "
        "included); Predict ms / 1k is the time to vectorise and classify 1,000 texts.",
        "- Scores of binary and multi-class categories are not comparable: a 0.80 macro-F1 "
        "over 10 classes is harder to reach than over 2.",
        "- A single hold-out split on a few hundred rows moves by a few points from one seed "
        "to another: the intervals say how much; cross-validation (--cv, --cv-repeats) "
        "narrows them.",
        "",
    ]
