"""Real labelled corpora that a Python package ships inside its wheel (no download).

``chatterbot``: the ChatterBot dialog corpus (package ``chatterbot-corpus``, 1.3.3,
BSD-3-Clause, a 340 KB wheel with no dependencies), YAML files of short conversations
sorted by topic, in 28 languages: 2,026 English conversations over 21 topics (tech
support, trivia, coding, AI, psychology, emotion ...), several hundred each in Italian,
Japanese, Korean, Persian, Ukrainian, Chinese and more. Each conversation becomes one
row: its turns joined by " / " as the text, the file's category as ``topic``, the folder
as ``language`` (ISO 639-1 where there is one), and an ``annotation`` cell
``{"topic": ...}`` for the annotation-column path. Reading YAML needs PyYAML.

    export_corpus("chatterbot", "chatterbot.csv", languages=["en"])
    # then: text column "text", label column "topic" (or annotation column "annotation"),
    # language column "language"

The package is found with ``importlib.util.find_spec`` and its files read directly,
without importing anything from it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui_bench.core.errors import UserError
from tui_bench.core.paths import package_dir

ISO_639_1 = {
    "bengali": "bn",
    "chinese": "zh",
    "dutch": "nl",
    "english": "en",
    "french": "fr",
    "german": "de",
    "hebrew": "he",
    "hindi": "hi",
    "indonesian": "id",
    "italian": "it",
    "japanese": "ja",
    "korean": "ko",
    "marathi": "mr",
    "oriya": "or",
    "persian": "fa",
    "portuguese": "pt",
    "russian": "ru",
    "spanish": "es",
    "swedish": "sv",
    "tamil": "ta",
    "telugu": "te",
    "thai": "th",
    "traditionalchinese": "zh-hant",
    "turkish": "tr",
    "ukrainian": "uk",
    "urdu": "ur",
    "yoruba": "yo",
}

COLUMNS = ("text", "topic", "language", "annotation")


@dataclass(frozen=True)
class CorpusInfo:
    name: str
    package: str
    version: str
    licence: str
    description: str
    text_column: str = "text"
    label_column: str = "topic"
    annotation_column: str = "annotation"
    language_column: str = "language"


CORPORA: dict[str, CorpusInfo] = {
    "chatterbot": CorpusInfo(
        name="chatterbot",
        package="chatterbot-corpus",
        version="1.3.3",
        licence="BSD-3-Clause",
        description="ChatterBot dialog corpus: short conversations labelled by topic, 28 languages",
    )
}


@dataclass
class CorpusExport:
    corpus: CorpusInfo
    path: str
    n_rows: int
    languages: dict[str, int]
    topics: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "corpus": self.corpus.name,
            "package": self.corpus.package,
            "path": self.path,
            "n_rows": self.n_rows,
            "languages": self.languages,
            "topics": self.topics,
            "text_column": self.corpus.text_column,
            "label_column": self.corpus.label_column,
            "annotation_column": self.corpus.annotation_column,
            "language_column": self.corpus.language_column,
        }


def _package_dir(module: str, package: str) -> Path:
    folder = package_dir(module)
    if folder is None:
        raise UserError(
            f"corpus needs the package {package!r}: pip install {package} "
            f"(or pip install 'tui-bench[corpus]')"
        )
    return folder


def _yaml() -> Any:
    try:
        import yaml
    except ImportError:
        raise UserError("reading the chatterbot corpus needs PyYAML: pip install pyyaml") from None
    return yaml


def chatterbot_rows(languages: Sequence[str] | None = None) -> list[dict[str, str]]:
    """One row per conversation: text, topic, language (sorted by language, file, order)."""
    base = _package_dir("chatterbot_corpus", "chatterbot-corpus") / "data"
    yaml = _yaml()
    wanted = _wanted_languages(languages, base)
    rows: list[dict[str, str]] = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        code = ISO_639_1.get(folder.name, folder.name)
        if wanted is not None and code not in wanted and folder.name not in wanted:
            continue
        for path in sorted(folder.glob("*.yml")):
            try:
                doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as exc:
                raise UserError(f"{path}: unreadable YAML ({exc})") from None
            categories = doc.get("categories") or [path.stem]
            topic = str(categories[0]).strip()
            for convo in doc.get("conversations") or []:
                turns = [str(t).strip() for t in (convo or []) if t is not None and str(t).strip()]
                if not turns:
                    continue
                rows.append({"text": " / ".join(turns), "topic": topic, "language": code})
    return rows


def _wanted_languages(languages: Sequence[str] | None, base: Path) -> set[str] | None:
    if languages is None:
        return None
    known = {p.name for p in base.iterdir() if p.is_dir()}
    codes = {ISO_639_1.get(n, n) for n in known}
    wanted = {lang.strip().lower() for lang in languages if lang.strip()}
    unknown = sorted(w for w in wanted if w not in codes and w not in known)
    if unknown:
        raise UserError(
            f"chatterbot corpus: no language {', '.join(map(repr, unknown))} "
            f"(languages: {', '.join(sorted(codes))})"
        )
    return wanted


def export_corpus(
    name: str, path: str | Path, *, languages: Iterable[str] | None = None
) -> CorpusExport:
    """Write corpus ``name`` to ``path`` (.csv or .jsonl) in the form ``classify`` reads."""
    info = CORPORA.get(name)
    if info is None:
        raise UserError(f"unknown corpus {name!r} (corpora: {', '.join(CORPORA)})")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl"):
        raise UserError(f"{path}: export as .csv or .jsonl")
    rows = chatterbot_rows(list(languages) if languages is not None else None)
    path.parent.mkdir(parents=True, exist_ok=True)
    for row in rows:
        row["annotation"] = json.dumps({"topic": row["topic"]}, ensure_ascii=False)
    if suffix == ".csv":
        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(COLUMNS))
            writer.writeheader()
            writer.writerows(rows)
    else:
        with open(path, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    langs: dict[str, int] = {}
    for row in rows:
        langs[row["language"]] = langs.get(row["language"], 0) + 1
    return CorpusExport(
        corpus=info,
        path=str(path),
        n_rows=len(rows),
        languages=dict(sorted(langs.items())),
        topics=len({(r["language"], r["topic"]) for r in rows}),
    )
