"""The app header, safe to mount on a screen that closes at once.

Textual 8.2.8's ``Header`` updates its title from async watchers that catch
``NoScreen`` but not ``NoMatches``: when a screen is closed (or the app quits) while its
header is still mounting, the late watcher raises and takes the app down. This header
does the same updates and ignores a header that is already gone.
"""

from __future__ import annotations

import contextlib

from textual import events
from textual.css.query import NoMatches
from textual.dom import NoScreen
from textual.widgets import Header
from textual.widgets._header import HeaderTitle


class AppHeader(Header):
    def _on_mount(self, event: events.Mount) -> None:
        event.prevent_default()  # replaces Header._on_mount

        async def set_title() -> None:
            with contextlib.suppress(NoScreen, NoMatches):
                self.query_one(HeaderTitle).update(self.format_title())

        self.watch(self.app, "title", set_title)
        self.watch(self.app, "sub_title", set_title)
        self.watch(self.screen, "title", set_title)
        self.watch(self.screen, "sub_title", set_title)
