"""The wizard's server form: an OpenAI-compatible endpoint added as a model (URL, the
server's model name, the name of the variable holding its API key: never the key), its
connection test, and the servers found listening on this machine's usual ports.

Discovery and the test block on the network, so both run in worker threads
(:mod:`tui_bench.tui.servers` does the work); the form stays usable meanwhile. The models
step opens it (``a``) and adds what it returns to the model list, selected.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from tui_bench.tui.servers import (
    KNOWN_PORTS,
    ConnectionResult,
    FoundServer,
    ServerForm,
    check_connection,
    discover,
)

FIELDS = (  # label, id, placeholder
    ("URL", "server-url", "http://127.0.0.1:8080/v1"),
    ("model", "server-model", "the server's name for it"),
    ("key var", "server-key", "optional: an environment variable's name, never the key"),
)


class ServerDialog(ModalScreen[dict[str, Any] | None]):
    """Returns the plan's model table for the server (backend "openai"), or None."""

    # one line per field, so the form with what was found fits 80x24
    DEFAULT_CSS = """
    ServerDialog #server-dialog { width: 76; padding: 0 1; }
    ServerDialog .dialog-title { margin-bottom: 0; }
    ServerDialog #server-found { height: auto; max-height: 3; border: none; margin-bottom: 1; }
    ServerDialog .server-row { height: 1; }
    ServerDialog .dialog-buttons { margin-top: 0; }
    ServerDialog .server-label { width: 9; }
    ServerDialog .server-row Input { width: 1fr; height: 1; border: none; padding: 0 1; }
    ServerDialog #server-result { height: auto; margin-top: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+t", "test", "Test connection", id="server.test"),
        Binding("escape", "cancel", "Cancel", id="server.cancel"),
    ]

    def __init__(self, ports: Sequence[tuple[int, str]] = KNOWN_PORTS) -> None:
        super().__init__(classes="dialog-screen")
        self.ports = list(ports)
        self.found: list[FoundServer] = []
        self.result: ConnectionResult | None = None  # the last connection test's

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="server-dialog"):
            yield Label(Content("Add a server (OpenAI-compatible)"), classes="dialog-title")
            yield Static(
                Content.styled("looking for servers on 127.0.0.1…", "$text-muted"),
                id="server-found-head",
            )
            yield OptionList(id="server-found")
            for label, field_id, hint in FIELDS:
                with Horizontal(classes="server-row"):
                    yield Label(label, classes="server-label")
                    yield Input(placeholder=hint, id=field_id)
            yield Static("", id="server-result")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Add (enter)", variant="success", id="add")
                yield Button("Test (ctrl+t)", id="test")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = getattr(self.app, "cursor_blink", True)
        self.query_one("#server-found", OptionList).display = False
        self.query_one("#server-url", Input).focus()
        ports = self.ports
        self.run_worker(
            lambda: discover(ports), thread=True, exit_on_error=False, name="server-discover"
        )

    # -- the form -----------------------------------------------------------------------

    def form(self) -> ServerForm:
        return ServerForm(
            self.query_one("#server-url", Input).value,
            self.query_one("#server-model", Input).value,
            self.query_one("#server-key", Input).value,
        )

    def _say(self, text: str, style: str) -> None:
        self.query_one("#server-result", Static).update(Content.styled(text, style))

    def action_test(self) -> None:
        form = self.form()
        problem = form.problem()
        if problem:
            self._say(problem, "$error")
            return
        spec = form.spec()
        self._say(f"testing {spec['base_url']}…", "$text-muted")
        self.run_worker(
            lambda: check_connection(spec),
            thread=True,
            exit_on_error=False,
            name="server-test",
            group="server-test",
            exclusive=True,
        )

    def _add(self) -> None:
        form = self.form()
        problem = form.problem()
        if problem:
            self._say(problem, "$error")
            return
        self.dismiss(form.spec())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._add()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "add":
            self._add()
        elif event.button.id == "test":
            self.action_test()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(OptionList.OptionSelected, "#server-found")
    def _found_picked(self, event: OptionList.OptionSelected) -> None:
        server = self.found[event.option_index]
        self.query_one("#server-url", Input).value = server.url
        if server.models:
            self.query_one("#server-model", Input).value = server.models[0]
        self.query_one("#server-model", Input).focus()

    # -- workers ------------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.name == "server-discover" and event.state == WorkerState.SUCCESS:
            self._show_found(worker.result)
        elif worker.name == "server-test":
            if event.state == WorkerState.SUCCESS:
                self.result = worker.result
                ok = self.result.ok
                self._say(("✓ " if ok else "✗ ") + self.result.text, "$success" if ok else "$error")
            elif event.state == WorkerState.ERROR:
                self._say(f"✗ connection test failed: {worker.error}", "$error")

    def _show_found(self, found: list[FoundServer]) -> None:
        self.found = found
        head = self.query_one("#server-found-head", Static)
        listing = self.query_one("#server-found", OptionList)
        if not found:
            ports = ", ".join(str(p) for p, _ in self.ports)
            head.update(Content.styled(f"no server listening on 127.0.0.1:{ports}", "$text-muted"))
            return
        head.update(Content.styled("found listening (enter fills the form):", "$text-muted"))
        for s in found:
            models = ", ".join(s.models[:3]) or "no model list"
            listing.add_option(Option(Content.assemble((s.url, "bold"), f"  {s.label} · {models}")))
        listing.display = True
