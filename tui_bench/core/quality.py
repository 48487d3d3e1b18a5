"""Quality of generated text: pluggable scorers, reported beside speed, never folded into it.

Each scorer maps an answer to a number in [0, 1] and has a name the reports print
(:data:`SCORERS`). :func:`score` returns only the scorers a prompt's ``expect`` makes
applicable; the length/relevance ``heuristic`` is always there and is only a heuristic.

- ``heuristic``  length adequacy x non-repetition x (1/2 + 1/2 relevance to the prompt)
- ``exact``      normalised answer == ``expect.exact``
- ``contains``   share of ``expect.contains`` strings found (case-insensitive)
- ``regex``      ``re.search(expect.regex, answer, re.IGNORECASE | re.DOTALL)``
- ``rouge_l``    ROUGE-L F1 (word LCS) against ``expect.reference``
- ``chrf``       chrF, sacrebleu's default sentence-level variant, against ``expect.reference``
- ``code_pass``  the answer's code passes ``expect.tests`` in a separate Python process

Only the standard library is imported: the generated code under test never runs in this
process, and the module stays cheap to import from any front end.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


class Expect(Protocol):
    """What a good answer looks like (the plan's ``Expect``): scoring only reads these
    attributes, so this module needs neither the plan module nor pydantic."""

    reference: str | None
    contains: list[str]
    regex: str | None
    exact: str | None
    tests: str | None
    language: str


SCORERS: dict[str, str] = {
    "heuristic": (
        "heuristic, not a measure of correctness: length adequacy x non-repetition"
        " x (1/2 + 1/2 share of prompt content words in the answer)"
    ),
    "exact": "1 if the answer equals expect.exact (case-folded, whitespace collapsed)",
    "contains": "share of expect.contains strings found in the answer (case-insensitive)",
    "regex": "1 if expect.regex matches anywhere in the answer (IGNORECASE | DOTALL)",
    "rouge_l": "ROUGE-L F1: longest common subsequence of lowercased words vs expect.reference",
    "chrf": "chrF (Popovic 2015, sacrebleu defaults: char 1..6-grams, beta 2, no spaces), 0..1",
    "code_pass": "1 if the answer's code passes expect.tests on the first try (subprocess, time limit)",
}

REGEX_FLAGS = re.IGNORECASE | re.DOTALL
CODE_TIMEOUT_S = 10.0

# --- heuristic constants (the formula is in heuristic_parts' docstring) ------------------
SHORT_ANSWER_TASKS = frozenset({"classification", "extraction", "qa"})
MIN_ANSWER_CHARS = 20
MIN_CONTENT_WORD_LEN = 3
RELEVANCE_CAP = 10
# Tasks whose answer is not expected to reuse the prompt's words.
NO_RELEVANCE_TASKS = frozenset({"translation"})
_STOP_WORDS_TEXT = """
    about above after again against all also and any are aren because been before being
    below between both but can cannot could did does doing down during each few for from
    further had has have having her here hers herself him himself his how into its itself
    just let more most must myself nor not now off once only other our ours ourselves out
    over own same she should some such than that the their theirs them themselves then there
    these they this those through too under until upon very was were what when where which
    while who whom why will with would you your yours yourself yourselves
    answer answers briefly describe explain following give given list please question short
    sentence sentences show tell text using use word words write
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class QualityResult:
    """Scores in [0, 1] by scorer name, and one-line notes explaining some of them."""

    scores: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


def score(
    expect: Expect | None,
    text: str,
    *,
    prompt: str,
    task: str,
    max_tokens: int | None = None,
    code_timeout_s: float = CODE_TIMEOUT_S,
) -> dict[str, float]:
    """The applicable scores of ``text``, each in [0, 1]; see :func:`score_detail`."""
    return score_detail(
        expect, text, prompt=prompt, task=task, max_tokens=max_tokens, code_timeout_s=code_timeout_s
    ).scores


def score_detail(
    expect: Expect | None,
    text: str,
    *,
    prompt: str,
    task: str,
    max_tokens: int | None = None,
    code_timeout_s: float = CODE_TIMEOUT_S,
) -> QualityResult:
    """Score ``text`` (a model's answer to ``prompt``) with every scorer that applies.

    ``heuristic`` always; ``exact`` / ``contains`` / ``regex`` / ``rouge_l`` + ``chrf`` /
    ``code_pass`` when ``expect`` sets ``exact`` / a non-empty ``contains`` / ``regex`` /
    ``reference`` / ``tests``. ``code_pass`` runs a Python subprocess for up to
    ``code_timeout_s`` seconds: call this off the event loop (``asyncio.to_thread``) and
    not while a measured request is running.
    """
    scores: dict[str, float] = {}
    notes: dict[str, str] = {}

    parts = heuristic_parts(text, prompt=prompt, task=task, max_tokens=max_tokens)
    scores["heuristic"] = parts.value
    notes["heuristic"] = parts.describe()

    if expect is not None:
        if expect.exact is not None:
            scores["exact"] = exact_match(text, expect.exact)
        if expect.contains:
            value, missing = contains_fraction(text, expect.contains)
            scores["contains"] = value
            if missing:
                notes["contains"] = "missing: " + ", ".join(repr(s) for s in missing)
        if expect.regex is not None:
            value, note = regex_match(text, expect.regex)
            scores["regex"] = value
            if note:
                notes["regex"] = note
        if expect.reference is not None:
            scores["rouge_l"] = rouge_l(text, expect.reference)
            scores["chrf"] = chrf(text, expect.reference)
        if expect.tests is not None and expect.tests.strip():
            value, note = run_code_tests(text, expect.tests, timeout_s=code_timeout_s)
            scores["code_pass"] = value
            if note:
                notes["code_pass"] = note
    return QualityResult(scores=scores, notes=notes)


def validate_expect(expect: Expect | None) -> str | None:
    """The first problem in ``expect`` as ``"field: message"``, or ``None`` if usable.

    Checks that ``regex`` compiles, that ``tests`` is valid Python syntax (compiled, never
    run) and that no ``contains`` entry is empty. Plan validation prefixes the field with
    the prompt's location (``prompts[2].expect.regex: ...``).
    """
    if expect is None:
        return None
    if expect.regex is not None:
        try:
            re.compile(expect.regex, REGEX_FLAGS)
        except re.error as exc:
            where = f" at position {exc.pos}" if exc.pos is not None else ""
            return f"regex: invalid regular expression: {exc.msg}{where}"
    for i, needle in enumerate(expect.contains):
        if not needle.strip():
            return f"contains[{i}]: empty string (it would match every answer)"
    if expect.tests is not None:
        try:
            compile(expect.tests, "<expect.tests>", "exec", dont_inherit=True)
        except SyntaxError as exc:
            return f"tests: Python syntax error: {exc.msg} (line {exc.lineno})"
        except ValueError as exc:  # e.g. null bytes
            return f"tests: {exc}"
    return None


# --- heuristic ----------------------------------------------------------------------------


def words(text: str) -> list[str]:
    """Lowercased ``\\w+`` tokens (Unicode-aware, no stemming, no language rules)."""
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class HeuristicParts:
    length: float
    repetition: float
    relevance: float | None  # None: not used for this task
    value: float

    def describe(self) -> str:
        rel = "n/a" if self.relevance is None else f"{self.relevance:.2f}"
        return f"length {self.length:.2f}, repetition {self.repetition:.2f}, relevance {rel}"


def heuristic_parts(
    text: str, *, prompt: str, task: str, max_tokens: int | None = None
) -> HeuristicParts:
    """A length/relevance HEURISTIC: cheap, deterministic, blind to correctness.

    With ``W`` = :func:`words` of the answer and ``C`` = the prompt's content words
    (``words(prompt)`` of at least 3 characters, not in :data:`STOP_WORDS`, as a set)::

        chars      = sum(len(w) for w in W)        # word characters only: "!!!" counts 0
        need       = 1 if task in {classification, extraction, qa} else 20
        need       = min(need, max_tokens)         # when max_tokens is given
        length     = min(1, chars / need)
        T          = word trigrams of W            # W[i:i+3]
        repetition = min(1, 2 * distinct(T) / len(T))      # 1 when len(T) == 0
        relevance  = |C & set(W)| / min(|C|, 10)  # 1 when C is empty; unused for translation
        heuristic  = length * repetition * (1/2 + 1/2 * relevance)    # length * repetition
                                                                      # for translation

    Up to half the trigrams may repeat without penalty; a degenerate loop of one sentence
    repeated k times scores about 2/k. Relevance counts at most 10 prompt words so a long
    prompt (a text to summarise) does not require the answer to echo all of it, and only
    halves the score at worst: a correct terse answer ("Paris") shares no prompt word.
    """
    toks = words(text)
    chars = sum(len(w) for w in toks)
    need = 1 if task in SHORT_ANSWER_TASKS else MIN_ANSWER_CHARS
    if max_tokens is not None:
        need = max(1, min(need, max_tokens))
    length = min(1.0, chars / need)

    trigrams = [tuple(toks[i : i + 3]) for i in range(len(toks) - 2)]
    repetition = min(1.0, 2 * len(set(trigrams)) / len(trigrams)) if trigrams else 1.0

    relevance: float | None = None
    if task not in NO_RELEVANCE_TASKS:
        content = {
            w for w in words(prompt) if len(w) >= MIN_CONTENT_WORD_LEN and w not in STOP_WORDS
        }
        if content:
            hits = len(content & set(toks))
            relevance = min(1.0, hits / min(len(content), RELEVANCE_CAP))
        else:
            relevance = 1.0
    rel_factor = 1.0 if relevance is None else 0.5 + 0.5 * relevance
    return HeuristicParts(
        length=length,
        repetition=repetition,
        relevance=relevance,
        value=length * repetition * rel_factor,
    )


def heuristic(text: str, *, prompt: str, task: str, max_tokens: int | None = None) -> float:
    """The heuristic's value alone (see :func:`heuristic_parts`)."""
    return heuristic_parts(text, prompt=prompt, task=task, max_tokens=max_tokens).value


# --- exact / contains / regex -------------------------------------------------------------


def normalise(text: str) -> str:
    """Stripped, case-folded, every whitespace run collapsed to one space."""
    return " ".join(text.split()).casefold()


def exact_match(text: str, expected: str) -> float:
    return 1.0 if normalise(text) == normalise(expected) else 0.0


def contains_fraction(text: str, needles: list[str]) -> tuple[float, list[str]]:
    """Share of ``needles`` found as case-folded substrings, and the ones missing."""
    if not needles:
        return 1.0, []
    hay = text.casefold()
    missing = [n for n in needles if n.casefold() not in hay]
    return (len(needles) - len(missing)) / len(needles), missing


def regex_match(text: str, pattern: str) -> tuple[float, str]:
    """1.0 if ``re.search(pattern, text, re.IGNORECASE | re.DOTALL)`` finds a match.

    Inline flags in the pattern still work (``(?m)``, ``(?-i:...)``). An invalid pattern
    scores 0 with a note; plan validation (:func:`validate_expect`) reports it earlier.
    """
    try:
        found = re.search(pattern, text, REGEX_FLAGS)
    except re.error as exc:
        return 0.0, f"invalid regular expression: {exc}"
    return (1.0 if found else 0.0), ""


# --- ROUGE-L ------------------------------------------------------------------------------


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence, bit-parallel (Hyyrö 2004).

    One big-integer bit per position of ``a``: O(len(b)) integer operations instead of an
    O(len(a) x len(b)) table, so long answers stay cheap.
    """
    if not a or not b:
        return 0
    masks: dict[str, int] = {}
    for i, tok in enumerate(a):
        masks[tok] = masks.get(tok, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for tok in b:
        u = v & masks.get(tok, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def rouge_l(text: str, reference: str) -> float:
    """ROUGE-L F-measure with beta = 1 over :func:`words` (lowercased ``\\w+``, no stemming).

    ``P = LCS / len(answer)``, ``R = LCS / len(reference)``, ``F = 2PR / (P + R)``; 0 when
    either side has no words. Unlike rouge-score's default tokenizer, non-ASCII letters
    count as word characters.
    """
    cand, ref = words(text), words(reference)
    lcs = lcs_length(ref, cand)
    if lcs == 0:
        return 0.0
    p, r = lcs / len(cand), lcs / len(ref)
    return 2 * p * r / (p + r)


# --- chrF ---------------------------------------------------------------------------------


def _char_ngrams(s: str, n: int) -> Counter[str]:
    return Counter(s[i : i + n] for i in range(len(s) - n + 1))


def chrf(text: str, reference: str, *, char_order: int = 6, beta: float = 2.0) -> float:
    """chrF (Popović 2015) exactly as sacrebleu's default ``CHRF().sentence_score``, / 100.

    All whitespace removed, case kept. For n = 1..char_order, with character n-gram
    multisets H (answer) and R (reference) and M = H & R (clipped counts)::

        P_n = |M| / |H|,  R_n = |M| / |R|        # only orders where |H| > 0 and |R| > 0
        P, R = mean of P_n, R_n over those orders (0 if there are none)
        chrF = (1 + beta^2) P R / (beta^2 P + R)  (0 if P + R == 0)

    This is sacrebleu 2.x with ``word_order=0, eps_smoothing=False`` (its default), i.e.
    precision and recall are averaged before the F-score, not F-scores averaged.
    """
    hyp = "".join(text.split())
    ref = "".join(reference.split())
    sum_p = sum_r = 0.0
    orders = 0
    for n in range(1, char_order + 1):
        h, r = _char_ngrams(hyp, n), _char_ngrams(ref, n)
        n_h, n_r = sum(h.values()), sum(r.values())
        if n_h == 0 or n_r == 0:
            continue
        n_m = sum((h & r).values())
        sum_p += n_m / n_h
        sum_r += n_m / n_r
        orders += 1
    if orders == 0:
        return 0.0
    p, r = sum_p / orders, sum_r / orders
    if p + r == 0:
        return 0.0
    b2 = beta * beta
    return (1 + b2) * p * r / (b2 * p + r)


# --- code_pass ----------------------------------------------------------------------------

_FENCE = re.compile(
    r"^[ \t]*```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:^[ \t]*```[ \t]*$|\Z)",
    re.DOTALL | re.MULTILINE,
)
_PYTHON_TAGS = frozenset({"python", "py", "python3", "py3"})

# Runs in the child: the answer becomes module ``solution`` (its ``__main__`` block does not
# run, it may define dataclasses), then the tests run as ``__main__`` in a copy of its
# namespace, so they may call the answer's functions directly, import from ``solution`` or
# use unittest.main().
# An exit() in the answer would otherwise skip the tests and look like a pass.
_RUNNER = """\
import sys, types
try:
    import resource
except ImportError:
    resource = None
if resource is not None:
    for name, value in (("RLIMIT_CORE", 0), ("RLIMIT_FSIZE", 16 << 20)):
        limit = getattr(resource, name, None)
        if limit is not None:
            try:
                resource.setrlimit(limit, (value, value))
            except (ValueError, OSError):
                pass

def _source(name):
    with open(name, encoding="utf-8") as f:
        return compile(f.read(), name, "exec", dont_inherit=True)

_tests = _source("tests.py")
_module = types.ModuleType("solution")
_module.__file__ = "solution.py"
sys.modules["solution"] = _module
try:
    exec(_source("solution.py"), _module.__dict__)
except SystemExit as exc:
    sys.stderr.write(f"the answer exited (code {exc.code!r}) before the tests ran\\n")
    sys.exit(3)
# A real __main__ module, so that unittest.main() finds the tests' TestCase classes.
_main = types.ModuleType("__main__")
_main.__dict__.update(_module.__dict__)
_main.__dict__.update(__name__="__main__", __file__="tests.py")
sys.modules["__main__"] = _main
exec(_tests, _main.__dict__)
"""


def extract_code(text: str) -> tuple[str, bool]:
    """The code to run and whether it came from a fenced block.

    The first block fenced ```python (or py, python3), else the first untagged block, else
    the first block of any tag; a block cut off by the token limit runs to the end of the
    text. With no fence at all, the whole text. Indented blocks are dedented.
    """
    blocks = [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(text)]
    if not blocks:
        return text.strip("\n"), False
    for wanted in (lambda tag: tag in _PYTHON_TAGS, lambda tag: tag == "", lambda tag: True):
        for tag, body in blocks:
            if wanted(tag):
                return textwrap.dedent(body).strip("\n"), True
    raise AssertionError("unreachable")  # pragma: no cover


def run_code_tests(
    text: str, tests: str, *, timeout_s: float = CODE_TIMEOUT_S
) -> tuple[float, str]:
    """Run the answer's code, then ``tests``, in a fresh Python; ``(1.0|0.0, note)``.

    ``[sys.executable, "-I", "-X", "utf8", runner]`` in a temporary directory that is also
    the working directory and ``HOME``, with only ``PATH`` inherited, stdin and stdout
    closed (discarded), a 16 MiB file-size limit (POSIX), and ``timeout_s`` of wall time
    after which the whole process group is killed. ``-I`` ignores ``PYTHON*`` variables
    and the user site; installed packages stay importable. 1.0 exactly when it exits 0.
    The note is empty on a pass, else the reason: ``"timeout after 10 s"``, the last line
    of stderr (``"AssertionError: ..."``), ``"no code found"``; a syntax error in an
    answer without a fence says the whole answer was run.
    """
    code, fenced = extract_code(text)
    if not code.strip():
        return 0.0, "no code found"
    with tempfile.TemporaryDirectory(prefix="tui-bench-code-") as tmp:
        tmpdir = Path(tmp)
        for name, source in (("solution.py", code), ("tests.py", tests), ("run.py", _RUNNER)):
            (tmpdir / name).write_bytes(source.encode("utf-8", "replace"))
        env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": tmp, "TMPDIR": tmp}
        if os.name == "nt":  # Python cannot start on Windows without these
            env.update({k: os.environ[k] for k in ("SYSTEMROOT", "TEMP", "TMP") if k in os.environ})
        stderr_path = tmpdir / "stderr.txt"
        with stderr_path.open("wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-X", "utf8", "run.py"],
                cwd=tmp,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=os.name == "posix",
            )
            started = time.monotonic()
            try:
                returncode = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                return 0.0, f"timeout after {timeout_s:g} s"
            finally:
                # Also on a normal exit: nothing the answer started may outlive the check.
                _kill(proc)
            elapsed = time.monotonic() - started
        if returncode == 0:
            return 1.0, ""
        reason = _last_line(stderr_path)
        if returncode < 0:
            sig = _signal_name(-returncode)
            reason = f"killed by {sig}" + (f" ({reason})" if reason else "")
        elif not reason:
            reason = f"exit code {returncode} after {elapsed:.1f} s"
        elif not fenced and reason.startswith(("SyntaxError", "IndentationError", "TabError")):
            # Most likely prose around unfenced code: say so.
            reason = f"no fenced code block, ran the whole answer: {reason}"
        return 0.0, reason


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill the child and anything left in its process group, then reap it.

    After the child itself was reaped the group id cannot have been reused while members
    remain, and an empty group raises ProcessLookupError, so this never hits a stranger.
    """
    if os.name == "posix":
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    proc.wait()


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def _last_line(path: Path, limit: int = 200) -> str:
    """The last non-blank line of a (possibly large) stderr file, at most ``limit`` chars."""
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - 8192))
        tail = f.read().decode("utf-8", "replace")
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    if not lines:
        return ""
    last = lines[-1]
    return last if len(last) <= limit else last[: limit - 3] + "..."
