"""Reports carry what they measured: the prompts, their expectations, one answer per model."""

from __future__ import annotations

from report_helpers import failed, rec

from tui_bench.core.report_appendix import SAMPLE_CHARS, markdown, prompts

PLAN = {
    "name": "hand",
    "prompts": [
        {
            "id": "fr",
            "task": "translation",
            "text": "Translate into French: good morning",
            "system": "You translate.",
            "expect": {
                "reference": "Bonjour",
                "contains": ["bonjour"],
                "regex": None,
                "exact": None,
                "tests": None,
                "language": "python",
                "lang": "fr",
            },
        },
        {"id": "code", "task": "code", "text": "Write add(a, b).", "expect": None},
        {"id": "never", "task": "qa", "text": "Nobody answers this.", "expect": None},
    ],
}


def records() -> list:
    long = "word " * 200  # 1,000 characters
    return [
        rec(0, "m1", rate=100, prompt="fr", task="translation", text="warm-up", warmup=True),
        failed(1, "m1", prompt="fr", task="translation"),
        rec(2, "m1", rate=100, prompt="fr", task="translation", text="Bonjour"),
        rec(3, "m1", rate=100, prompt="fr", task="translation", text="later answer"),
        rec(4, "m2", rate=90, prompt="fr", task="translation", text=long),
        rec(5, "m1", rate=100, prompt="code", task="code", text="```python\ndef add(a, b):\n```"),
        failed(6, "m1", prompt="never", task="qa"),
    ]


def test_prompts_with_expectations_and_first_measured_answers() -> None:
    entries = prompts(PLAN, ["m1", "m2"], records())
    assert [p["id"] for p in entries] == ["fr", "code", "never"]
    fr = entries[0]
    assert fr["text"] == "Translate into French: good morning" and fr["system"] == "You translate."
    # the expectation without its defaults (the code tests' language needs tests)
    assert fr["expect"] == {"reference": "Bonjour", "contains": ["bonjour"], "lang": "fr"}
    m1, m2 = fr["samples"]
    # the warm-up and the failed request are skipped: the first measured success
    assert (m1["model"], m1["seq"], m1["text"], m1["cut"], m1["chars"]) == (
        "m1",
        2,
        "Bonjour",
        False,
        7,
    )
    assert (m2["seq"], m2["chars"], m2["cut"]) == (4, 1000, True)
    assert m2["text"] == ("word " * 200)[:SAMPLE_CHARS]
    assert entries[1]["expect"] is None and "system" not in entries[1]
    assert entries[2]["samples"] == []
    # a prompt a record names that the plan does not hold: listed, its text unknown
    (ghost,) = prompts({}, ["m1"], [rec(0, "m1", rate=100, prompt="ghost", text="hi")])
    assert (ghost["id"], ghost["text"], ghost["samples"][0]["text"]) == ("ghost", None, "hi")


def test_the_appendix_in_markdown() -> None:
    lines = "\n".join(markdown(prompts(PLAN, ["m1", "m2"], records()))).splitlines()
    assert lines[0] == "## Appendix: prompts and sample outputs"
    fr = lines.index("### `fr` (translation)")
    assert lines[fr + 2 : fr + 5] == ["```text", "Translate into French: good morning", "```"]
    assert "Expected: contains 'bonjour'; reference 'Bonjour'; answer in language `fr`." in lines
    i = lines.index("**m1** (request 2):")
    assert lines[i + 2 : i + 5] == ["```text", "Bonjour", "```"]
    assert f"*cut: the first {SAMPLE_CHARS:,} of 1,000 characters*" in lines
    # an answer holding a code fence gets a longer fence around it
    j = lines.index("**m1** (request 5):")
    assert lines[j + 2 : j + 7] == ["````text", "```python", "def add(a, b):", "```", "````"]
    k = lines.index("### `never` (qa)")
    assert "No successful measured answer." in lines[k : k + 8]
