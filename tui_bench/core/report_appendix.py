"""What a run measured, carried by its reports: the prompts and one answer per model.

data.json gets a ``prompts`` list (each prompt's id, task type, text, system prompt, what
a good answer holds, and its samples); report.md an appendix with the same. A sample is
the first successful measured answer of a model to the prompt (warm-ups are not
measured), cut at :data:`SAMPLE_CHARS` characters with the cut said; data.json keeps
every answer in full under ``requests``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tui_bench.core.results import RequestRecord

SAMPLE_CHARS = 600


def _expectation(expect: dict[str, Any] | None) -> dict[str, Any] | None:
    """The fields of a prompt's ``expect`` that say something (its defaults left out)."""
    if not expect:
        return None
    kept = {k: v for k, v in expect.items() if v not in (None, "", [])}
    if not kept.get("tests"):
        kept.pop("language", None)  # the language of the code tests, only with tests
    return kept or None


def _sample(r: RequestRecord) -> dict[str, Any]:
    text = r.text or ""
    return {
        "model": r.model,
        "seq": r.seq,
        "chars": len(text),
        "cut": len(text) > SAMPLE_CHARS,
        "text": text[:SAMPLE_CHARS],
    }


def prompts(
    plan: dict[str, Any], models: Sequence[str], records: Sequence[RequestRecord]
) -> list[dict[str, Any]]:
    """data.json's ``prompts``: the plan's prompts, then any a record names that the plan
    does not hold (text unknown), each with one sample per model that answered it."""
    specs = [p for p in plan.get("prompts") or [] if isinstance(p, dict) and p.get("id")]
    known = {p["id"] for p in specs}
    for r in records:
        if r.prompt not in known:
            specs.append({"id": r.prompt, "task": r.task, "text": None})
            known.add(r.prompt)
    out = []
    for p in specs:
        entry: dict[str, Any] = {"id": p["id"], "task": p.get("task"), "text": p.get("text")}
        if p.get("system"):
            entry["system"] = p["system"]
        entry["expect"] = _expectation(p.get("expect"))
        samples = []
        for m in models:
            first = next(
                (
                    r
                    for r in records
                    if r.model == m and r.prompt == p["id"] and r.ok and not r.warmup
                ),
                None,
            )
            if first is not None:
                samples.append(_sample(first))
        entry["samples"] = samples
        out.append(entry)
    return out


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in ``text``."""
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def _block(text: str) -> list[str]:
    fence = _fence(text)
    return [f"{fence}text", text, fence]


def _expect_line(expect: dict[str, Any]) -> str:
    bits = []
    if expect.get("exact"):
        bits.append(f"exactly {expect['exact']!r}")
    if expect.get("contains"):
        bits.append("contains " + ", ".join(repr(c) for c in expect["contains"]))
    if expect.get("regex"):
        bits.append(f"matches the regex `{expect['regex']}`")
    if expect.get("reference"):
        bits.append(f"reference {expect['reference']!r}")
    if expect.get("lang"):
        bits.append(f"answer in language `{expect['lang']}`")
    if expect.get("tests"):
        n = len(str(expect["tests"]).splitlines())
        bits.append(f"passes {n} line(s) of {expect.get('language', 'python')} tests")
    return "; ".join(bits)


def markdown(entries: list[dict[str, Any]]) -> list[str]:
    """report.md's appendix from :func:`prompts`' entries."""
    if not entries:
        return []
    lines = [
        "## Appendix: prompts and sample outputs",
        "",
        "Each prompt as sent, what a good answer holds, and one answer per model: the first "
        f"successful measured one, cut at {SAMPLE_CHARS:,} characters where longer "
        "(data.json keeps every answer in full).",
        "",
    ]
    for e in entries:
        lines += [f"### `{e['id']}` ({e.get('task') or 'other'})", ""]
        lines += _block(e["text"]) if e.get("text") else ["*(text not stored with the run)*"]
        lines.append("")
        if e.get("system"):
            lines += ["System prompt:", "", *_block(e["system"]), ""]
        if e.get("expect"):
            lines += [f"Expected: {_expect_line(e['expect'])}.", ""]
        if not e["samples"]:
            lines += ["No successful measured answer.", ""]
        for s in e["samples"]:
            lines += [f"**{s['model']}** (request {s['seq']}):", "", *_block(s["text"])]
            if s["cut"]:
                lines.append(f"*cut: the first {SAMPLE_CHARS:,} of {s['chars']:,} characters*")
            lines.append("")
    return lines
