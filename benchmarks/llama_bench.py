"""Find or build llama.cpp's ``llama-bench`` from the llama.cpp that llama-cpp-python vendors.

The reference for the engine's speed must be the same llama.cpp: the sdist of the
installed llama-cpp-python version is fetched from the package index (``pip download
--no-binary``), its ``vendor/llama.cpp`` configured with CMake (shared libraries) and the
``llama-bench`` target built. The binary is cached in tui-bench's cache folder, one per
version, and run against the very libraries llama-cpp-python installed (``libllama``,
``libggml*`` from ``llama_cpp/lib``, through ``LD_LIBRARY_PATH``): the same machine code
as tui-bench's worker, whatever flags pip built them with.

    python benchmarks/llama_bench.py            # prints the path, building it if needed
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from tui_bench.core.hostinfo import package_version
from tui_bench.core.paths import cache_dir


def _cached(version: str) -> Path:
    return cache_dir() / f"llama-bench-{version}-shared" / "llama-bench"


def _installed_lib_dir() -> Path:
    import llama_cpp.llama_cpp as ll

    return Path(ll._lib._name).parent


def find_or_build(explicit: str | None = None) -> Path:
    """``explicit`` (a path), else the cached build for the installed version, else build."""
    if explicit:
        return Path(explicit)
    version = package_version("llama-cpp-python")
    if version is None:
        raise SystemExit("llama-cpp-python is not installed")
    target = _cached(version)
    if target.exists():
        return target
    with tempfile.TemporaryDirectory(prefix="llama-bench-") as tmp:
        work = Path(tmp)
        print(
            f"building llama-bench from llama-cpp-python {version}'s llama.cpp ...", file=sys.stderr
        )
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
             "-q", "-d", str(work), f"llama-cpp-python=={version}"],
            check=True,
        )  # fmt: skip
        (sdist,) = work.glob("llama_cpp_python-*.tar.gz")
        with tarfile.open(sdist) as tar:
            tar.extractall(work, filter="data")
        src = next(work.glob("llama_cpp_python-*/vendor/llama.cpp"))
        build = work / "build"
        log = work / "build.log"
        with log.open("w") as out:
            for cmd in (
                ["cmake", "-S", str(src), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                 "-DLLAMA_CURL=OFF", "-DBUILD_SHARED_LIBS=ON", "-DLLAMA_BUILD_TESTS=OFF"],
                ["cmake", "--build", str(build), "--target", "llama-bench",
                 "-j", str(os.cpu_count() or 1)],
            ):  # fmt: skip
                if subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT).returncode != 0:
                    tail = log.read_text(errors="replace").splitlines()[-20:]
                    raise SystemExit("building llama-bench failed:\n" + "\n".join(tail))
        target.parent.mkdir(parents=True, exist_ok=True)
        # llama-bench's own shared parts (e.g. libllama-bench-impl); libllama and libggml*
        # are left out: the installed ones are used
        installed = {p.name for p in _installed_lib_dir().iterdir()}
        for lib in (build / "bin").glob("lib*.so*"):
            if lib.name not in installed and not lib.name.startswith(("libllama.", "libggml")):
                shutil.copy2(lib, target.parent / lib.name, follow_symlinks=True)
        shutil.copy2(build / "bin" / "llama-bench", target)
    return target


def tg(
    binary: Path,
    model: Path,
    *,
    n_gen: int,
    threads: int,
    repack: bool,
    poll: int,
    depth: int,
    repetitions: int,
    flash_attn: bool = False,
) -> list[float]:
    """Decode rates (tok/s) of each repetition of a ``tg`` test, ``depth`` tokens in context."""
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        [str(_installed_lib_dir()), str(binary.parent)]
        + [p for p in [env.get("LD_LIBRARY_PATH")] if p]
    )
    out = subprocess.run(
        [str(binary), "-m", str(model), "-p", "0", "-n", str(n_gen), "-t", str(threads),
         "--poll", str(poll), "--repack", str(int(repack)), "-d", str(depth),
         "-fa", "on" if flash_attn else "off", "-r", str(repetitions), "-o", "json"],
        check=True, capture_output=True, text=True, env=env,
    )  # fmt: skip
    tests: list[dict[str, Any]] = json.loads(out.stdout)
    (test,) = [t for t in tests if t.get("n_gen") == n_gen]
    return [float(x) for x in test["samples_ts"]]


if __name__ == "__main__":
    print(find_or_build(sys.argv[1] if len(sys.argv) > 1 else None))
