"""Step 2 of the wizard: the models. The catalog's, the simulated ones, and those the
model registry finds on this machine (size, quantisation, parameters), read in a thread
when the models (or the review) are first shown; space toggles; ``a`` adds a server
(an OpenAI-compatible endpoint: screens/wizard/servers.py).
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import SelectionList, Static, TabbedContent
from textual.widgets.selection_list import Selection
from textual.worker import Worker, WorkerState

from tui_bench.tui import draft as d
from tui_bench.tui.screens.steps import Step
from tui_bench.tui.screens.wizard.base import WizardBase, highlighted_value, merge_choices
from tui_bench.tui.screens.wizard.servers import ServerDialog
from tui_bench.tui.servers import KNOWN_PORTS
from tui_bench.tui.widgets.toggle_list import ToggleList


class ModelsStep(WizardBase):
    BINDINGS: ClassVar[list[BindingType]] = [
        # not in the footer (full at 80 columns): the wizard's help names it
        Binding("a", "add_server", "Add server", show=False, id="wizard.add-server"),
    ]

    def action_add_server(self) -> None:
        # the ports probed: the usual local ones, or the app's (tests point it at theirs)
        ports = getattr(self.app, "server_ports", KNOWN_PORTS)
        self.app.push_screen(ServerDialog(ports), self._server_added)

    def _server_added(self, spec: dict[str, Any] | None) -> None:
        if spec is None:
            return
        key = f"server:{spec['base_url']}|{spec['model']}"
        self.models[key] = d.ModelChoice(key, spec, "server")
        if key not in self.selected_models:
            self.selected_models.append(key)
        self._refresh_models()
        self._rebuild()

    def compose_models(self) -> ComposeResult:
        with Horizontal(classes="split"):
            yield ToggleList(id="model-list")
            yield Static(id="model-detail", classes="detail")

    def scan_models(self) -> None:
        """Read the model registry once, when the models are first shown: no disk scan
        (and no CPU taken) while ``tui-bench run`` measures right away."""
        if not self._scan_started:
            self._scan_started = True
            self.run_worker(self._scan_models, thread=True, exit_on_error=False, name="scan-models")

    @on(TabbedContent.TabActivated, "#steps")
    def _step_shown(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id in ("step-models", "step-review"):
            self.scan_models()

    def _scan_models(self) -> list[dict[str, Any]]:
        from tui_bench.core import models as registry

        app: Any = self.app
        entries = registry.discover(
            registry.models_dirs(app.models_dirs), stores=app.discover_stores
        )
        return [registry.describe(e) for e in entries]

    def _scan_done(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state == WorkerState.SUCCESS:
            existing = list(self.models.values())
            extra = d.registry_models(worker.result, existing)
            for c in extra:
                self.models.setdefault(c.key, c)
            self.models_scanned = True
            self._sync_from_widgets()  # toggles made while the scan ran
            self._refresh_lists()
        elif event.state == WorkerState.ERROR:
            self.models_scanned = True
            self.notify(f"model discovery failed: {worker.error}", severity="warning")

    def _refresh_models(self) -> None:
        self._syncing = True
        try:
            ml = self.query_one("#model-list", SelectionList)
            highlighted = ml.highlighted
            ml.clear_options()
            for c in self.models.values():
                prompt = Content.assemble(
                    (c.id, "bold"), (f"  {c.origin}", "$text-muted"), f"  {c.summary()}"
                )
                ml.add_option(Selection(prompt, c.key, c.key in self.selected_models))
            if highlighted is not None and highlighted < ml.option_count:
                ml.highlighted = highlighted
        finally:
            self._syncing = False
        self._show_model_detail(highlighted_value(ml))

    @on(SelectionList.SelectedChanged, "#model-list")
    def _models_changed(self, event: SelectionList.SelectedChanged) -> None:
        if self._syncing:
            return
        self.selected_models = merge_choices(
            self.selected_models, event.selection_list.selected, self.models
        )
        self._rebuild()

    @on(SelectionList.SelectionHighlighted, "#model-list")
    def _model_highlighted(self, event: SelectionList.SelectionHighlighted) -> None:
        self._show_model_detail(event.selection.value)

    def _show_model_detail(self, key: str | None) -> None:
        c = self.models.get(key) if key else None
        if c is None:
            return
        parts: list[Any] = [(c.id, "bold $accent"), "\n", (c.origin, "$text-muted"), "\n\n"]
        if c.backend == "openai":
            parts.append("served over HTTP (OpenAI-compatible): the server's speed is measured\n")
            for k in ("base_url", "model", "api_key_env", "endpoint"):
                if c.spec.get(k):
                    parts += [(f"{k} ", "bold"), f"{c.spec[k]}\n"]
        elif c.backend == "mock":
            parts.append("simulated model (mock backend): timings are configured, not measured\n")
            for k, v in (c.spec.get("mock") or {}).items():
                parts.append(f"  {k} = {v}\n")
        else:
            parts.append(("source ", "bold"))
            parts.append(f"{c.spec.get('source')}\n")
            f = c.facts
            for label, key in (
                ("size", "size"),
                ("architecture", "architecture"),
                ("quantization", "quantization"),
                ("parameters", "params"),
                ("context", "context_length"),
                ("status", "status"),
            ):
                if f.get(key) is not None:
                    parts.append((f"{label} ", "bold"))
                    parts.append(f"{f[key]}\n")
            if not f:
                parts.append(
                    ("header facts not read yet" if not self.models_scanned else "", "$text-muted")
                )
            for k in ("n_ctx", "n_threads", "n_gpu_layers", "chat_template"):
                if k in c.spec:
                    parts.append((f"{k} ", "bold"))
                    parts.append(f"{c.spec[k]}\n")
        self.query_one("#model-detail", Static).update(Content.assemble(*parts))


MODELS = Step("step-models", "2 Models", "#model-list", ModelsStep.compose_models)
