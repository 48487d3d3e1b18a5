"""Small checks on stored text and files: one-line escaping, the GGUF magic bytes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tui_bench.core.gguf import magic_problem
from tui_bench.core.printable import one_line


def test_one_line_escapes_control_characters_only() -> None:
    assert one_line("a\nb\r\tc\x1b[2J\x7f\x85\u2028d") == "a\\nb\\r\\tc\\x1b[2J\\x7f\\x85\\u2028d"
    assert one_line("Café ✓ «quoted» \\n") == "Café ✓ «quoted» \\n"


def test_magic_problem_reads_four_bytes(tmp_path: Path) -> None:
    cases = {
        "ok.gguf": b"GGUF\x03\x00\x00\x00",
        "text.gguf": b"root:x:0:0",
        "empty.gguf": b"",
        "short.gguf": b"GG",
        "one.gguf": b"G",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    got = {name: magic_problem(tmp_path / name) for name in cases}
    assert got == {
        "ok.gguf": None,
        "text.gguf": "it begins with b'root', not b'GGUF'",
        "empty.gguf": "the file is empty",
        "short.gguf": "the file is only 2 bytes long",
        "one.gguf": "the file is only 1 byte long",
    }
    assert magic_problem(tmp_path) == "it is not a regular file"
    if hasattr(os, "mkfifo"):  # never opened: reading a pipe would wait for a writer
        os.mkfifo(tmp_path / "pipe.gguf")
        assert magic_problem(tmp_path / "pipe.gguf") == "it is not a regular file"


def test_magic_problem_raises_when_the_file_cannot_be_read(tmp_path: Path) -> None:
    locked = tmp_path / "locked.gguf"
    locked.write_bytes(b"GGUF")
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):  # root reads anything
            pytest.skip("running as a user who can read any file")
        with pytest.raises(PermissionError):
            magic_problem(locked)
    finally:
        locked.chmod(0o600)
