"""What a classifier benchmark is asked to do (:class:`ClassifyConfig`), validated with
one-line errors before anything is loaded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tui_bench.core.classify import candidates as cand
from tui_bench.core.errors import UserError

CHOOSE_TOP = "top"


CHOOSE_NONE = "none"


MAX_EPOCHS = 50


MAX_FOLDS = 10


MAX_REPEATS = 10


MAX_TOKENS = (8, 512)  # the range of --max-length (transformers' tokens per text)


@dataclass
class ClassifyConfig:
    data: str | Path
    text_column: str = "text"
    label_column: str | None = None
    annotation_column: str | None = None
    language_column: str | None = None
    categories: list[str] | None = None  # None: the suggested ones
    models: list[str] | None = None  # None: candidates.DEFAULT_MODELS
    models_by_language: dict[str, list[str]] | None = None  # by-language runs only
    epochs: int = 3
    jobs: int = 1  # <= 0: every core
    choose: str = CHOOSE_NONE  # "top" | a candidate name | "none"
    choose_by_language: dict[str, str] | None = None  # manual pick per language (by-language)
    by_language: bool = False
    seed: int = 0
    test_size: float = 0.2
    cv: int | None = None  # k-fold cross-validation instead of one hold-out split
    cv_repeats: int = 1  # the k-fold repeated, each time shuffled anew (cv only)
    patience: int = 2
    language_penalty: float | None = None  # λ in mean − λ·sd over languages
    output_dir: str | Path | None = None
    max_length: int = 256  # transformers: the cap on the tokens per text (finetune.py)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["data"] = str(self.data)
        out["output_dir"] = str(self.output_dir) if self.output_dir is not None else None
        return out

    def model_names(self) -> list[str]:
        return cand.resolve(self.models)

    def validate(self) -> None:
        """Raise a one-line UserError for any bad setting (no data is read)."""
        if (self.label_column is None) == (self.annotation_column is None):
            raise UserError("give exactly one of --label-column or --annotation-column")
        if not isinstance(self.epochs, int) or not 1 <= self.epochs <= MAX_EPOCHS:
            raise UserError(f"epochs: {self.epochs!r} is not a whole number from 1 to {MAX_EPOCHS}")
        low, high = MAX_TOKENS
        if not isinstance(self.max_length, int) or not low <= self.max_length <= high:
            raise UserError(
                f"max length: {self.max_length!r} is not a whole number from {low} to {high}"
            )
        if not isinstance(self.patience, int) or self.patience < 1:
            raise UserError(f"patience: {self.patience!r} is not a whole number >= 1")
        if not isinstance(self.jobs, int):
            raise UserError(f"jobs: {self.jobs!r} is not a whole number (<= 0: every core)")
        if not 0.05 <= self.test_size <= 0.5:
            raise UserError(f"test size: {self.test_size!r} is not between 0.05 and 0.5")
        if self.cv is not None and not 2 <= self.cv <= MAX_FOLDS:
            raise UserError(
                f"cv: {self.cv!r} folds; use 2 to {MAX_FOLDS}, or none for a hold-out split"
            )
        if not isinstance(self.cv_repeats, int) or not 1 <= self.cv_repeats <= MAX_REPEATS:
            raise UserError(
                f"cv repeats: {self.cv_repeats!r} is not a whole number from 1 to {MAX_REPEATS}"
            )
        if self.cv_repeats > 1 and self.cv is None:
            raise UserError(f"cv repeats: {self.cv_repeats} repeats need cross-validation (--cv K)")
        names = self.model_names()
        per_lang = self.models_by_language or {}
        if per_lang and not self.by_language:
            raise UserError(
                "models by language need training by language (--by-language): "
                f"lists given for {', '.join(sorted(per_lang))}"
            )
        all_names = set(names)
        for lang, lang_models in per_lang.items():
            all_names.update(cand.resolve(lang_models, where=f"models for {lang}"))
        if self.language_penalty is not None:
            if not self.by_language:
                raise UserError("a language balance penalty needs training by language")
            if self.language_penalty < 0:
                raise UserError(f"language penalty: {self.language_penalty!r} is negative")
        if self.choose not in (CHOOSE_TOP, CHOOSE_NONE):
            spec = cand.get(self.choose)
            if spec.baseline:
                raise UserError(f"choose: {self.choose!r} is the baseline; pick a candidate")
            if self.choose not in all_names:
                raise UserError(
                    f"choose: {self.choose!r} is not among the benchmarked models "
                    f"({', '.join(sorted(all_names))})"
                )
        if self.choose_by_language:
            if not self.by_language:
                raise UserError("a choice per language needs training by language")
            for lang, model in self.choose_by_language.items():
                allowed = set(
                    cand.resolve(per_lang[lang], where=f"models for {lang}")
                    if lang in per_lang
                    else names
                )
                if model not in allowed:
                    raise UserError(
                        f"choice for {lang}: {model!r} is not among the models benchmarked "
                        f"for it ({', '.join(sorted(allowed))})"
                    )
            if self.output_dir is None:
                raise UserError("a choice per language saves models: give an output directory")
        if self.choose != CHOOSE_NONE and self.output_dir is None:
            raise UserError(f"choose {self.choose!r} saves models: give an output directory")
