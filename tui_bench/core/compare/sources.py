"""Where a compared run comes from: a run id, a run label, or an output folder.

``tui-bench compare BASE CAND`` takes either side as a run id from history (``latest``
works), a label given with ``tui-bench run --label`` (the newest run that has it), or a
folder holding a run's ``data.json`` (so CI can compare two fresh runs without a shared
history). Every form becomes one :class:`RunSource`: the run's facts and its request
records, rebuilt from what was stored.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui_bench.core.errors import UserError
from tui_bench.core.metrics import EngineCounters
from tui_bench.core.results import RequestRecord

RUN_FORMAT = "tui-bench/llm-run"  # core/report.py's data.json
_RECORD_FIELDS = {f.name for f in dataclasses.fields(RequestRecord)}
_ENGINE_FIELDS = {f.name for f in dataclasses.fields(EngineCounters)}
_RAW_FIELDS = ("t_send_ns", "t_first_response_us", "token_us", "token_n")


@dataclass
class RunSource:
    """One side of a comparison. ``plan``, ``plan_raw`` and ``host`` as a history row has
    them (``compare.runs.caveats`` reads them); ``origin``: how the user named it, when
    not by its id ("folder out/a", "label baseline", "latest")."""

    origin: str
    run: dict[str, Any]
    records: list[RequestRecord]
    plan_raw: dict[str, Any] = field(default_factory=dict)
    host: dict[str, Any] = field(default_factory=dict)
    backends: dict[str, str] = field(default_factory=dict)  # model id -> backend

    @property
    def plan(self) -> str:
        return str(self.run.get("plan") or "")

    def describe(self) -> str:
        bits = [f"run {self.run.get('id')}", self.plan]
        if self.run.get("label"):
            bits.append(f"label {self.run['label']}")
        if self.run.get("status") and self.run["status"] != "completed":
            bits.append(str(self.run["status"]))
        if self.run.get("started_at"):
            bits.append(str(self.run["started_at"])[:19].replace("T", " "))
        text = ", ".join(b for b in bits if b)
        return f"{text} ({self.origin})" if self.origin else text

    def as_dict(self) -> dict[str, Any]:
        return {"origin": self.origin, **{k: v for k, v in self.run.items() if k != "host"}}


def record_from_json(d: dict[str, Any], run_id: int = 0) -> RequestRecord:
    """A request of data.json back as a record (the derived figures it also lists, such
    as energy per token, are recomputed by the record itself)."""
    kw = {k: v for k, v in d.items() if k in _RECORD_FIELDS and k not in ("engine", "run_id")}
    engine = d.get("engine")
    if isinstance(engine, dict):
        kw["engine"] = EngineCounters(**{k: v for k, v in engine.items() if k in _ENGINE_FIELDS})
    raw = d.get("raw") or {}
    kw.update({k: raw[k] for k in _RAW_FIELDS if raw.get(k) is not None})
    kw["flags"] = list(d.get("flags") or [])
    kw["quality"] = dict(d.get("quality") or {})
    return RequestRecord(run_id=run_id, **kw)


def read_run_folder(folder: Path) -> dict[str, Any]:
    """The data.json of a run's output folder (or the file itself), checked to be one."""
    path = folder / "data.json" if folder.is_dir() else folder
    if not path.is_file():
        raise UserError(f"{folder}: no data.json here (a run's output folder has one)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict) or data.get("format") != RUN_FORMAT:
        got = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise UserError(f"{path}: not the data.json of an LLM run (format {got!r})")
    return data


def source_from_data(data: dict[str, Any], origin: str) -> RunSource:
    run = dict(data.get("run") or {})
    host = {**(run.get("host") or {}), "versions": run.get("versions") or {}}
    rid = int(run.get("id") or 0)
    return RunSource(
        origin=origin,
        run=run,
        records=[record_from_json(r, rid) for r in data.get("requests") or []],
        host=host,
        backends={m["id"]: m.get("backend") or "" for m in data.get("models") or []},
    )


def source_from_store(store: Any, run_id: int, origin: str) -> RunSource:
    row = store.get_run(run_id)
    if row.kind != "llm":
        raise UserError(f"run {run_id} is a classifier benchmark: compare works on LLM runs")
    plan = row.plan_raw or {}
    return RunSource(
        origin=origin,
        run=row.as_dict(),
        records=store.get_requests(run_id),
        plan_raw=plan,
        host=row.host or {},
        backends={m["id"]: m.get("backend", "llama_cpp") for m in plan.get("models", [])},
    )


def check_label(label: str) -> str:
    """A run label as ``tui-bench run --label`` takes it: one line that ``compare`` can
    read back as a label (not a run id, not ``latest``)."""
    from tui_bench.core.printable import CONTROL

    if not label.strip() or CONTROL.search(label):
        raise UserError(f"--label {label!r}: give one line of text")
    if label.isdigit() or label == "latest":
        raise UserError(f"--label {label}: compare would read this as a run id; choose a name")
    return label


def _labelled(store: Any, label: str) -> int | None:
    """The newest LLM run with ``label`` (runs are listed newest first)."""
    return next((r.id for r in store.iter_runs(kind="llm") if r.label == label), None)


def resolve(value: str, open_store: Callable[[], Any]) -> RunSource:
    """``value`` as a run: an output folder (a path that exists), else ``latest`` or a
    run id, else a label. ``open_store`` is called only when history is needed, so two
    folders compare without one."""
    path = Path(value).expanduser()
    if path.exists():
        return source_from_data(read_run_folder(path), f"folder {value}")
    store = open_store()
    if value == "latest":
        rid = store.latest_run_id()
        if rid is None:
            raise UserError(f"no runs in {store.path}")
        return source_from_store(store, int(rid), "latest")
    if value.isdigit():
        rid = int(value)
        if not 1 <= rid <= 2**63 - 1:  # ids count from 1; SQLite holds 64-bit integers
            raise UserError(f"run {value} not found in {store.path}")
        return source_from_store(store, rid, "")
    rid = _labelled(store, value)
    if rid is None:
        raise UserError(
            f"{value}: not a run id, no LLM run in {store.path} has this label, and no "
            "such folder (give a run id, 'latest', a label or a run's output folder)"
        )
    return source_from_store(store, rid, f"label {value}")
