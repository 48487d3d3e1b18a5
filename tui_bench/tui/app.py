"""The Textual app: owns the history store and the run in progress; screens render.

One factory, :func:`create_app`, builds the app for the CLI (:func:`run_app`), the tests
and the screenshot script. Every run (an LLM plan, a classifier benchmark, the training
of the chosen classifier) is a :class:`~tui_bench.tui.runs.RunController` the app starts
with :meth:`TuiBenchApp.start`, as a worker of the run's group (``exit_on_error=False``:
a failure becomes an error screen, never a crashed app); one handler takes the end of
each, and quitting or cancelling asks the active run. Screens repaint from the run's live
state on a timer. Everything measured comes from ``tui_bench.core``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from tui_bench.core.backends.spawn import lower_this_thread_priority
from tui_bench.core.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, UserError
from tui_bench.core.plan import LoadedPlan, load_plan
from tui_bench.core.store import Store
from tui_bench.tui.commands import PlanCommands
from tui_bench.tui.keymap import KeymapFile, read_keymap
from tui_bench.tui.paths import default_output_dir
from tui_bench.tui.runs import RUN_GROUPS, LlmRun, RunController, command_exit_code
from tui_bench.tui.screens.dialogs import ConfirmScreen, ErrorScreen
from tui_bench.tui.screens.help import HelpScreen
from tui_bench.tui.screens.history import CompareScreen, HistoryScreen
from tui_bench.tui.screens.live import DEFAULT_REFRESH_HZ
from tui_bench.tui.screens.results import ResultsScreen
from tui_bench.tui.screens.wizard import WizardScreen

if TYPE_CHECKING:
    from tui_bench.core.classify.runner import ClassifyConfig
    from tui_bench.tui.screens.classify import ClassifySetupScreen

STYLES = Path(__file__).parent / "styles"
QUIT_GRACE_S = 15.0


def _warm_imports() -> None:
    """Import what the engine needs at the end of a run (scipy.stats alone takes ~1 s),
    in the background, so that the UI does not freeze when the first run finishes."""
    import numpy  # noqa: F401
    import scipy.stats  # noqa: F401


class TuiBenchApp(App[int]):
    TITLE = "tui-bench"
    CSS_PATH: ClassVar[list[str | Path]] = [
        STYLES / "app.tcss",
        STYLES / "wizard.tcss",
        STYLES / "live.tcss",
        STYLES / "results.tcss",
        STYLES / "classify.tcss",
    ]
    COMMANDS = App.COMMANDS | {PlanCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True, id="app.quit"),
        Binding("f1", "help", "Help", id="app.help"),
        Binding("f2", "new_run", "New run", id="app.new-run"),
        Binding("f3", "history", "History", id="app.history"),
        Binding("f4", "classify", "Classifiers", show=False, id="app.classify"),
        Binding("f5", "pipeline", "Pipeline", show=False, id="app.pipeline"),
    ]

    def __init__(
        self,
        *,
        plan_path: Path | None = None,
        loaded: LoadedPlan | None = None,
        start: bool = False,
        output_dir: Path | None = None,
        plans_dirs: list[Path] | None = None,
        models_dirs: list[Path] | None = None,
        discover_stores: bool = True,
        telemetry: bool = True,
        refresh_hz: float = DEFAULT_REFRESH_HZ,
        keymap: KeymapFile | dict[str, str] | None = None,
        cursor_blink: bool = True,
        classify_config: ClassifyConfig | None = None,
        check_machine: bool = True,
    ) -> None:
        super().__init__()
        self.classify_config = classify_config
        self.cursor_blink = cursor_blink
        self.check_machine = check_machine
        self.plan_path = plan_path if plan_path is not None else (loaded.path if loaded else None)
        self.initial_loaded = loaded
        self.start_on_mount = start
        self.output_dir = output_dir
        self.plans_dirs = plans_dirs
        self.models_dirs = list(models_dirs or [])
        self.discover_stores = discover_stores
        self.telemetry = telemetry
        self.refresh_hz = refresh_hz
        if not isinstance(keymap, KeymapFile):
            keymap = KeymapFile(None, dict(keymap or {}))
        self.keymap_file = keymap
        self.keymap_overrides = keymap.keys
        self.active: RunController | None = None  # the last run started, of any kind
        self.runs: list[RunController] = []
        self._store: Store | None = None
        self._cli_setup: ClassifySetupScreen | None = None  # tui-bench classify's own
        self._quit_pending = False
        self._confirming_quit = False
        self._warm: threading.Thread | None = None

    # -- state --------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The history database (reads, labels). A run writes through its own connection."""
        if self._store is None:
            self._store = Store()
        return self._store

    @property
    def run_in_progress(self) -> bool:
        return self.active is not None and self.active.running

    def on_mount(self) -> None:
        self._warm = threading.Thread(target=_warm_imports, name="warm-imports", daemon=True)
        self._warm.start()
        if self.keymap_overrides:
            self.set_keymap(self.keymap_overrides)
        if self.keymap_overrides or self.keymap_file.problems:
            self.run_worker(self._check_keymap, thread=True, group="keymap", exit_on_error=False)
        self.push_screen(WizardScreen(preselect=self.plan_path))
        if self.classify_config is not None:
            from tui_bench.tui.screens.classify import ClassifySetupScreen

            self._cli_setup = ClassifySetupScreen(self.classify_config, from_cli=True)
            self.push_screen(self._cli_setup)
        if self.start_on_mount:
            self.call_after_refresh(self._start_initial)

    def _check_keymap(self) -> None:
        """Warn about every keymap entry that changes nothing (in a thread: finding all
        binding ids may import the classifier's screens)."""
        from tui_bench.tui.keymap import unknown_id_warnings

        km = self.keymap_file
        for line in [*km.problems, *unknown_id_warnings(self.keymap_overrides, km.path)]:
            self.call_from_thread(self.notify, line, title="Keymap", severity="warning", timeout=12)

    def _start_initial(self) -> None:
        loaded = self.initial_loaded
        if loaded is None and self.plan_path is not None:
            try:
                loaded = load_plan(self.plan_path)
            except UserError as exc:
                self.push_screen(ErrorScreen("Cannot start this plan", str(exc)))
                return
        if loaded is not None:
            self.start_run(loaded, output_dir=self.output_dir, from_cli=True)

    # -- runs ---------------------------------------------------------------------------

    def start(self, run: RunController) -> RunController | None:
        """Start ``run`` (of any kind) in its worker group; None when one is running."""
        if self.run_in_progress:
            self.notify("a run is already in progress", severity="warning")
            return None
        self.active = run
        self.runs.append(run)
        run.worker = self.run_worker(
            run.work, name=run.kind, group=run.kind, thread=run.thread, exit_on_error=False
        )
        return run

    def start_run(
        self, loaded: LoadedPlan, *, output_dir: Path | None = None, from_cli: bool = False
    ) -> LlmRun | None:
        if self.run_in_progress:
            self.notify("a run is already in progress", severity="warning")
            return None
        run = LlmRun.create(
            loaded,
            output_dir or default_output_dir(loaded.plan.name),
            telemetry=self.telemetry,
            refresh_hz=self.refresh_hz,
            from_cli=from_cli,
            warm=self._warm,
        )
        self.push_screen(run.screen)
        self.start(run)
        return run

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The end of every run, whatever its kind: its exit code, then its screens."""
        if event.worker.group not in RUN_GROUPS or event.state not in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
        ):
            return
        run = next((r for r in self.runs if r.worker is event.worker), None)
        if run is None:
            return
        if event.state == WorkerState.SUCCESS:
            run.succeeded(event.worker.result)
        else:
            run.failed(event.worker.error or RuntimeError("the run stopped"))
        if self._quit_pending:
            self.exit(self.exit_code if run.from_cli else EXIT_INTERRUPTED)
            return
        run.present(self)

    def show_results_of(self, run: LlmRun) -> None:
        if run.outcome is None or run.screen not in self.screen_stack:
            return
        while self.screen is not run.screen and isinstance(self.screen, ModalScreen):
            self.pop_screen()
        if self.screen is run.screen:
            self.switch_screen(ResultsScreen(run.outcome.run_id))
        else:
            self.notify(
                "press o in the live view, or open the run from history (f3)",
                title=f"Results of run {run.outcome.run_id}",
            )

    def _running_screen(self) -> Screen[object] | None:
        """The screen of the run in progress, if any (leaving it is refused)."""
        run = self.active
        return run.screen if run is not None and run.running else None

    def request_cancel(self) -> None:
        """Cancel the run in progress (any kind), once the user has confirmed."""
        run = self.active
        if run is None or not run.running or not run.cancellable or run.cancelling:
            self.notify("no run to cancel", severity="warning")
            return

        def answer(yes: bool | None) -> None:
            if yes and run.running:
                run.cancel()

        title, body, yes, no = run.cancel_prompt
        self.push_screen(ConfirmScreen(title, body, yes=yes, no=no), answer)

    async def action_quit(self) -> None:
        run = self.active
        if run is None or not run.running or not run.cancellable:
            self.exit(self.exit_code)
            return
        if self._confirming_quit:
            return
        self._confirming_quit = True

        def answer(yes: bool | None) -> None:
            self._confirming_quit = False
            if yes and run.running:
                self._quit_pending = True
                run.cancel()
                self.set_timer(QUIT_GRACE_S, lambda: self.exit(EXIT_INTERRUPTED))
            elif yes:
                self.exit(self.exit_code)

        title, body, yes, no = run.quit_prompt
        self.push_screen(ConfirmScreen(title, body, yes=yes, no=no), answer)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen))

    def action_history(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, HistoryScreen):
                while self.screen is not screen:
                    self.pop_screen()
                screen.action_reload()
                return
        self.push_screen(HistoryScreen())

    def action_new_run(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, WizardScreen):
                while self.screen is not screen:
                    if self.screen is self._running_screen():
                        self._refuse_leaving()
                        return
                    self.pop_screen()
                return

    def action_classify(self) -> None:
        """The classifier benchmark: back to its run or setup screen, or a new setup."""
        from tui_bench.tui.runs import ClassifyRun, FinalTraining
        from tui_bench.tui.screens.classify import ClassifySetupScreen

        self._open_mode(ClassifySetupScreen, (ClassifyRun, FinalTraining))

    def action_pipeline(self) -> None:
        """The pipeline mode: back to its run or setup screen, or a new setup."""
        from tui_bench.tui.runs import PipelineRun
        from tui_bench.tui.screens.pipeline.setup import PipelineSetupScreen

        self._open_mode(PipelineSetupScreen, (PipelineRun,))

    def _open_mode(self, setup: type[Screen[None]], runs: tuple[type, ...]) -> None:
        busy = self._running_screen()
        if busy is not None and isinstance(self.active, runs) and busy in self.screen_stack:
            target: Screen[object] | None = busy
        else:
            target = next((s for s in self.screen_stack if isinstance(s, setup)), None)
        if target is None:
            self.push_screen(setup())
            return
        while self.screen is not target:
            if self.screen is self._running_screen():
                self._refuse_leaving()
                return
            self.pop_screen()

    def _refuse_leaving(self) -> None:
        if self.active is not None and self.active.kind in ("run-llm", "run-pipeline"):
            self.notify("a run is in progress: cancel it first (c)", severity="warning")
        else:
            self.notify("training in progress: cancel it first", severity="warning")

    def action_show_live(self) -> None:
        run = self.active
        if run is None or run.screen not in self.screen_stack:
            return
        while self.screen is not run.screen:
            self.pop_screen()

    def open_results(self, run_id: int) -> None:
        self.push_screen(ResultsScreen(run_id))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for title, help_text, action in (
            ("New run", "Open the wizard: choose or compose a plan", self.action_new_run),
            ("History", "Browse past runs, open results, compare", self.action_history),
            ("Help", "Keys of this screen", self.action_help),
            ("Classifier benchmark", "Find the best text classifier", self.action_classify),
            ("Pipeline", "A scenario's stages timed, the bottleneck named", self.action_pipeline),
        ):
            yield SystemCommand(title, help_text, action)
        for title, help_text, callback in getattr(screen, "palette_commands", list)():
            yield SystemCommand(title, help_text, callback)
        run = self.active
        if isinstance(run, LlmRun) and run.running:
            yield SystemCommand(
                "Cancel run", "Stop the run after the current token", self.request_cancel
            )
            if screen is not run.screen:
                yield SystemCommand(
                    "Show live run", "Back to the run in progress", self.action_show_live
                )
        elif (
            isinstance(run, LlmRun)
            and run.outcome is not None
            and not isinstance(screen, ResultsScreen)
        ):
            rid = run.outcome.run_id
            yield SystemCommand(
                f"Open results of run {rid}",
                "The ranking of the last run",
                lambda: self.open_results(rid),
            )
        if isinstance(screen, WizardScreen) and not self.run_in_progress:
            yield SystemCommand("Start run", "Run the plan as reviewed", screen.action_start)
            yield SystemCommand("Save plan", "Write the composed plan as TOML", screen.action_save)
        if isinstance(screen, ResultsScreen):
            yield SystemCommand(
                "Export reports", "Markdown, JSON and CSV to a folder", screen.action_export
            )
            from tui_bench.tui.widgets.ranking import COLUMNS

            for key, _metric, header, _digits in COLUMNS:
                yield SystemCommand(
                    f"Sort by {header.replace(chr(10), ' ')}",
                    "Rank the models by this metric's median",
                    lambda key=key: screen.sort_by(key),
                    discover=False,
                )
        if isinstance(screen, HistoryScreen):
            yield SystemCommand(
                "Mark as baseline", "The highlighted run", lambda: screen.action_mark("baseline")
            )
            yield SystemCommand(
                "Mark as candidate", "The highlighted run", lambda: screen.action_mark("candidate")
            )
            if screen.baseline_id is not None and screen.candidate_id is not None:
                yield SystemCommand(
                    "Compare baseline vs candidate",
                    f"run {screen.baseline_id} vs run {screen.candidate_id}",
                    screen.action_compare,
                )
        if isinstance(screen, CompareScreen):
            yield SystemCommand(
                "Swap baseline and candidate", "Compare the other way", screen.action_swap
            )

    def on_unmount(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    @property
    def exit_code(self) -> int:
        """What the command that opened the app exits with: the code of the last run it
        started; until one has ended, 0, or for ``tui-bench classify`` 130 (nothing ran)
        and 2 once the data it was given could not be used."""
        setup, before = self._cli_setup, EXIT_OK
        if setup is not None:
            before = EXIT_BAD_INPUT if setup.input_rejected else EXIT_INTERRUPTED
        return command_exit_code(self.runs, before=before)


def create_app(
    plan_path: Path | None = None,
    *,
    start: bool = False,
    output_dir: Path | None = None,
    loaded: LoadedPlan | None = None,
    plans_dirs: list[Path] | None = None,
    models_dirs: list[Path] | None = None,
    discover_stores: bool = True,
    telemetry: bool = True,
    refresh_hz: float = DEFAULT_REFRESH_HZ,
    keymap: dict[str, str] | None = None,
    cursor_blink: bool = True,
    classify_config: ClassifyConfig | None = None,
    check_machine: bool = True,
) -> TuiBenchApp:
    """The one way to build the app (CLI, tests, screenshots).

    Tests pass fixed ``plans_dirs``, ``models_dirs=[]``, ``discover_stores=False`` and
    ``cursor_blink=False`` so that screens are reproducible, and ``check_machine=False``
    (no "this machine" line: its facts differ from one machine to the next).
    """
    return TuiBenchApp(
        plan_path=plan_path,
        loaded=loaded,
        start=start,
        output_dir=output_dir,
        plans_dirs=plans_dirs,
        models_dirs=models_dirs,
        discover_stores=discover_stores,
        telemetry=telemetry,
        refresh_hz=refresh_hz,
        keymap=KeymapFile(None, dict(keymap)) if keymap is not None else read_keymap(),
        cursor_blink=cursor_blink,
        classify_config=classify_config,
        check_machine=check_machine,
    )


def run_app(
    plan_path: Path | None = None,
    start: bool = False,
    output_dir: Path | None = None,
    loaded: LoadedPlan | None = None,
    telemetry: bool = True,
) -> int:
    """Run the full-screen app; the process exit code.

    With ``start``: the code of that run once the user quits (0 pass, 1 below the
    threshold, 130 cancelled); otherwise 0. ``loaded`` (a plan with the CLI's overrides
    applied) wins over ``plan_path``.
    """
    app = create_app(
        plan_path, start=start, output_dir=output_dir, loaded=loaded, telemetry=telemetry
    )
    return _run_lowered(app)


def _run_lowered(app: TuiBenchApp) -> int:
    """Run ``app``; its exit code. The interface yields the CPU to what it measures: this
    thread (Textual's loop and everything it starts) runs at the lowest priority; model
    workers and training threads start from the spawner and keep the normal one."""
    lower_this_thread_priority()
    result = app.run()
    if app.return_code not in (None, 0):  # Textual's own failure code
        return int(app.return_code)
    return int(result) if result is not None else app.exit_code


def run_classify_app(config: ClassifyConfig) -> int:
    """``tui-bench classify DATA ...`` on a terminal: the classifier screen with the
    command's settings (data, columns, categories, models ...) preset; the exit code.

    0 when the last benchmark completed, 130 when it was cancelled (or none was run),
    2 when the data given cannot be used (a missing column, an unreadable file), 3 when
    the final model chosen from its ranking could not be trained or saved.
    """
    return _run_lowered(create_app(classify_config=config))
