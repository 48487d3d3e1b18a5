"""F1: the keys of the screen the user came from (as currently mapped), and what it is for."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Label, Static

from tui_bench.tui.widgets.table import fill_table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="help.close"),
        Binding("f1", "close", "Close", show=False, id="help.close-f1"),
    ]

    def __init__(self, screen: Screen) -> None:
        super().__init__(classes="dialog-screen")
        self.about = str(getattr(screen, "HELP", "") or "")
        self.screen_title = screen.title or type(screen).__name__
        # this machine's facts, as the wizard gathered them (``tui-bench doctor`` says more)
        self.machine = next(
            (
                s.doctor_report
                for s in screen.app.screen_stack
                if getattr(s, "doctor_report", None) is not None
            ),
            None,
        )
        seen: set[tuple[str, str]] = set()
        self.rows: list[tuple[str, str, str]] = []
        bindings = [(k, a.binding) for k, a in screen.active_bindings.items()]
        # tui-bench's own bindings (they have ids) first, then the focused widget's keys
        bindings.sort(key=lambda kb: kb[1].id is None)
        for key, b in bindings:
            if not b.description or b.system:
                continue
            display = screen.app.get_key_display(b)
            ident = (b.description, b.action)
            if ident in seen:
                continue
            seen.add(ident)
            self.rows.append((display or key, b.description, b.id or ""))

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help-dialog"):
            yield Label(Content(f"Keys · {self.screen_title}"), classes="dialog-title")
            # scrolls on its own, so that the keys keep their room on a small terminal; the
            # machine first: the wizard's one line is cut short at 80 columns, this is not
            with VerticalScroll(classes="help-top"):
                yield Static(self._machine_text(), classes="help-machine")
                if self.about:
                    yield Static(Content(self.about), classes="help-about")
            yield DataTable(id="help-keys", cursor_type="row", zebra_stripes=True)
            yield Static(
                Content.styled(
                    "Keys without an id belong to the focused widget. ctrl+p opens the "
                    "command palette with what fits this screen. Remap a key by its id in "
                    '$TUI_BENCH_HOME/keymap.toml, e.g. "live.cancel" = "x".',
                    "$text-muted",
                ),
                classes="help-note",
            )

    def _machine_text(self) -> Content:
        if self.machine is None:
            return Content.assemble(
                ("This machine ", "bold"), ("not checked yet: run tui-bench doctor", "$text-muted")
            )
        from tui_bench.core.doctor import summary_line

        r = self.machine
        advice = r.recommendation or r.selftest_note or ""
        parts: list[Any] = [("This machine ", "bold"), summary_line(r)]
        parts += [f"\n{p}" for p in r.problems]
        if advice:
            parts.append((f"\n{advice}", "$text-muted"))
        parts.append(("\nMore: tui-bench doctor", "$text-muted"))
        return Content.assemble(*parts)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        fill_table(
            table,
            [("key", "key"), ("does", "does"), ("id", "binding id")],
            [
                (
                    None,
                    [
                        Content.styled(key, "bold $accent"),
                        desc,
                        Content.styled(ident, "dim"),
                    ],
                )
                for key, desc, ident in self.rows
            ],
        )
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
