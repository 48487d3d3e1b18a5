"""Step 5 of the wizard: the review. The matrix, the settings, every model with its
estimate and every prompt; Start (ctrl+r from any step) and Save (ctrl+s: the plan as
TOML, into the first plans folder that exists).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Static

from tui_bench.core.catalog import plans_dirs
from tui_bench.core.cpus import default_threads
from tui_bench.core.plan import plan_to_toml
from tui_bench.tui import draft as d
from tui_bench.tui.format import duration, pct
from tui_bench.tui.screens.dialogs import PathPrompt
from tui_bench.tui.screens.steps import Step
from tui_bench.tui.screens.wizard.base import WizardBase
from tui_bench.tui.widgets.load import review_load


class ReviewStep(WizardBase):
    def compose_review(self) -> ComposeResult:
        with Vertical():
            with VerticalScroll(id="review-scroll"):
                yield Static(id="review")
            with Horizontal(id="review-buttons"):
                yield Button("Start run (ctrl+r)", variant="success", id="start")
                yield Button("Save plan… (ctrl+s)", id="save")

    def _render_review(self) -> None:
        review = self.query_one("#review", Static)
        if self.plan_error or self.current is None:
            review.update(
                Content.assemble(
                    ("This plan cannot run yet:\n\n", "bold"),
                    (self.plan_error or "nothing chosen", "$error"),
                    ("\n\nFix it in the earlier steps (escape goes back).", "$text-muted"),
                )
            )
            return
        p = self.current.plan
        est = {m.model: m for m in self.estimate.models} if self.estimate else {}
        parts: list[Any] = [("plan     ", "bold"), (self._origin_text(), "$accent"), "\n"]
        if p.description:
            parts += [("         " + p.description, "$text-muted"), "\n"]
        load = review_load(p)
        matrix = f"{len(p.prompts)} prompt(s) × {p.repeats} repeat(s)"
        parts += [
            ("matrix   ", "bold"),
            f"{len(p.models)} model(s) × {'their load levels' if load else matrix} = ",
            (f"{p.n_measured} measured requests", "bold"),
            f" + {p.n_warmup} warm-up\n",
            *load,  # a plan with load levels: they set the measured count
            ("settings ", "bold"),
            f"max tokens {p.defaults.max_tokens} · temperature {p.defaults.temperature:g} · "
            f"seed {p.defaults.seed} · ignore EOS {str(p.defaults.ignore_eos).lower()} · "
            f"mode {p.defaults.mode} · threshold {pct(p.success_threshold)}\n\n",
            ("models\n", "bold"),
        ]
        for m in p.models:
            src = d.source_text(m)
            extra = []
            if m.backend == "llama_cpp":
                extra.append(f"threads {m.n_threads or 'all'}")
                extra.append(f"GPU layers {m.n_gpu_layers}")
            elif m.backend == "openai":
                extra.append(f"endpoint {m.endpoint or 'by mode'}")
                if m.api_key_env:  # the variable's name only: the key is never shown
                    extra.append(f"key from ${m.api_key_env}")
            parts.append(f"  {m.id}")
            parts.append((f"  {src}  {' · '.join(extra)}", "$text-muted"))
            e = est.get(m.id)
            if e is not None:
                parts.append(f"  ≈ {duration(e.seconds)}")
                parts.append((f" ({e.basis})", "$text-muted"))
            parts.append("\n")
        parts.append(("\nprompts\n", "bold"))
        for pr in p.prompts:
            text = " ".join(pr.text.split())
            parts.append(f"  {pr.id} ")
            parts.append((f"[{pr.task}] ", "$accent"))
            parts.append((text[:70] + ("…" if len(text) > 70 else ""), "$text-muted"))
            parts.append("\n")
        if self.estimate is not None:
            parts.append(("\nestimate ", "bold"))
            parts.append(f"≈ {duration(self.estimate.seconds)} in total")
            if self.estimate.guessed:
                parts.append(
                    (
                        f" · rough guess where no past run exists ({d_guess()})",
                        "$text-muted",
                    )
                )
        busy = all_cores_models(p)
        if busy:
            cores = default_threads().n
            parts.append(("\n\nnote ", "bold $warning"))
            parts.append(
                (
                    f"{', '.join(busy)} run(s) on all {cores} cores it may use: this live view "
                    "only takes CPU time the model leaves idle, but any other busy program on "
                    "this machine slows it. For the steadiest numbers keep the machine quiet "
                    f"or set threads to {max(1, cores - 1)}.",
                    "$text-muted",
                )
            )
        review.update(Content.assemble(*parts))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.action_start()
        elif event.button.id == "save":
            self.action_save()

    def action_start(self) -> None:
        if self.current is None:
            self.notify(self.plan_error or "nothing to run", title="Cannot start", severity="error")
            self.goto("step-review")
            return
        self.app.start_run(self.current)  # type: ignore[attr-defined]

    def action_save(self) -> None:
        if self.current is None:
            self.notify(self.plan_error or "nothing to save", title="Cannot save", severity="error")
            return
        plan = self.current.plan
        folder = _plans_folder(getattr(self.app, "plans_dirs", None))
        default = folder / f"{d.slug(plan.name)}.toml"

        def validate(value: str) -> str | None:
            path = Path(value).expanduser()
            if path.suffix.lower() != ".toml":
                return f"{path}: a plan file ends in .toml"
            if path.exists():
                return f"{path}: already exists; choose another name"
            return None

        def chosen(value: str | None) -> None:
            if not value:
                return
            path = Path(value).expanduser()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(plan_to_toml(plan), encoding="utf-8")
            except OSError as exc:
                self.notify(f"{path}: {exc.strerror or exc}", title="Save failed", severity="error")
                return
            self.notify(str(path), title="Plan saved", timeout=6)
            self._after_save(path)

        self.app.push_screen(
            PathPrompt(
                "Save plan",
                "Write the plan as TOML to:",
                str(default),
                action="Save",
                validate=validate,
            ),
            chosen,
        )

    def _after_save(self, path: Path) -> None:
        app: Any = self.app
        if self.current is not None:
            self._saved = (self.current.plan, path)
        keep = (list(self.selected_models), list(self.selected_prompts), dict(self.settings))
        self.options = d.load_catalog(app.plans_dirs)
        self._fill_plan_list()
        match = next(
            (o for o in self.options if o.entry.path.resolve() == path.resolve() and o.loaded),
            None,
        )
        if match is not None:
            self.base = match
            pid = match.entry.id
            for m, key in zip(match.loaded.plan.models, keep[0], strict=False):  # type: ignore[union-attr]
                self.model_alias[d.plan_model_key(pid, m.id)] = key
            for p, key in zip(match.loaded.plan.prompts, keep[1], strict=False):  # type: ignore[union-attr]
                self.prompt_alias[d.plan_prompt_key(pid, p.id)] = key
        self.selected_models, self.selected_prompts, self.settings = keep
        self._rebuild()


def all_cores_models(plan: Any) -> list[str]:
    """llama.cpp models whose worker uses every core it may use (the default: the
    smallest of CPU affinity, cgroup quota and physical cores)."""
    cores = default_threads().n
    return [
        m.id
        for m in plan.models
        if m.backend == "llama_cpp" and (m.n_threads is None or m.n_threads >= cores)
    ]


def d_guess() -> str:
    from tui_bench.tui import estimate as e

    return f"{e.GUESS_DECODE_TPS:g} tok/s, TTFT {e.GUESS_TTFT_S:g} s, load {e.GUESS_LOAD_S:g} s"


def _plans_folder(dirs: list[Path] | None) -> Path:
    # never the plans shipped in the package: an installed package is no place to save into
    candidates = list(dirs or []) + plans_dirs(shipped=False)
    for folder in candidates:
        if folder.is_dir():
            return folder
    return candidates[0] if candidates else Path("plans")


REVIEW = Step("step-review", "5 Review", "#start", ReviewStep.compose_review)
