"""Quality scorers: every value below is computed by hand in the comment beside it."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tui_bench.core import quality
from tui_bench.core.plan import Expect
from tui_bench.core.quality import (
    SCORERS,
    chrf,
    contains_fraction,
    exact_match,
    extract_code,
    heuristic,
    heuristic_parts,
    lcs_length,
    regex_match,
    rouge_l,
    run_code_tests,
    score,
    score_detail,
    validate_expect,
)

# --- which scorers apply ------------------------------------------------------------------


TASK_CHECKS = ["repetition", "no_refusal", "not_truncated"]


def test_only_task_checks_and_heuristic_without_expect() -> None:
    # the prompt's language cannot be told (one English function word): no lang check
    scores = score(None, "Some answer here.", prompt="Say something.", task="chat")
    assert list(scores) == [*TASK_CHECKS, "heuristic"]


def test_scorers_follow_expect_fields() -> None:
    expect = Expect(reference="the cat", contains=["cat"], regex="c.t", exact="the cat")
    scores = score(expect, "The cat", prompt="What animal?", task="qa")
    assert list(scores) == [
        *TASK_CHECKS, "heuristic", "exact", "contains", "regex", "rouge_l", "chrf"
    ]  # fmt: skip
    assert all(0.0 <= v <= 1.0 for v in scores.values())
    assert set(SCORERS) >= set(scores) | {"code_pass"}
    assert "heuristic" in SCORERS["heuristic"]


def test_empty_contains_list_does_not_apply() -> None:
    assert "contains" not in score(Expect(contains=[]), "x", prompt="p", task="qa")


def test_blank_tests_do_not_apply() -> None:
    assert "code_pass" not in score(Expect(tests="  \n"), "x", prompt="p", task="qa")


# --- exact / contains / regex -------------------------------------------------------------


def test_exact_normalises_case_and_whitespace() -> None:
    assert exact_match("  Hello\n\tWORLD  ", "hello world") == 1.0
    assert exact_match("Straße", "STRASSE") == 1.0  # casefold, not lower
    assert exact_match("hello world.", "hello world") == 0.0  # punctuation is kept


def test_contains_fraction_and_missing() -> None:
    # "Paris" and "france" found (case-insensitive), "Seine" missing: 2/3
    value, missing = contains_fraction(
        "PARIS is the capital of France.", ["Paris", "france", "Seine"]
    )
    assert value == pytest.approx(2 / 3)
    assert missing == ["Seine"]
    detail = score_detail(
        Expect(contains=["a", "zz"]), "abc", prompt="p", task="extraction"
    )  # 1 of 2
    assert detail.scores["contains"] == 0.5
    assert detail.notes["contains"] == "missing: 'zz'"


def test_regex_flags_and_errors() -> None:
    assert regex_match("The ANSWER is 42", r"answer is \d+") == (1.0, "")  # IGNORECASE
    assert regex_match("start\nend", r"start.end")[0] == 1.0  # DOTALL: . spans lines
    assert regex_match("start\nend", r"^end")[0] == 0.0  # no MULTILINE by default ...
    assert regex_match("start\nend", r"(?m)^end")[0] == 1.0  # ... inline flags work
    assert regex_match("abc", r"xyz") == (0.0, "")
    value, note = regex_match("abc", r"(unclosed")
    assert value == 0.0 and note.startswith("invalid regular expression")
    detail = score_detail(Expect(regex="(unclosed"), "abc", prompt="p", task="qa")
    assert detail.scores["regex"] == 0.0 and "regex" in detail.notes


def test_validate_expect() -> None:
    assert validate_expect(None) is None
    assert validate_expect(Expect(regex=r"\d+", contains=["x"], tests="assert f(1) == 2")) is None
    msg = validate_expect(Expect(regex="(abc"))
    assert (
        msg == "regex: invalid regular expression: missing ), unterminated subpattern at position 0"
    )
    assert validate_expect(Expect(contains=["ok", " "])) == (
        "contains[1]: empty string (it would match every answer)"
    )
    msg = validate_expect(Expect(tests="assert f(1 == 2"))
    assert msg is not None and msg.startswith("tests: Python syntax error:")


# --- ROUGE-L ------------------------------------------------------------------------------


def test_rouge_l_by_hand() -> None:
    # ref  = [police, killed, the, gunman]           (4 words)
    # cand = [police, kill, the, gunman, today]      (5 words, lowercased, "!" dropped)
    # LCS  = [police, the, gunman] = 3
    # P = 3/5, R = 3/4, F = 2PR/(P+R) = 0.9/1.35 = 2/3
    assert rouge_l("Police kill the gunman today!", "police killed the gunman") == pytest.approx(
        2 / 3
    )
    # ref [the, cat, is, on, the, mat], cand [the, cat, sat, on, the, mat]: LCS 5, F = 5/6
    assert rouge_l("the cat sat on the mat", "the cat is on the mat") == pytest.approx(5 / 6)
    assert rouge_l("Same words", "same WORDS") == 1.0
    assert rouge_l("", "anything") == 0.0
    assert rouge_l("anything", "") == 0.0
    assert rouge_l("alpha beta", "gamma delta") == 0.0


def test_lcs_bit_parallel_matches_dynamic_programming() -> None:
    import random

    def dp(a: list[str], b: list[str]) -> int:
        prev = [0] * (len(b) + 1)
        for x in a:
            cur = [0]
            for j, y in enumerate(b):
                cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
            prev = cur
        return prev[-1]

    rng = random.Random(7)
    for _ in range(300):
        a = [rng.choice("abcd") for _ in range(rng.randint(0, 25))]
        b = [rng.choice("abcd") for _ in range(rng.randint(0, 25))]
        assert lcs_length(a, b) == dp(a, b)
    # [a, b, c, b, d, a, b] vs [b, d, c, a, b, a]: LCS = b c a b (or b d a b) = 4
    assert lcs_length(list("abcbdab"), list("bdcaba")) == 4


# --- chrF ---------------------------------------------------------------------------------


def test_chrf_by_hand_with_char_order_2() -> None:
    # hyp "a b" -> "ab" (whitespace removed), ref "abc"
    # n=1: H={a,b} (2), R={a,b,c} (3), match 2 -> P1 = 1,  R1 = 2/3
    # n=2: H={ab}  (1), R={ab,bc} (2), match 1 -> P2 = 1,  R2 = 1/2
    # P = 1, R = (2/3 + 1/2)/2 = 7/12
    # F(beta=2) = 5PR/(4P+R) = (35/12)/(55/12) = 7/11
    assert chrf("a b", "abc", char_order=2) == pytest.approx(7 / 11)
    # hyp "a", ref "abc": n=1: P1 = 1, R1 = 1/3; n=2: hyp has no bigram -> order skipped
    # P = 1, R = 1/3, F = 5(1/3)/(4 + 1/3) = 5/13
    assert chrf("a", "abc", char_order=2) == pytest.approx(5 / 13)
    # hyp "abc", ref "abd": n=1 P=R=2/3; n=2 H={ab,bc} R={ab,bd} P=R=1/2
    # P = R = 7/12 and F(P=R) = P = 7/12
    assert chrf("abc", "abd", char_order=2) == pytest.approx(7 / 12)
    # beta=1 on the first pair: 2PR/(P+R) = (14/12)/(19/12) = 14/19
    assert chrf("a b", "abc", char_order=2, beta=1) == pytest.approx(14 / 19)


def test_chrf_known_values_default_order_6() -> None:
    assert chrf("The same sentence.", "The same sentence.") == 1.0
    assert chrf("T h e  same\nsentence.", "The same sentence.") == 1.0  # whitespace ignored
    assert chrf("abc", "xyz") == 0.0
    assert chrf("abc", "ABC") == 0.0  # case-sensitive, as sacrebleu's default
    assert chrf("", "abc") == 0.0
    assert chrf("", "") == 0.0
    # sacrebleu CHRF().sentence_score(...).score == 61.576379378113785 for this pair
    # (the example in the Hugging Face chrF metric card; cross-checked with sacrebleu 2.6.0)
    value = chrf(
        "The relationship between Obama and Netanyahu is not exactly friendly.",
        "The ties between Obama and Netanyahu are not particularly friendly.",
    )
    assert value == pytest.approx(0.61576379378113785, abs=1e-12)


# --- heuristic ----------------------------------------------------------------------------

SKY = "Explain why the sky is blue."  # content words: {sky, blue} (the rest are stop/short)


def test_heuristic_zero_for_empty_or_symbols() -> None:
    assert heuristic("", prompt=SKY, task="qa") == 0.0
    assert heuristic("  \n ", prompt=SKY, task="generation") == 0.0
    assert heuristic("!!! ... ???", prompt=SKY, task="generation") == 0.0


def test_heuristic_penalises_a_degenerate_loop() -> None:
    normal = (
        "The sky looks blue because air molecules scatter blue sunlight far more strongly "
        "than red light, an effect called Rayleigh scattering."
    )
    loop = "The sky is blue. " * 20
    # normal: >= 20 word chars -> length 1; every trigram distinct -> repetition 1;
    # sky and blue both present -> relevance 1; heuristic = 1 * 1 * (1/2 + 1/2) = 1
    assert heuristic(normal, prompt=SKY, task="analysis") == 1.0
    # loop: 80 words, 78 trigrams, 4 distinct -> repetition = min(1, 2*4/78) = 8/78
    # length 1, relevance 1 -> heuristic = 8/78
    parts = heuristic_parts(loop, prompt=SKY, task="analysis")
    assert parts.repetition == pytest.approx(8 / 78)
    assert parts.value == pytest.approx(8 / 78)


def test_heuristic_rewards_relevance() -> None:
    on_topic = "Sunlight scattering makes the sky appear blue during the day."
    off_topic = "Bananas are yellow fruits, rich in potassium and fibre, grown widely."
    # both: length 1, repetition 1; relevance 2/2 vs 0/2 -> 1.0 vs 0.5
    assert heuristic(on_topic, prompt=SKY, task="qa") == 1.0
    assert heuristic(off_topic, prompt=SKY, task="qa") == 0.5
    # half the content words: prompt {sky, blue, ocean, green}, answer has sky + ocean
    # relevance 2/4 -> heuristic = 0.5 + 0.5 * 0.5 = 0.75
    p = "Why is the sky blue and the ocean green?"
    assert heuristic("The sky reflects into the ocean.", prompt=p, task="qa") == 0.75


def test_heuristic_relevance_counts_at_most_ten_prompt_words() -> None:
    prompt = " ".join(f"word{i:02d}" for i in range(30))  # 30 distinct content words
    answer = " ".join(f"word{i:02d}" for i in range(5))  # 5 of them: 5 / min(30, 10) = 0.5
    parts = heuristic_parts(answer, prompt=prompt, task="summarization")
    assert parts.relevance == 0.5 and parts.value == 0.75


def test_heuristic_length_depends_on_task_and_max_tokens() -> None:
    capital = "What is the capital of France?"  # content words {capital, france}
    # qa is a short-answer task: need 1 char -> length 1; relevance 0 -> 0.5
    assert heuristic("Paris", prompt=capital, task="qa") == 0.5
    # generation needs 20 word chars: length 5/20; -> 0.25 * 0.5 = 0.125
    assert heuristic("Paris", prompt=capital, task="generation") == 0.125
    # a budget of 4 tokens lowers the need to 4 chars: length 1 -> 0.5
    assert heuristic("Paris", prompt=capital, task="generation", max_tokens=4) == 0.5


def test_heuristic_translation_ignores_relevance() -> None:
    # 9 one-char words: chars 9 -> length 9/20; trigrams 7, distinct {abc, bca, cab} 3
    # repetition = min(1, 2*3/7) = 6/7; translation: heuristic = length * repetition
    parts = heuristic_parts("a b c a b c a b c", prompt="Translate: x y z", task="translation")
    assert parts.relevance is None
    assert parts.length == pytest.approx(9 / 20)
    assert parts.value == pytest.approx(9 / 20 * 6 / 7)
    assert "relevance n/a" in parts.describe()


def test_heuristic_note_is_reported() -> None:
    detail = score_detail(None, "The sky is blue.", prompt=SKY, task="qa")
    assert detail.notes["heuristic"] == "length 1.00, repetition 1.00, relevance 1.00"


# --- code extraction ----------------------------------------------------------------------


def test_extract_code_prefers_python_fence() -> None:
    text = "Run:\n```bash\nls\n```\nThen:\n```python\nx = 1\n```\nand\n```\ny = 2\n```"
    assert extract_code(text) == ("x = 1", True)
    assert extract_code("Code:\n```\ny = 2\n```\nbye") == ("y = 2", True)
    assert extract_code("```js\nlet a\n```") == ("let a", True)  # any tag as a last resort
    assert extract_code("x = 1\n") == ("x = 1", False)


def test_extract_code_unclosed_and_indented_fence() -> None:
    # a block cut off by max_tokens runs to the end of the text
    assert extract_code("```python\ndef f():\n    return 1") == ("def f():\n    return 1", True)
    # a block indented inside a list item is dedented
    assert extract_code("1. Code:\n   ```py\n   x = 1\n   ```") == ("x = 1", True)


# --- code_pass ----------------------------------------------------------------------------

ADD_TESTS = 'assert add(2, 3) == 5, "add(2, 3) should be 5"\nassert add(-1, 1) == 0\n'
ADD_GOOD = "def add(a, b):\n    return a + b\n"


def test_code_pass_fenced_and_unfenced() -> None:
    fenced = f"Here it is:\n```python\n{ADD_GOOD}```\nThis adds two numbers."
    assert run_code_tests(fenced, ADD_TESTS) == (1.0, "")
    assert run_code_tests(ADD_GOOD, ADD_TESTS) == (1.0, "")
    detail = score_detail(Expect(tests=ADD_TESTS), fenced, prompt="Write add.", task="code")
    assert detail.scores["code_pass"] == 1.0 and "code_pass" not in detail.notes


def test_code_pass_failing_assertion() -> None:
    value, note = run_code_tests("```python\ndef add(a, b):\n    return a - b\n```", ADD_TESTS)
    assert value == 0.0
    assert note == "AssertionError: add(2, 3) should be 5"


def test_code_pass_syntax_error() -> None:
    value, note = run_code_tests("```python\ndef add(a, b)\n    return a + b\n```", ADD_TESTS)
    assert value == 0.0 and note.startswith("SyntaxError")
    # prose without a fence is run as a whole, and the note says so
    value, note = run_code_tests(f"Sure! Here is the function:\n{ADD_GOOD}", ADD_TESTS)
    assert value == 0.0
    assert note.startswith("no fenced code block, ran the whole answer: SyntaxError")


def test_code_pass_timeout() -> None:
    started = time.monotonic()
    value, note = run_code_tests(
        "```python\nwhile True:\n    pass\n```", "assert True", timeout_s=1
    )
    assert value == 0.0 and note == "timeout after 1 s"
    assert time.monotonic() - started < 8


def test_code_pass_no_code() -> None:
    assert run_code_tests("", ADD_TESTS) == (0.0, "no code found")
    assert run_code_tests("```python\n```", ADD_TESTS) == (0.0, "no code found")


def test_code_pass_exit_before_tests_is_a_failure() -> None:
    value, note = run_code_tests("import sys\nsys.exit(0)\n", ADD_TESTS)
    assert value == 0.0 and note == "the answer exited (code 0) before the tests ran"


def test_code_pass_main_block_skipped_and_module_importable() -> None:
    code = ADD_GOOD + 'if __name__ == "__main__":\n    print(add(int(input()), 1))\n'
    tests = "from solution import add as imported\nassert imported is add\n" + ADD_TESTS
    assert run_code_tests(code, tests) == (1.0, "")


def test_code_pass_dataclass_and_unittest_main() -> None:
    code = (
        "from __future__ import annotations\nfrom dataclasses import dataclass\n\n"
        "@dataclass\nclass P:\n    x: int\n"
    )
    tests = (
        "import unittest\n\nclass T(unittest.TestCase):\n"
        "    def test_x(self):\n        self.assertEqual(P(3).x, {value})\n\n"
        "unittest.main()\n"
    )
    assert run_code_tests(code, tests.format(value=3)) == (1.0, "")
    value, note = run_code_tests(code, tests.format(value=4))
    assert value == 0.0 and note.startswith("FAILED")


def test_code_pass_runs_isolated(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("TUI_BENCH_SECRET", "x")
    monkeypatch.chdir(tmp_path)
    tests = (
        "import os, sys\n"
        "assert 'TUI_BENCH_SECRET' not in os.environ\n"
        f"assert os.getcwd() != {str(tmp_path)!r}\n"
        "assert os.path.exists('solution.py')\n"
        "assert sys.flags.isolated == 1\n"
    )
    assert run_code_tests("x = 1", tests) == (1.0, "")


def test_code_pass_never_runs_in_process() -> None:
    # Exiting or crashing the interpreter in the answer must not touch the test process.
    value, note = run_code_tests("import os\nos._exit(7)\n", "assert True")
    assert value == 0.0 and note.startswith("exit code 7")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_code_pass_reports_a_signal() -> None:
    code = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"
    assert run_code_tests(code, "assert True") == (0.0, "killed by SIGKILL")


# --- import hygiene -----------------------------------------------------------------------


def test_quality_imports_only_the_standard_library() -> None:
    code = (
        "import sys, tui_bench.core.quality\n"
        "heavy = {'pydantic', 'numpy', 'textual', 'rich'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert quality.__doc__ and "heuristic" in quality.__doc__


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups")
def test_code_pass_kills_what_the_answer_started(tmp_path) -> None:
    marker = tmp_path / "alive"
    child = f"import time, pathlib; time.sleep(0.8); pathlib.Path({str(marker)!r}).touch()"
    code = f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', {child!r}])\n"
    assert run_code_tests(code, "assert True") == (1.0, "")
    time.sleep(1.8)
    assert not marker.exists()  # the grandchild was killed with the process group
