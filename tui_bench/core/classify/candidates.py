"""The catalog of candidate classifiers: named scikit-learn pipelines (vectoriser + learner).

Each candidate says whether it trains by epochs (``partial_fit``, one call per epoch, so
the benchmark can stop early and report progress) and whether it is multilingual-safe:
character n-grams (``char_wb``) need no word boundaries, so they work for any script;
word n-grams split on spaces and punctuation and fail on Chinese, Japanese or Thai.

Learners that accept it weigh classes by inverse frequency (``class_weight="balanced"``),
since macro-F1, the ranking key, counts every class equally. Learners trained by
``partial_fit`` refuse "balanced"; they get the same weights per row (``sample_weight``,
``weighs_rows``), never as a ``class_weight`` dict: scikit-learn looks a dict up by class
value and (1.9) turns labels such as ``"0"`` and ``"1"`` into integers first, so a dict
keyed by the labels as written fails on the commonest binary data. Labels stay strings
everywhere; per-row weights do not depend on what they look like. (In one-vs-rest
multi-class training a row weight counts in every sub-problem, where a dict would weigh
only each sub-problem's positive rows.)

Transformer candidates (the ``finetune`` extra) sit in the same catalog and flow. A
fine-tuned encoder is named by its model (``builtin:minilm-l6``, a model folder, a model
id in the Hugging Face cache: ``encoders``): :func:`get` builds its spec on first use
(kind ``finetune``, trained by epochs in ``finetune``). ``minilm-frozen`` keeps the
encoder frozen: its mean-pooled embeddings (``frozen``) feed a logistic regression, a
scikit-learn pipeline like the others (``frozen:<model>`` does the same with any
encoder). Both run in a worker process (``isolated``): torch never loads in the caller.

``majority`` is the baseline that always answers the commonest class: it is always
trained, shown, and never ranked. ``stratified`` is the other baseline, guessing each
answer at random by the training class priors: never trained, its expected figures are
computed (``chance``); its pipeline is here for what it is (and for checking the
computation against a simulation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.naive_bayes import ComplementNB
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.svm import LinearSVC

from tui_bench.core.classify import encoders
from tui_bench.core.errors import UserError

BASELINE = "majority"
GUESS = "stratified"
SKLEARN = "sklearn"
FINETUNE = "finetune"  # a transformer fine-tuned with a classification head
FROZEN = "frozen"  # a frozen transformer's embeddings + a scikit-learn head
FROZEN_PREFIX = "frozen:"


@dataclass(frozen=True)
class CandidateSpec:
    name: str
    description: str
    by_epochs: bool
    multilingual: bool
    good_for: str  # "short texts" | "long texts" | "short and long texts"
    make_vectorizer: Callable[[], Any] | None
    make_classifier: Callable[[int, dict[str, float]], Any]
    baseline: bool = False
    weighs_rows: bool = False  # balanced weights go to fit / partial_fit as sample_weight
    kind: str = SKLEARN
    model: str | None = None  # a transformer's model, as named (``encoders``)

    @property
    def isolated(self) -> bool:
        """Trained in a worker process even with one job (torch, memory, native crashes)."""
        return self.kind != SKLEARN

    def build(self, seed: int, class_weight: Mapping[str, float]) -> tuple[Any | None, Any]:
        vec = self.make_vectorizer() if self.make_vectorizer is not None else None
        return vec, self.make_classifier(seed, dict(class_weight))

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "by_epochs": self.by_epochs,
            "multilingual": self.multilingual,
            "good_for": self.good_for,
            "baseline": self.baseline,
            "kind": self.kind,
        }


# Factories are module-level functions so that worker processes can rebuild a candidate
# from its name alone.


def _word_tfidf() -> TfidfVectorizer:
    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, max_features=200_000)


def _char_tfidf() -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=1, max_features=300_000
    )


def _char_hashing_tfidf() -> Pipeline:
    # Hashing needs no vocabulary pass: the feature space is fixed before the first epoch.
    return make_pipeline(
        HashingVectorizer(
            analyzer="char_wb", ngram_range=(2, 4), n_features=2**20, alternate_sign=False
        ),
        TfidfTransformer(sublinear_tf=True),
    )


def _small_char_tfidf() -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, max_features=20_000
    )


def _logreg(seed: int, class_weight: dict[str, float]) -> LogisticRegression:
    return LogisticRegression(C=10.0, max_iter=1000, class_weight="balanced", random_state=seed)


def _linear_svc(seed: int, class_weight: dict[str, float]) -> LinearSVC:
    return LinearSVC(C=0.5, class_weight="balanced", random_state=seed)


def _complement_nb(seed: int, class_weight: dict[str, float]) -> ComplementNB:
    return ComplementNB(alpha=0.3)


def _sgd(seed: int, class_weight: dict[str, float]) -> SGDClassifier:
    # partial_fit refuses class_weight="balanced", and a dict fails on labels that look
    # like numbers (module docstring): the trainer passes the balanced weights per row
    # (weighs_rows). shuffle=False: the trainer shuffles each epoch itself, with its own
    # seeded generator (SGD's own shuffle repeats one order on every call).
    return SGDClassifier(
        loss="modified_huber",
        alpha=1e-5,
        shuffle=False,
        random_state=seed,
    )


def _mlp(seed: int, class_weight: dict[str, float]) -> MLPClassifier:
    return MLPClassifier(
        hidden_layer_sizes=(64,),
        learning_rate_init=0.005,
        batch_size=32,
        alpha=1e-4,
        shuffle=False,
        random_state=seed,
    )


def _frozen_head(seed: int, class_weight: dict[str, float]) -> LogisticRegression:
    return LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced", random_state=seed)


def _embedder(model: str) -> Any:
    from tui_bench.core.classify.frozen import MeanPoolEmbedder

    return MeanPoolEmbedder(model)


def _not_sklearn(seed: int, class_weight: dict[str, float]) -> Any:
    raise TypeError("a fine-tuned transformer is trained by finetune.fit_transformer")


def _majority(seed: int, class_weight: dict[str, float]) -> DummyClassifier:
    return DummyClassifier(strategy="most_frequent")


def _stratified(seed: int, class_weight: dict[str, float]) -> DummyClassifier:
    return DummyClassifier(strategy="stratified", random_state=seed)


CATALOG: dict[str, CandidateSpec] = {
    spec.name: spec
    for spec in (
        CandidateSpec(
            name="tfidf-logreg",
            description="word 1-2-gram TF-IDF + logistic regression (balanced class weights)",
            by_epochs=False,
            multilingual=False,
            good_for="long texts",
            make_vectorizer=_word_tfidf,
            make_classifier=_logreg,
        ),
        CandidateSpec(
            name="char-svm",
            description="character 2-5-gram TF-IDF (char_wb) + linear SVM (balanced class weights)",
            by_epochs=False,
            multilingual=True,
            good_for="short and long texts",
            make_vectorizer=_char_tfidf,
            make_classifier=_linear_svc,
        ),
        CandidateSpec(
            name="complement-nb",
            description="word 1-2-gram TF-IDF + complement naive Bayes (suits skewed classes)",
            by_epochs=False,
            multilingual=False,
            good_for="long texts",
            make_vectorizer=_word_tfidf,
            make_classifier=_complement_nb,
        ),
        CandidateSpec(
            name="sgd",
            description=(
                "hashed character 2-4-gram TF-IDF + linear SGD (modified Huber), "
                "trained by epochs with early stopping"
            ),
            by_epochs=True,
            multilingual=True,
            good_for="short and long texts",
            make_vectorizer=_char_hashing_tfidf,
            make_classifier=_sgd,
            weighs_rows=True,
        ),
        CandidateSpec(
            name="mlp",
            description=(
                "character 2-4-gram TF-IDF (20k features) + one-hidden-layer MLP (64), "
                "trained by epochs with early stopping"
            ),
            by_epochs=True,
            multilingual=True,
            good_for="short texts",
            make_vectorizer=_small_char_tfidf,
            make_classifier=_mlp,
        ),
        CandidateSpec(
            name="minilm-frozen",
            description=(
                "frozen all-MiniLM-L6-v2 (builtin:minilm-l6): mean-pooled embeddings + "
                "logistic regression (balanced class weights)"
            ),
            by_epochs=False,
            multilingual=False,
            good_for="short texts",
            make_vectorizer=partial(_embedder, encoders.MINILM),
            make_classifier=_frozen_head,
            kind=FROZEN,
            model=encoders.MINILM,
        ),
        CandidateSpec(
            name=BASELINE,
            description="majority-class baseline: always answers the commonest training class",
            by_epochs=False,
            multilingual=True,
            good_for="reference only",
            make_vectorizer=None,
            make_classifier=_majority,
            baseline=True,
        ),
        CandidateSpec(
            name=GUESS,
            description=(
                "stratified guessing: answers at random by the training class priors; "
                "its expected scores are computed, not sampled"
            ),
            by_epochs=False,
            multilingual=True,
            good_for="reference only",
            make_vectorizer=None,
            make_classifier=_stratified,
            baseline=True,
        ),
    )
}

DEFAULT_MODELS: tuple[str, ...] = ("tfidf-logreg", "char-svm", "complement-nb", "sgd")
MIN_CANDIDATES = 2


def real_names() -> list[str]:
    """The scikit-learn candidates (no extra needed)."""
    return [name for name, spec in CATALOG.items() if not spec.baseline and spec.kind == SKLEARN]


def transformer_names() -> list[str]:
    """The transformer candidates ready here without naming a folder (the builtins)."""
    ready = encoders.installed_builtins()
    frozen = [n for n, s in CATALOG.items() if s.kind == FROZEN and s.model in ready]
    return [*ready, *frozen]


def cached_names() -> list[str]:
    """The encoders in the Hugging Face cache, usable here (the libraries installed):
    candidates to offer, none chosen (a scan of the cache: call it off the UI thread)."""
    return [] if encoders.libraries_missing() else encoders.cached_models()


_TRANSFORMER_HINT = (
    "a transformer is builtin:minilm-l6, minilm-frozen, a model folder or a model id "
    "in the Hugging Face cache"
)
_RESOLVED: dict[str, CandidateSpec] = {}


def get(name: str) -> CandidateSpec:
    """The spec of a catalog name or a transformer model; UserError (one line) when the
    name is unknown, or its model or libraries are not on this machine."""
    spec = CATALOG.get(name) or _RESOLVED.get(name)
    if spec is None:
        spec = _transformer(name)
        _RESOLVED[name] = spec
    if spec.model is not None:
        encoders.check_libraries(name)
        encoders.model_folder(spec.model)  # still there (raises a one-line error)
    return spec


def _transformer(name: str) -> CandidateSpec:
    frozen = name.startswith(FROZEN_PREFIX)
    model = name.removeprefix(FROZEN_PREFIX) if frozen else name
    if not frozen and not encoders.looks_like_model(name):
        raise UserError(
            f"unknown model {name!r} (catalog: {', '.join(real_names())}); {_TRANSFORMER_HINT}"
        )
    folder = encoders.model_folder(model)
    multilingual = encoders.is_multilingual(folder)
    if frozen:
        return CandidateSpec(
            name=name,
            description=f"frozen {model}: mean-pooled embeddings + logistic regression",
            by_epochs=False,
            multilingual=multilingual,
            good_for="short texts",
            make_vectorizer=partial(_embedder, model),
            make_classifier=_frozen_head,
            kind=FROZEN,
            model=model,
        )
    return CandidateSpec(
        name=name,
        description=(
            f"{model} fine-tuned with a sequence-classification head (class-weighted loss, "
            "AdamW with warm-up), trained by epochs with early stopping"
        ),
        by_epochs=True,
        multilingual=multilingual,
        good_for="short and long texts",
        make_vectorizer=None,
        make_classifier=_not_sklearn,
        kind=FINETUNE,
        model=model,
    )


def canonical(raw: str) -> str:
    """The name a candidate is known by, whichever way it was typed: a model folder by its
    absolute path (``frozen:`` kept: ``./m`` and ``/data/m`` are one model), anything else
    as given. Nothing is checked."""
    name = raw.strip()
    prefix = FROZEN_PREFIX if name.startswith(FROZEN_PREFIX) else ""
    model = name.removeprefix(prefix)
    if name not in CATALOG and not model.startswith(encoders.BUILTIN_PREFIX):
        path = Path(model).expanduser()
        if path.is_dir():
            return prefix + str(path.resolve())
    return name


def checked_name(raw: str) -> str:
    """A candidate typed by hand, checked offline (nothing downloaded, torch not imported),
    as the list and the configuration will name it: a catalog name as is, a model folder
    by its absolute path (``frozen:`` kept); UserError (one line) for a baseline, an
    unknown name, or a model that is not on this machine (``config.json`` and weights)."""
    name = canonical(raw)
    spec = get(name)
    if spec.baseline:
        raise UserError(f"{name} is a baseline: it always runs, beside the candidates")
    if spec.model is not None:
        encoders.check_model(spec.model)
    return name


def info(name: str) -> dict[str, Any]:
    """What the reports say about a candidate, from its name alone (never raises: a
    result read back from history may name a model that is no longer here)."""
    if name in CATALOG:
        return CATALOG[name].info()
    frozen = name.startswith(FROZEN_PREFIX)
    return {
        "name": name,
        "description": (
            f"frozen {name.removeprefix(FROZEN_PREFIX)}: mean-pooled embeddings + logistic "
            "regression"
            if frozen
            else f"{name} fine-tuned with a sequence-classification head"
        ),
        "by_epochs": not frozen,
        "multilingual": None,  # read from the model, which may be gone
        "good_for": "short texts" if frozen else "short and long texts",
        "baseline": False,
        "kind": FROZEN if frozen else FINETUNE,
    }


def resolve(names: Iterable[str] | None, *, where: str = "models") -> list[str]:
    """Validated real candidate names, in the given order, duplicates and the baseline dropped.

    At least ``MIN_CANDIDATES`` real candidates are required.
    """
    raw = list(DEFAULT_MODELS if names is None else names)
    out: list[str] = []
    for name in raw:
        name = name.strip()
        if not name:
            continue
        spec = get(name)
        if not spec.baseline and canonical(name) not in map(canonical, out):
            out.append(name)  # as given (./m and /data/m: one candidate, the first name)
    if len(out) < MIN_CANDIDATES:
        given = ", ".join(out) if out else "none"
        raise UserError(
            f"{where}: pick at least {MIN_CANDIDATES} candidates besides the baseline "
            f"(given: {given}; catalog: {', '.join(real_names())})"
        )
    return out


def check_multilingual(names: Sequence[str], languages: Sequence[str]) -> None:
    """One model for several languages needs at least two multilingual-safe candidates."""
    if len(languages) < 2:
        return
    safe = [n for n in names if get(n).multilingual]
    if len(safe) >= MIN_CANDIDATES:
        return
    all_safe = [n for n in real_names() if CATALOG[n].multilingual]
    shown = ", ".join(languages[:6]) + (", ..." if len(languages) > 6 else "")
    raise UserError(
        f"the data has {len(languages)} languages ({shown}) and one model serves them all: "
        f"pick at least {MIN_CANDIDATES} multilingual-safe candidates "
        f"({', '.join(all_safe)}; given: {', '.join(safe) or 'none'}), or train by language"
    )
