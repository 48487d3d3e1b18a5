"""keymap.toml: entries that cannot apply are reported (file, id, nearest known id)."""

from __future__ import annotations

from pathlib import Path

from tui_bench.tui.keymap import known_binding_ids, read_keymap, unknown_id_warnings


def test_read_keymap_keeps_key_strings_and_names_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "keymap.toml"
    path.write_text(
        '"live.cancle" = "x"\napp.history = "f9"\n"app.help" = 5\n[wizard]\nstart = "f5"\n'
    )
    km = read_keymap(path)
    assert km.keys == {"live.cancle": "x", "app.history": "f9", "wizard.start": "f5"}
    assert km.problems == [
        f'{path}: app.help: expected keys such as "x" or "ctrl+x,f5", got 5; ignored'
    ]
    path.write_text('"live.cancel" = \n')
    broken = read_keymap(path)
    assert broken.keys == {}
    assert len(broken.problems) == 1 and broken.problems[0].startswith(f"{path}: ignored (")
    assert read_keymap(tmp_path / "none.toml").keys == {}


def test_unknown_ids_are_named_with_the_nearest_known_one(tmp_path: Path) -> None:
    path = tmp_path / "keymap.toml"
    ids = known_binding_ids()
    assert {"live.cancel", "app.history", "classify.start", "history.compare"} <= ids
    keymap = {"live.cancle": "x", "app.history": "f9", "classify.strat": "s", "zzz": "z"}
    assert unknown_id_warnings(keymap, path) == [
        f"{path}: unknown binding id 'live.cancle', ignored (did you mean 'live.cancel'?)",
        f"{path}: unknown binding id 'classify.strat', ignored (did you mean 'classify.start'?)",
        f"{path}: unknown binding id 'zzz', ignored (see F1 for the ids of this screen's keys)",
    ]
