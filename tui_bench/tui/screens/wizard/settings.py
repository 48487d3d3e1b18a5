"""Step 4 of the wizard: the settings (name, repeats, warm-ups, max tokens, threads, GPU
layers, success threshold); enter moves to the next field, and from the last one to the
review.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, VerticalScroll
from textual.widgets import Input, Static

from tui_bench.tui.screens.steps import SettingField, Step, setting_inputs
from tui_bench.tui.screens.wizard.base import WizardBase

SETTING_FIELDS: tuple[SettingField, ...] = (
    ("name", "plan name", "text", "my-plan"),
    ("repeats", "repeats", "integer", "3"),
    ("warmup", "warm-ups per model", "integer", "1"),
    ("max_tokens", "max tokens", "integer", "64"),
    ("threads", "threads (llama.cpp)", "integer", "auto"),
    ("gpu_layers", "GPU layers (-1 = all)", "integer", "plan's value (0)"),
    ("threshold", "success threshold (0-1)", "number", "0.9"),
)


class SettingsStep(WizardBase):
    def compose_settings(self) -> ComposeResult:
        with VerticalScroll(id="settings-scroll"):
            yield Static(
                "Enter moves to the next field. Blank threads: the model's own setting "
                "(default: the smallest of CPU affinity, CPU quota and physical cores). "
                "GPU layers need a CUDA build of llama-cpp-python; "
                "both apply to llama.cpp models only.",
                id="settings-hint",
            )
            with Grid(id="settings-grid"):
                yield from setting_inputs(
                    SETTING_FIELDS, self.settings, id_prefix="set-", label_class="setting-label"
                )

    def _fill_settings(self) -> None:
        self._syncing = True
        try:
            for key, *_rest in SETTING_FIELDS:
                self.query_one(f"#set-{key}", Input).value = self.settings.get(key, "")
        finally:
            self._syncing = False

    @on(Input.Changed)
    def _setting_changed(self, event: Input.Changed) -> None:
        wid = event.input.id or ""
        if self._syncing or not wid.startswith("set-"):
            return
        self.settings[wid.removeprefix("set-")] = event.value
        self._rebuild()

    @on(Input.Submitted)
    def _setting_submitted(self, event: Input.Submitted) -> None:
        wid = event.input.id or ""
        if not wid.startswith("set-"):
            return
        if wid == f"set-{SETTING_FIELDS[-1][0]}":
            self.goto("step-review")
        else:
            self.focus_next()


SETTINGS = Step("step-settings", "4 Settings", "#set-name", SettingsStep.compose_settings)
