"""Command palette: state-aware commands (see ``TuiBenchApp.get_system_commands``) and a
provider that offers every catalog plan to run directly."""

from __future__ import annotations

from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider


class PlanCommands(Provider):
    """``Run plan: <name>`` for each valid catalog plan, while no run is in progress."""

    async def startup(self) -> None:
        from tui_bench.tui.draft import load_catalog

        app: Any = self.app
        worker = app.run_worker(
            lambda: load_catalog(app.plans_dirs), thread=True, exit_on_error=False
        )
        try:
            self.options = await worker.wait()
        except Exception:
            self.options = []

    def _commands(self) -> list[tuple[str, str, Any]]:
        app: Any = self.app
        if app.run_in_progress:
            return []
        out = []
        for o in getattr(self, "options", []):
            if o.loaded is None:
                continue
            p = o.loaded.plan
            out.append(
                (
                    f"Run plan: {o.entry.id}",
                    f"{len(p.models)} model(s) × {len(p.prompts)} prompt(s) × {p.repeats} — "
                    f"{p.description}",
                    partial(app.start_run, o.loaded),
                )
            )
        return out

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
