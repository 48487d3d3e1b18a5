"""Does the TUI slow what it measures? The same plan headless and in the TUI, alternating.

Each round runs the plan once with the core engine and the headless log sink (what
``tui-bench run --headless`` does) and once inside the Textual app, driven headless by
Textual's Pilot with the live view repainting at its normal rate (4 Hz, every panel
updated from the bridge state) on a thread lowered as ``tui-bench`` lowers it (nice 19,
``SCHED_IDLE`` on Linux). The order alternates round by round so that drift hits
both alike. Prints per round the median decode rate of each and their ratio, then the
ratio of the pooled medians TUI / headless (goal: >= 0.98) and the median of the
per-round ratios (robust to drift between rounds), with TTFT beside them, and the CPU
time the front-end process itself used per run (the model's worker excluded), and how
long the model's threads waited for a CPU held by another task (Linux scheduler
counters): the part of any gap the front end's own CPU use accounts for.

    python benchmarks/tui_overhead.py [--plan quickstart] [--rounds 3] [--size 100x30]
                                      [--threads N]

``--threads N`` sets every llama.cpp model's thread count (default: the plan's, i.e. all
logical cores): with fewer threads than cores the front end no longer competes with the
model for a core.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tui_bench.core.backends.spawn import lower_this_thread_priority
from tui_bench.core.catalog import find_plan
from tui_bench.core.engine import Engine
from tui_bench.core.plan import LoadedPlan, load_plan
from tui_bench.core.report import ReportSink
from tui_bench.core.stats import bootstrap_ci
from tui_bench.core.store import Store
from tui_bench.headless import LogSink


def measured(records: list[Any]) -> list[Any]:
    return [r for r in records if r.ok and not r.warmup and r.decode_tps is not None]


def headless_round(loaded: LoadedPlan, out: Path) -> list[Any]:
    store = Store()
    sinks = [ReportSink(out, loaded.plan.model_dump(mode="json")), LogSink(io.StringIO())]
    try:
        outcome = asyncio.run(Engine(loaded, store=store, sinks=sinks, output_dir=out).run())
    finally:
        store.close()
    return measured(outcome.records)


def tui_round(
    loaded: LoadedPlan, out: Path, size: tuple[int, int], refresh_hz: float | None = None
) -> tuple[list[Any], int]:
    from tui_bench.tui.app import create_app
    from tui_bench.tui.screens.results import ResultsScreen

    app = create_app(
        loaded=loaded,
        start=True,
        output_dir=out,
        models_dirs=[],
        discover_stores=False,
        keymap={},
        check_machine=False,
        **({"refresh_hz": refresh_hz} if refresh_hz else {}),
    )

    async def drive() -> tuple[list[Any], int]:
        async with app.run_test(size=size) as pilot:
            t0 = time.monotonic()
            while not (isinstance(app.screen, ResultsScreen) and app.screen.loaded is not None):
                if time.monotonic() - t0 > 1800:
                    raise TimeoutError("the TUI run did not finish")
                await asyncio.sleep(0.1)
            run = app.active
            assert run is not None and run.outcome is not None
            refreshes = run.screen.refreshes
            await pilot.press("ctrl+q")
        return measured(run.outcome.records), refreshes

    # As run_app does: the interface's thread yields the CPU to the model's worker.
    result: dict[str, Any] = {}

    def target() -> None:
        lower_this_thread_priority()
        try:
            result["value"] = asyncio.run(drive())
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target, name="tui-round")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


class WorkerSched:
    """Scheduler counters of the model's worker threads while one run lasts.

    A thread of this process's descendants (the llama.cpp worker) is read every 0.2 s from
    ``/proc/<pid>/task/<tid>/schedstat``: the time it ran and the time it waited on a run
    queue for a CPU held by something else. With as many model threads as cores, a thread
    that waits holds up the others at the next barrier, so the waiting time is the wall
    time the front end (or anything else on the machine) took from the model. Linux only;
    the figures are ``None`` elsewhere.
    """

    def __init__(self) -> None:
        self.seen: dict[tuple[int, int], tuple[int, int]] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, name="sched-sampler", daemon=True)

    @staticmethod
    def descendants(pid: int) -> list[int]:
        out: list[int] = []
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return out
        for tid in tasks:
            try:
                kids = Path(f"/proc/{pid}/task/{tid}/children").read_text().split()
            except OSError:
                continue
            for kid in kids:
                out.append(int(kid))
                out += WorkerSched.descendants(int(kid))
        return out

    def sample(self) -> None:
        for pid in self.descendants(os.getpid()):
            try:
                tids = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for tid in tids:
                try:
                    ran, waited, _ = Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()
                except (OSError, ValueError):
                    continue
                self.seen[(pid, int(tid))] = (int(ran), int(waited))

    def loop(self) -> None:
        while not self.stop.wait(0.2):
            self.sample()

    def __enter__(self) -> WorkerSched:
        self.t0 = time.monotonic()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.wall_s = time.monotonic() - self.t0

    @property
    def waited_s(self) -> float | None:
        return sum(w for _, w in self.seen.values()) / 1e9 if self.seen else None

    @property
    def ran_s(self) -> float | None:
        return sum(r for r, _ in self.seen.values()) / 1e9 if self.seen else None


def cpu_s() -> float:
    """CPU seconds of this process (the front end), children (the model worker) excluded."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def cv(values: list[float]) -> float:
    """Coefficient of variation (sample sd / mean)."""
    return statistics.stdev(values) / statistics.mean(values) if len(values) > 1 else 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plan", default="quickstart")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--size", default="100x30")
    ap.add_argument("--threads", type=int, help="n_threads for every llama.cpp model")
    ap.add_argument("--refresh-hz", type=float, help="live view repaint rate (default: the app's)")
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    loaded = load_plan(find_plan(args.plan))
    if args.threads:
        models = [
            m.model_copy(update={"n_threads": args.threads}) if m.backend == "llama_cpp" else m
            for m in loaded.plan.models
        ]
        plan = loaded.plan.model_copy(update={"models": models})
        loaded = LoadedPlan(plan=plan, path=loaded.path, raw=loaded.raw)
    print(
        f"plan {loaded.plan.name}: {loaded.plan.n_measured} measured requests per run, "
        f"{args.rounds} round(s), TUI at {width}x{height}, {os.cpu_count()} logical cores, "
        f"model threads: {args.threads or 'all (plan default)'}"
    )
    pooled: dict[str, list[Any]] = {"headless": [], "tui": []}
    cpu: dict[str, list[float]] = {"headless": [], "tui": []}
    waits: dict[str, list[float]] = {"headless": [], "tui": []}
    shares: dict[str, list[float]] = {"headless": [], "tui": []}
    ratios: list[float] = []
    by_round: list[list[Any]] = []
    with tempfile.TemporaryDirectory(prefix="tui-overhead-") as home:
        os.environ["TUI_BENCH_HOME"] = home
        headless_round(loaded, Path(home) / "warm")  # page cache, imports: not counted
        for i in range(args.rounds):
            order = ("headless", "tui") if i % 2 == 0 else ("tui", "headless")
            line = [f"round {i + 1}:"]
            medians: dict[str, float] = {}
            for mode in order:
                out = Path(home) / f"{mode}-{i}"
                c0 = cpu_s()
                with WorkerSched() as sched:
                    if mode == "headless":
                        recs, extra = headless_round(loaded, out), ""
                    else:
                        recs, refreshes = tui_round(loaded, out, (width, height), args.refresh_hz)
                        extra = f", {refreshes} repaints"
                cpu[mode].append(cpu_s() - c0)
                if sched.waited_s is not None and sched.ran_s:
                    waits[mode].append(sched.waited_s)
                    shares[mode].append(sched.waited_s / (sched.ran_s + sched.waited_s))
                    extra += f", worker waited {sched.waited_s:.2f} s for a CPU"
                pooled[mode] += recs
                if mode == "headless":
                    by_round.append(recs)
                medians[mode] = med([r.decode_tps for r in recs])
                line.append(
                    f"{mode} {medians[mode]:6.1f} tok/s "
                    f"(TTFT {med([r.ttft_ms for r in recs]):.1f} ms, n={len(recs)}{extra})"
                )
            ratios.append(medians["tui"] / medians["headless"])
            line.append(f"ratio {ratios[-1]:.3f}")
            print("  ".join(line), flush=True)
    h = med([r.decode_tps for r in pooled["headless"]])
    t = med([r.decode_tps for r in pooled["tui"]])
    h_ttft = med([r.ttft_ms for r in pooled["headless"]])
    t_ttft = med([r.ttft_ms for r in pooled["tui"]])
    print(
        f"median decode: headless {h:.1f} tok/s, TUI {t:.1f} tok/s; "
        f"ratio TUI/headless = {t / h:.3f} (goal >= 0.98)"
    )
    ci = bootstrap_ci(ratios)
    spread = (
        f" (95% bootstrap interval {ci[0]:.3f}-{ci[1]:.3f} over {len(ratios)} rounds; "
        f"headless alone varies {cv([med([r.decode_tps for r in rs]) for rs in by_round]):.1%} "
        "round to round)"
        if ci
        else ""
    )
    print(f"median of the per-round ratios: {med(ratios):.3f}{spread}")
    print(
        f"median TTFT: headless {h_ttft:.1f} ms, TUI {t_ttft:.1f} ms; ratio {t_ttft / h_ttft:.3f}"
    )
    print(
        f"front-end CPU per run (worker excluded): headless {med(cpu['headless']):.2f} s, "
        f"TUI {med(cpu['tui']):.2f} s (app start-up and the results screen included)"
    )
    if waits["headless"] and waits["tui"]:
        print(
            "model worker's threads waiting for a CPU held by another task, per run: "
            f"headless {med(waits['headless']):.2f} s ({med(shares['headless']):.1%} of their "
            f"time), TUI {med(waits['tui']):.2f} s ({med(shares['tui']):.1%}); with as many "
            "model threads as cores, that difference is the decode time the front end takes"
        )
        expected = (1 - med(shares["tui"])) / (1 - med(shares["headless"]))
        print(
            f"ratio the front end's share of the CPUs alone accounts for: {expected:.3f}; "
            "the rest of any gap is round-to-round variation (see the interval above)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
