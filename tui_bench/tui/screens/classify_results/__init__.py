"""The ranking of a classifier benchmark, then the final choice.

``screen`` holds the screen (the tables, the choice, the final training the app runs
for it), ``ranking`` the tables' captions and rows as the core ranked them, ``panels``
the texts around them (the head, the reports and history entry, the final model), and
``pick`` the dialog that picks the model to train.
"""

from __future__ import annotations

from tui_bench.tui.screens.classify_results.pick import PickModelScreen
from tui_bench.tui.screens.classify_results.ranking import cells_of
from tui_bench.tui.screens.classify_results.screen import (
    CHOICE_PICK,
    CHOICE_STOP,
    CHOICE_TOP,
    ClassifyResultsScreen,
)

__all__ = [
    "CHOICE_PICK",
    "CHOICE_STOP",
    "CHOICE_TOP",
    "ClassifyResultsScreen",
    "PickModelScreen",
    "cells_of",
]
