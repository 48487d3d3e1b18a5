"""Scenario index files: reading one, validating every field, and the catalog they make.

An index is a TOML or JSON file holding a list ``scenarios``; each entry is one
scenario (see :mod:`tui_bench.core.scenarios` for the fields). The package ships
``tui_bench/scenarios/index.toml``; a user's own index, named by ``$TUI_BENCH_SCENARIOS``,
adds scenarios to it and replaces a shipped one of the same id (the whole entry, never
field by field: half of one scenario's thresholds over another's data would measure
nothing anyone wrote down).

Every problem is one line ``FILE: scenarios[i].FIELD: what is wrong`` (exit code 2).
Data files must exist when the index is read; their contents are checked on use
(:mod:`.rag_data`), so listing the catalog stays cheap.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tui_bench.core.errors import PlanError, UserError
from tui_bench.core.ranking import DEFAULT_LAM, DEFAULT_T_DAYS, check_params, parse_timestamp

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

SCENARIOS_ENV = "TUI_BENCH_SCENARIOS"
SHIPPED_INDEX = Path(__file__).resolve().parents[2] / "scenarios" / "index.toml"
SHIPPED = "shipped"

STAGES = ("retrieve", "classify", "generate")
# data key -> the stage that reads it (None: more than one stage does)
DATA_KEYS: dict[str, str | None] = {"documents": "retrieve", "questions": None, "train": "classify"}
# what each stage cannot run without
STAGE_NEEDS: dict[str, tuple[str, ...]] = {
    "retrieve": ("documents", "questions"),
    "classify": ("questions",),
    "generate": ("questions",),
}
# threshold -> the stage whose result it judges (None: the scenario as a whole)
THRESHOLD_STAGE: dict[str, str | None] = {
    "success_rate": None,
    "mrr": "retrieve",
    "accuracy": "classify",
    "macro_f1": "classify",
    "quality": "generate",
}
AT_K_THRESHOLD = re.compile(r"^(ndcg|recall)@([1-9][0-9]{0,3})$")  # retrieval metrics at k
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
FIELDS = (
    "id",
    "name",
    "description",
    "folder",
    "stages",
    "data",
    "labels",
    "thresholds",
    "tasks_total",
    "ranking",
)
RANKING_FIELDS = ("now", "T_days", "lam")


@dataclass(frozen=True)
class RankingParams:
    """The temporal nDCG parameters a scenario judges its retrieval with.

    ``now`` fixed by the scenario keeps its scores the same from one day to the next
    (the shipped documents do not get older); ``None`` means the current time.
    """

    now: datetime | None = None
    T_days: float = DEFAULT_T_DAYS
    lam: float = DEFAULT_LAM


@dataclass(frozen=True)
class Scenario:
    """One validated scenario; ``data`` holds absolute paths that existed when read."""

    id: str
    description: str
    stages: tuple[str, ...]
    tasks_total: int
    folder: Path
    source: str  # "shipped", or the path of the user's index
    index_path: Path
    name: str = ""
    data: dict[str, Path] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    thresholds: dict[str, float] = field(default_factory=dict)
    ranking: RankingParams = field(default_factory=RankingParams)

    def as_dict(self) -> dict[str, Any]:
        """The catalog entry as plain JSON values (the listing's ``--json`` shape)."""
        return {
            "id": self.id,
            "name": self.name or self.id,
            "description": self.description,
            "stages": list(self.stages),
            "tasks_total": self.tasks_total,
            "thresholds": dict(self.thresholds),
            "labels": list(self.labels),
            "data": {key: str(path) for key, path in self.data.items()},
            "ranking": {
                "now": self.ranking.now.isoformat() if self.ranking.now else None,
                "T_days": self.ranking.T_days,
                "lam": self.ranking.lam,
            },
            "folder": str(self.folder),
            "source": self.source,
        }


def load_index(path: Path | str, source: str | None = None) -> list[Scenario]:
    """Every scenario of one index file, validated; ``source`` defaults to the path."""
    path = Path(path)
    raw = _read(path)
    if not isinstance(raw, Mapping):
        raise PlanError(path, None, "expected a table (TOML) or object (JSON) with scenarios")
    for key in raw:
        if key != "scenarios":
            raise PlanError(path, str(key), "unknown field (an index holds only scenarios)")
    entries = raw.get("scenarios")
    if not isinstance(entries, list) or not entries:
        raise PlanError(path, "scenarios", "missing or empty: give a list of scenarios")
    out: list[Scenario] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        scenario = _scenario(entry, path, f"scenarios[{i}]", source or str(path))
        if scenario.id in seen:
            raise PlanError(
                path,
                f"scenarios[{i}].id",
                f"{scenario.id!r} already used by scenarios[{seen[scenario.id]}]",
            )
        seen[scenario.id] = i
        out.append(scenario)
    return out


def user_index_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """The user's index named by ``$TUI_BENCH_SCENARIOS`` (unset or blank: ``None``)."""
    value = (os.environ if environ is None else environ).get(SCENARIOS_ENV, "").strip()
    return Path(value).expanduser() if value else None


def load_catalog(
    environ: Mapping[str, str] | None = None, *, shipped: Path = SHIPPED_INDEX
) -> list[Scenario]:
    """The shipped scenarios, then the user's: a user entry replaces the shipped one of
    its id where it stood, a new id comes after the shipped ones."""
    catalog = {s.id: s for s in load_index(shipped, SHIPPED)}
    user = user_index_path(environ)
    if user is not None:
        if not user.is_file():
            raise UserError(f"{SCENARIOS_ENV}: {user}: no such index file")
        for scenario in load_index(user):
            catalog[scenario.id] = scenario
    return list(catalog.values())


def find_scenario(scenario_id: str, environ: Mapping[str, str] | None = None) -> Scenario:
    """The catalog's scenario of that id; an unknown id is one line naming the known ones."""
    catalog = load_catalog(environ)
    for scenario in catalog:
        if scenario.id == scenario_id:
            return scenario
    known = ", ".join(s.id for s in catalog)
    raise UserError(f"{scenario_id}: no such scenario (known: {known})")


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise PlanError(path, None, f"cannot read ({reason})") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            return json.loads(text)
        if suffix == ".toml":
            return tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanError(
            path, None, f"JSON syntax error: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(path, None, f"TOML syntax error: {exc}") from None
    except RecursionError:
        raise PlanError(path, None, "nested too deeply to read") from None
    raise PlanError(path, None, f"unknown index format {suffix!r}: use .toml or .json")


def _scenario(entry: object, path: Path, where: str, source: str) -> Scenario:
    def bad(name: str, message: str) -> PlanError:
        return PlanError(path, f"{where}.{name}", message)

    if not isinstance(entry, Mapping):
        raise PlanError(path, where, "must be a table with id, description, stages, tasks_total")
    for key in entry:
        if key not in FIELDS:
            raise bad(str(key), "unknown field (expected " + ", ".join(FIELDS) + ")")
    for key in ("id", "description", "stages", "tasks_total"):
        if key not in entry:
            raise bad(key, "missing")

    sid = entry["id"]
    if not isinstance(sid, str) or not ID_PATTERN.match(sid):
        raise bad("id", f"must be lower-case letters, digits, '.', '_' or '-', got {sid!r}")
    description = _text(entry["description"], bad, "description")
    name = _text(entry["name"], bad, "name") if "name" in entry else ""

    stages = entry["stages"]
    if not isinstance(stages, list) or not stages:
        raise bad("stages", "must be a non-empty list of " + ", ".join(STAGES))
    for n, stage in enumerate(stages):
        if stage not in STAGES:
            raise bad(
                f"stages[{n}]", f"unknown stage {stage!r} (expected " + ", ".join(STAGES) + ")"
            )
        if stages.index(stage) != n:
            raise bad(f"stages[{n}]", f"{stage!r} is listed twice")

    tasks = entry["tasks_total"]
    if isinstance(tasks, bool) or not isinstance(tasks, int) or tasks < 1:
        raise bad("tasks_total", f"must be an integer ≥ 1, got {tasks!r}")

    folder_text = entry.get("folder", sid)
    if not isinstance(folder_text, str) or not folder_text.strip():
        raise bad("folder", f"must be a folder path, got {folder_text!r}")
    folder = (path.parent / Path(folder_text).expanduser()).resolve()

    data = _data(entry.get("data", {}), folder, bad)
    for stage in stages:
        for key in STAGE_NEEDS[stage]:
            if key not in data:
                raise bad(f"data.{key}", f"missing: the {stage} stage needs it")
    for key in data:
        reader = DATA_KEYS[key]
        if reader is not None and reader not in stages:
            raise bad(f"data.{key}", f"given, but the scenario has no {reader} stage")

    labels = _labels(entry.get("labels"), bad)
    if "classify" in stages and not labels:
        raise bad("labels", "missing: the classify stage needs the label set")

    return Scenario(
        id=sid,
        name=name,
        description=description,
        stages=tuple(stages),
        tasks_total=tasks,
        folder=folder,
        source=source,
        index_path=path,
        data=data,
        labels=labels,
        thresholds=_thresholds(entry.get("thresholds", {}), stages, bad),
        ranking=_ranking(entry.get("ranking", {}), bad),
    )


def _text(value: object, bad: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise bad(name, f"must be a non-empty string, got {value!r}")
    return value.strip()


def _data(raw: object, folder: Path, bad: Any) -> dict[str, Path]:
    if not isinstance(raw, Mapping):
        raise bad("data", "must be a table of file paths relative to the scenario folder")
    out: dict[str, Path] = {}
    for key, value in raw.items():
        if key not in DATA_KEYS:
            raise bad(f"data.{key}", "unknown data file (expected " + ", ".join(DATA_KEYS) + ")")
        if not isinstance(value, str) or not value.strip():
            raise bad(f"data.{key}", f"must be a file path, got {value!r}")
        file = (folder / Path(value).expanduser()).resolve()
        if not file.is_file():
            raise bad(f"data.{key}", f"no such file {file}")
        out[key] = file
    return out


def _labels(raw: object, bad: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) < 2:
        raise bad("labels", "must be a list of at least two labels")
    for n, label in enumerate(raw):
        if not isinstance(label, str) or not label.strip() or label != label.strip():
            raise bad(
                f"labels[{n}]", f"must be a non-empty string without edge spaces, got {label!r}"
            )
        if raw.index(label) != n:
            raise bad(f"labels[{n}]", f"{label!r} is listed twice")
    return tuple(raw)


def _thresholds(raw: object, stages: list[str], bad: Any) -> dict[str, float]:
    if not isinstance(raw, Mapping):
        raise bad("thresholds", "must be a table of metric = minimum (0 to 1)")
    out: dict[str, float] = {}
    for key, value in raw.items():
        name = f"thresholds.{key}"
        at_k = AT_K_THRESHOLD.match(str(key))
        if at_k:
            stage: str | None = "retrieve"
        elif key in THRESHOLD_STAGE:
            stage = THRESHOLD_STAGE[key]
        else:
            known = ", ".join([*THRESHOLD_STAGE, "ndcg@K", "recall@K"])
            raise bad(name, f"unknown metric (expected {known})")
        if stage is not None and stage not in stages:
            raise bad(name, f"judges the {stage} stage, which the scenario does not have")
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or not 0 <= value <= 1
        ):
            raise bad(name, f"must be a number from 0 to 1, got {value!r}")
        out[str(key)] = float(value)
    return out


def _ranking(raw: object, bad: Any) -> RankingParams:
    if not isinstance(raw, Mapping):
        raise bad("ranking", "must be a table with now, T_days, lam")
    for key in raw:
        if key not in RANKING_FIELDS:
            raise bad(
                f"ranking.{key}", "unknown field (expected " + ", ".join(RANKING_FIELDS) + ")"
            )
    now = None
    if "now" in raw:
        try:
            now = parse_timestamp(raw["now"])
        except ValueError as exc:
            raise bad("ranking.now", str(exc)) from None
    T_days = raw.get("T_days", DEFAULT_T_DAYS)
    lam = raw.get("lam", DEFAULT_LAM)
    try:
        check_params(1, T_days, lam)
    except UserError as exc:
        field_name, _, problem = str(exc).partition(": ")
        raise bad(f"ranking.{field_name}", problem) from None
    return RankingParams(now=now, T_days=float(T_days), lam=float(lam))
