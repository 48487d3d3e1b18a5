"""The plan catalog: where plans live and how a plan name resolves to a file.

Plans are looked up in ``$TUI_BENCH_PLANS_DIR`` (os.pathsep-separated), then ``./plans``,
then the plans shipped inside the package (``tui_bench/plans``: there in a wheel install as
in a clone, where the top-level ``plans`` is a link to it). The first folder holding a
name wins, so a user's own plan of the same name comes before a shipped one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from tui_bench.core.errors import UserError

PLANS_DIR_ENV = "TUI_BENCH_PLANS_DIR"
SHIPPED_PLANS = Path(__file__).resolve().parents[1] / "plans"


def plans_dirs(*, shipped: bool = True) -> list[Path]:
    """The folders searched for plans, first match first; ``shipped=False`` leaves out
    the package's own folder (a place to read from, never to save into)."""
    dirs: list[Path] = []
    env = os.environ.get(PLANS_DIR_ENV)
    if env:
        dirs += [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    dirs.append(Path.cwd() / "plans")
    if shipped:
        dirs.append(SHIPPED_PLANS)
    out: list[Path] = []
    for d in dirs:
        if d.resolve() not in {o.resolve() for o in out}:
            out.append(d)
    return out


def find_plan(name: str) -> Path:
    """A plan path, or a plan name (file stem) looked up in the plans folders."""
    p = Path(name).expanduser()
    if p.exists() or p.suffix in (".toml", ".json"):
        return p
    for d in plans_dirs():
        for ext in (".toml", ".json"):
            cand = d / f"{name}{ext}"
            if cand.exists():
                return cand
    raise UserError(
        f"{name}: no such plan file, and no plan of that name in "
        + ", ".join(str(d) for d in plans_dirs())
    )


@dataclass
class CatalogEntry:
    id: str
    path: Path
    name: str = ""
    description: str = ""
    models: list[str] = field(default_factory=list)
    prompts: int = 0
    repeats: int = 0
    threshold: float = 0.0
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "path": str(self.path),
            "description": self.description,
            "models": self.models,
            "prompts": self.prompts,
            "repeats": self.repeats,
            "threshold": self.threshold,
            "error": self.error,
        }


def list_plans(dirs: list[Path] | None = None) -> list[CatalogEntry]:
    """Every plan file in the folders; an invalid one is listed with its error. A name
    already listed from an earlier folder is not listed again (``find_plan`` would never
    reach it): a user's own ``mock.toml`` hides the shipped one."""
    seen: set[Path] = set()
    names: set[str] = set()
    entries = []
    for d in dirs or plans_dirs():
        if not d.is_dir():
            continue
        here = sorted([*d.glob("*.toml"), *d.glob("*.json")])
        for path in here:
            if path.resolve() in seen or path.stem in names:
                continue
            seen.add(path.resolve())
            entries.append(catalog_entry(path))
        names.update(p.stem for p in here)
    return entries


def catalog_entry(path: Path) -> CatalogEntry:
    """One plan file as the catalog lists it; an invalid plan carries its one-line error."""
    from tui_bench.core.plan import load_plan

    try:
        p = load_plan(path, check_models=False).plan
    except UserError as exc:
        return CatalogEntry(path.stem, path, error=str(exc))
    return CatalogEntry(
        id=path.stem,
        path=path,
        name=p.name,
        description=p.description,
        models=[m.id for m in p.models],
        prompts=len(p.prompts),
        repeats=p.repeats,
        threshold=p.success_threshold,
    )
