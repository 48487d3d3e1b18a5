"""The key footer, rebuilt once per burst of binding changes.

Textual's ``Footer`` rebuilds all its keys (one widget each, every one restyled) on every
"bindings updated" signal, and a screen change sends several in a row: the stack changes
(twice), the focus moves (twice), idle callbacks and the screen's own refreshes. Opening
the history screen rebuilt the footer seven times, about 140 key widgets styled, a third of
the time until its first page showed. This one coalesces a burst into one rebuild, after
the refresh that follows the last signal, and shows the same keys.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer as _TextualFooter


class Footer(_TextualFooter):
    _rebuild_pending = False

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._rebuild_pending:
            self._rebuild_pending = True
            self.call_after_refresh(self._rebuild)

    async def _rebuild(self) -> None:
        self._rebuild_pending = False
        await self.recompose()
