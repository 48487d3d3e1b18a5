"""A SelectionList that toggles the option the key was pressed on.

Textual 8.2.8's ``SelectionList`` turns space/enter into an ``OptionSelected`` message and
toggles whatever is highlighted *when the message is handled*. Keys typed quickly
("down space down space") arrive before the messages are handled, so both toggles hit
the last highlighted option and cancel out. The message carries the index it was sent
for: toggle that one. And a list that gets the focus with nothing highlighted highlights
its first option, so that space toggles it at once.
"""

from __future__ import annotations

from textual import events
from textual.widgets import OptionList, SelectionList


class ToggleList(SelectionList[str]):
    def _on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        event.prevent_default()  # replaces SelectionList's handler
        if 0 <= event.option_index < self.option_count:
            self.toggle(self.get_option_at_index(event.option_index))

    def on_focus(self, event: events.Focus) -> None:
        if self.highlighted is None and self.option_count:
            self.highlighted = 0
