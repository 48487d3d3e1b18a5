"""The scenario catalog: the shipped index and its RAG scenario's data, a user's index
through $TUI_BENCH_SCENARIOS, one-line errors for bad index and data files, and
``tui-bench scenarios``.

The shipped judgements are checked for sense with a retrieval baseline (TF-IDF cosine):
it must rank the judged articles far above where a random order puts them.
"""

from __future__ import annotations

import fnmatch
import json
import math
import random
import sys
from pathlib import Path

import pytest

from tui_bench.core.errors import EXIT_BAD_INPUT, UserError
from tui_bench.core.ranking import RankedItem, parse_timestamp, temporal_ndcg
from tui_bench.core.scenarios import (
    SCENARIOS_ENV,
    SHIPPED_INDEX,
    Scenario,
    load_catalog,
    load_index,
    load_rag_data,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
LABELS = ("account", "billing", "installation", "performance")


@pytest.fixture(autouse=True)
def _no_user_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SCENARIOS_ENV, raising=False)


def _shipped() -> Scenario:
    (scenario,) = load_catalog({})
    return scenario


# --- the shipped index and its RAG scenario ---------------------------------------


def test_shipped_index_loads() -> None:
    s = _shipped()
    assert (s.id, s.stages, s.tasks_total, s.labels) == (
        "support-rag",
        ("retrieve", "classify", "generate"),
        24,
        LABELS,
    )
    assert s.thresholds == {
        "success_rate": 0.8,
        "ndcg@10": 0.6,
        "recall@10": 0.8,
        "accuracy": 0.75,
        "quality": 0.5,
    }
    assert s.ranking.now == parse_timestamp("2025-04-01T00:00:00Z")
    assert (s.ranking.T_days, s.ranking.lam) == (30.0, 0.3)
    assert s.source == "shipped" and s.index_path == SHIPPED_INDEX
    folder = SHIPPED_INDEX.parent / "support-rag"
    assert s.data == {
        "documents": folder / "documents.jsonl",
        "questions": folder / "questions.jsonl",
        "train": folder / "train.csv",
    }


def test_rag_files_are_consistent() -> None:
    s = _shipped()
    data = load_rag_data(s)
    docs = {d.id: d for d in data.documents}
    assert len(docs) == len(data.documents) == 60
    assert len(data.questions) == s.tasks_total == 24
    for label in LABELS:
        assert sum(d.label == label for d in data.documents) == 15
        assert sum(q.label == label for q in data.questions) == 6
    for d in data.documents:
        assert d.ts is not None and d.ts.utcoffset() is not None and d.ts < s.ranking.now
        assert d.title and len(d.text.split()) >= 20
    for q in data.questions:
        assert set(q.relevant) <= set(docs)
        assert 3 in q.relevant.values()  # each question has an article that answers it
        assert set(q.relevant.values()) <= {1, 2, 3}
        assert q.expect and q.expect["contains"]
    # freshness matters: most questions judge articles months apart in age
    spread = [
        max(docs[i].ts for i in q.relevant) - min(docs[i].ts for i in q.relevant)
        for q in data.questions
    ]
    assert sum(d.days > 90 for d in spread) >= 12


def test_temporal_ndcg_on_a_shipped_question_by_hand() -> None:
    """q01 (refund delay) with the 2024 policy ranked above its March 2025 update."""
    s = _shipped()
    data = load_rag_data(s)
    docs = {d.id: d for d in data.documents}
    q01 = data.questions[0]
    assert q01.relevant == {"kb-002": 3, "kb-001": 2, "kb-013": 1}
    ranked = [RankedItem(q01.relevant[i], docs[i].ts) for i in ("kb-001", "kb-002", "kb-013")]
    # ages at 2025-04-01T00:00Z: kb-001 2024-07-15T07:12Z, kb-002 2025-03-10T14:30Z,
    # kb-013 2024-06-12T09:00Z
    age_001, age_002, age_013 = 259 + 16.8 / 24, 21 + 9.5 / 24, 292 + 15 / 24
    g1 = 3 * math.exp(-0.3 * age_001 / 30)
    g2 = 7 * math.exp(-0.3 * age_002 / 30)
    g3 = 1 * math.exp(-0.3 * age_013 / 30)
    dcg = g1 + g2 / math.log2(3) + g3 / 2
    idcg = g2 + g1 / math.log2(3) + g3 / 2
    r = s.ranking
    got = temporal_ndcg(ranked, k=10, now=r.now, T_days=r.T_days, lam=r.lam)
    assert got.value == pytest.approx(dcg / idcg, rel=1e-12)
    # g1 = 0.22347, g2 = 5.65159, g3 = 0.05360: dcg 3.81607 / idcg 5.81939
    assert got.value == pytest.approx(0.6557, abs=1e-4)
    # without decay the old page keeps its weight and the order costs less: 7.9165 / 9.3928
    flat = temporal_ndcg(ranked, k=10, now=r.now, lam=0.0)
    assert flat.value == pytest.approx((3 + 7 / math.log2(3) + 0.5) / (7 + 3 / math.log2(3) + 0.5))
    assert flat.value == pytest.approx(0.8428, abs=1e-4)


def test_training_csv_reads_in_the_classifier_mode() -> None:
    from tui_bench.core.classify.data import load_dataset

    s = _shipped()
    ds = load_dataset(s.data["train"], text_column="text", label_column="label")
    cat = ds.categories["label"]
    assert ds.n_rows == cat.n == 160
    assert {label: cat.labels.count(label) for label in LABELS} == dict.fromkeys(LABELS, 40)
    questions = {q.text.lower() for q in load_rag_data(s).questions}
    assert not questions & {t.lower() for t in cat.texts}  # the tasks are not in training


def test_retrieval_baseline_beats_random_by_far() -> None:
    """TF-IDF cosine over title + text: mean temporal nDCG@10 far above a random order's."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    s = _shipped()
    data = load_rag_data(s)
    docs = data.documents
    vec = TfidfVectorizer(sublinear_tf=True, stop_words="english")
    matrix = vec.fit_transform([f"{d.title} {d.text}" for d in docs])
    rng = random.Random(0)

    def ndcg(order: list[int], relevant: dict[str, int], lam: float) -> float:
        items = [RankedItem(relevant.get(docs[i].id, 0), docs[i].ts) for i in order]
        r = s.ranking
        return temporal_ndcg(items, k=10, now=r.now, T_days=r.T_days, lam=lam).value

    for lam in (s.ranking.lam, 0.0):
        tfidf, shuffled, recall = [], [], []
        for q in data.questions:
            sims = cosine_similarity(vec.transform([q.text]), matrix)[0]
            order = sorted(range(len(docs)), key=lambda i: (-sims[i], i))
            tfidf.append(ndcg(order, q.relevant, lam))
            top = {docs[i].id for i in order[:10]}
            recall.append(len(top & set(q.relevant)) / len(q.relevant))
            for _ in range(20):
                o = list(range(len(docs)))
                rng.shuffle(o)
                shuffled.append(ndcg(o, q.relevant, lam))
        mean_tfidf = sum(tfidf) / len(tfidf)
        mean_random = sum(shuffled) / len(shuffled)
        # measured: 0.81 (λ = 0.3) and 0.86 (λ = 0) against 0.09 for random orders
        assert mean_tfidf > 0.7 and mean_random < 0.2, (lam, mean_tfidf, mean_random)
        assert sum(recall) / len(recall) >= s.thresholds["recall@10"]
        assert mean_tfidf >= s.thresholds["ndcg@10"]


def test_package_data_ships_every_scenario_file() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["tui_bench"]
    base = ROOT / "tui_bench"
    files = [p for p in (base / "scenarios").rglob("*") if p.is_file()]
    assert len(files) == 4
    for f in files:
        rel = f.relative_to(base).as_posix()
        assert any(fnmatch.fnmatch(rel, pat) for pat in patterns), rel


# --- a user's index --------------------------------------------------------------

USER_INDEX = """
[[scenarios]]
id = "support-rag"
description = "My stricter copy"
stages = ["retrieve"]
tasks_total = 2
folder = "mine"
data = { documents = "docs.jsonl", questions = "q.jsonl" }
thresholds = { "ndcg@5" = 0.9, mrr = 0.5 }

[[scenarios]]
id = "chat-only"
description = "Answer without context"
stages = ["generate"]
tasks_total = 2
folder = "mine"
data = { questions = "q.jsonl" }
thresholds = { quality = 0.4 }
"""


def _user_files(tmp_path: Path, index: str = USER_INDEX, name: str = "index.toml") -> Path:
    mine = tmp_path / "mine"
    mine.mkdir(exist_ok=True)
    (mine / "docs.jsonl").write_text(
        '{"id": "a", "text": "Reset the router."}\n{"id": "b", "text": "Pay the bill."}\n'
    )
    (mine / "q.jsonl").write_text(
        '{"id": "q1", "question": "Internet is down", "relevant": {"a": 3}}\n'
        '{"id": "q2", "question": "How do I pay?", "relevant": {"b": 2, "a": 0}}\n'
    )
    path = tmp_path / name
    path.write_text(index)
    return path


def test_user_index_adds_and_overrides(tmp_path: Path) -> None:
    path = _user_files(tmp_path)
    catalog = load_catalog({SCENARIOS_ENV: str(path)})
    assert [s.id for s in catalog] == ["support-rag", "chat-only"]
    override, added = catalog
    assert (override.source, added.source) == (str(path), str(path))
    assert override.description == "My stricter copy" and override.labels == ()
    assert override.thresholds == {"ndcg@5": 0.9, "mrr": 0.5}
    assert override.data["documents"] == tmp_path / "mine" / "docs.jsonl"
    data = load_rag_data(override)
    assert [q.relevant for q in data.questions] == [{"a": 3}, {"b": 2}]  # grade 0 dropped
    assert [d.ts for d in data.documents] == [None, None]
    assert load_rag_data(added).documents == []


def test_user_index_in_json(tmp_path: Path) -> None:
    entry = {
        "id": "chat-only",
        "description": "d",
        "stages": ["generate"],
        "tasks_total": 2,
        "folder": "mine",
        "data": {"questions": "q.jsonl"},
    }
    path = _user_files(tmp_path, json.dumps({"scenarios": [entry]}), "index.json")
    ids = [s.id for s in load_catalog({SCENARIOS_ENV: str(path)})]
    assert ids == ["support-rag", "chat-only"]


def test_missing_user_index_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(UserError) as err:
        load_catalog({SCENARIOS_ENV: str(tmp_path / "none.toml")})
    assert str(err.value) == f"{SCENARIOS_ENV}: {tmp_path / 'none.toml'}: no such index file"


GOOD = 'id = "x"\ndescription = "d"\nstages = ["generate"]\ntasks_total = 2\nfolder = "mine"\n'
GOOD_DATA = 'data = { questions = "q.jsonl" }\n'


@pytest.mark.parametrize(
    ("entry", "field", "message"),
    [
        (GOOD.replace("tasks_total = 2\n", "") + GOOD_DATA, "tasks_total", "missing"),
        (GOOD.replace("2", "0") + GOOD_DATA, "tasks_total", "must be an integer ≥ 1, got 0"),
        (GOOD.replace('"x"', '"X y"') + GOOD_DATA, "id",
         "must be lower-case letters, digits, '.', '_' or '-', got 'X y'"),
        (GOOD.replace('["generate"]', '["rerank"]') + GOOD_DATA, "stages[0]",
         "unknown stage 'rerank' (expected retrieve, classify, generate)"),
        (GOOD.replace('["generate"]', '["generate", "generate"]') + GOOD_DATA, "stages[1]",
         "'generate' is listed twice"),
        (GOOD, "data.questions", "missing: the generate stage needs it"),
        (GOOD + 'data = { questions = "nope.jsonl" }\n', "data.questions", "no such file {mine}/nope.jsonl"),
        (GOOD + 'data = { questions = "q.jsonl", extra = "q.jsonl" }\n', "data.extra",
         "unknown data file (expected documents, questions, train)"),
        (GOOD + 'data = { questions = "q.jsonl", train = "q.jsonl" }\n', "data.train",
         "given, but the scenario has no classify stage"),
        (GOOD.replace('["generate"]', '["classify"]') + GOOD_DATA, "labels",
         "missing: the classify stage needs the label set"),
        (GOOD + GOOD_DATA + 'labels = ["a", "a"]\n', "labels[1]", "'a' is listed twice"),
        (GOOD + GOOD_DATA + "thresholds = { quality = 1.5 }\n", "thresholds.quality",
         "must be a number from 0 to 1, got 1.5"),
        (GOOD + GOOD_DATA + "thresholds = { accuracy = 0.5 }\n", "thresholds.accuracy",
         "judges the classify stage, which the scenario does not have"),
        (GOOD + GOOD_DATA + "thresholds = { bleu = 0.5 }\n", "thresholds.bleu",
         "unknown metric (expected success_rate, mrr, accuracy, macro_f1, quality, ndcg@K, "
         "recall@K)"),
        (GOOD + GOOD_DATA + 'ranking = { now = "2025-04-01" }\n', "ranking.now",
         "not an ISO 8601 timestamp with a zone: '2025-04-01' has no zone (add Z or +HH:MM)"),
        (GOOD + GOOD_DATA + "ranking = { T_days = 0 }\n", "ranking.T_days",
         "must be a finite number > 0 (days), got 0"),
        (GOOD + GOOD_DATA + "colour = 1\n", "colour",
         "unknown field (expected id, name, description, folder, stages, data, labels, "
         "thresholds, tasks_total, ranking)"),
    ],
)  # fmt: skip
def test_bad_index_is_one_line_naming_file_and_field(
    tmp_path: Path, entry: str, field: str, message: str
) -> None:
    path = _user_files(tmp_path, "[[scenarios]]\n" + entry)
    with pytest.raises(UserError) as err:
        load_index(path)
    message = message.format(mine=tmp_path / "mine")
    assert str(err.value) == f"{path}: scenarios[0].{field}: {message}"
    assert err.value.exit_code == EXIT_BAD_INPUT


def test_bad_index_shapes(tmp_path: Path) -> None:
    one = "[[scenarios]]\n" + GOOD + GOOD_DATA
    for text, where in (
        (one + one, "scenarios[1].id: 'x' already used by scenarios[0]"),
        ("title = 1\n" + one, "title: unknown field (an index holds only scenarios)"),
        ("", "scenarios: missing or empty: give a list of scenarios"),
        ("[[scenarios\n", "TOML syntax error: "),
    ):
        path = _user_files(tmp_path, text)
        with pytest.raises(UserError) as err:
            load_index(path)
        assert str(err.value).startswith(f"{path}: {where}")
        assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("questions", "message"),
    [
        ('{"id": "q1", "question": "?", "relevant": {"zz": 3}}',
         "line 1: relevant.zz: no such document"),
        ('{"id": "q1", "question": "?", "relevant": {"a": 4}}',
         "line 1: relevant.a: must be an integer grade 0 to 3, got 4"),
        ('{"id": "q1", "question": "?", "relevant": {"a": 0}}',
         "line 1: relevant: missing: the retrieve stage needs a document graded above 0"),
        ('{"id": "q1", "question": "?", "relevant": {"a": 1}}\n{"id": "q1", "question": "!"}',
         "line 2: id: 'q1' already used by an earlier question"),
        ('{"id": "q1", "question": "?", "relevant": {"a": 1}, "expect": {"regex": "("}}',
         "line 1: expect.regex: invalid regular expression: missing ), unterminated subpattern "
         "at position 0"),
    ],
)  # fmt: skip
def test_bad_questions_name_the_line_and_field(
    tmp_path: Path, questions: str, message: str
) -> None:
    (scenario,) = load_index(
        _user_files(tmp_path, USER_INDEX.split('\n[[scenarios]]\nid = "chat')[0])
    )
    scenario.data["questions"].write_text(questions + "\n")
    with pytest.raises(UserError) as err:
        load_rag_data(scenario)
    assert str(err.value) == f"{scenario.data['questions']}: {message}"


def test_bad_documents_and_counts(tmp_path: Path) -> None:
    (scenario,) = load_index(
        _user_files(tmp_path, USER_INDEX.split('\n[[scenarios]]\nid = "chat')[0])
    )
    docs = scenario.data["documents"]
    docs.write_text(
        '{"id": "a", "text": "x", "ts": "2025-01-01T00:00:00Z"}\n{"id": "b", "text": "y"}\n'
    )
    with pytest.raises(UserError, match="document 'b' has no timestamp, unlike the first one"):
        load_rag_data(scenario)
    docs.write_text('{"id": "a", "text": "x", "ts": "yesterday"}\n')
    with pytest.raises(UserError) as err:
        load_rag_data(scenario)
    assert str(err.value).startswith(f"{docs}: line 1: ts: not an ISO 8601 timestamp")
    docs.write_text('{"id": "a", "text": "x"}\n{"id": "b", "text": "y"}\n')
    scenario.data["questions"].write_text('{"id": "q1", "question": "?", "relevant": {"a": 1}}\n')
    with pytest.raises(UserError) as err:
        load_rag_data(scenario)
    assert str(err.value) == (
        f"{scenario.index_path}: support-rag.tasks_total: 2, but "
        f"{scenario.data['questions']} holds 1 questions"
    )


# --- the command line --------------------------------------------------------------


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from tui_bench.cli import main

    with pytest.raises(SystemExit) as stop:
        main(list(args))
    out = capsys.readouterr()
    return int(stop.value.code or 0), out.out, out.err


def test_cli_lists_the_shipped_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "scenarios")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["id", "stages", "tasks", "thresholds", "source"]
    assert lines[2].split("  ")[0] == "support-rag"
    assert "retrieve > classify > generate  24" in lines[2]
    assert "success_rate≥0.8, ndcg@10≥0.6, recall@10≥0.8, accuracy≥0.75, quality≥0.5" in lines[2]
    assert lines[2].endswith("shipped")
    assert lines[-1] == f"{SCENARIOS_ENV}: not set (shipped scenarios only)"


def test_cli_json_with_a_user_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _user_files(tmp_path)
    monkeypatch.setenv(SCENARIOS_ENV, str(path))
    code, out, _ = _run(capsys, "scenarios", "--json")
    data = json.loads(out)
    assert code == 0 and data["user_index"] == str(path)
    assert [(s["id"], s["source"], s["tasks_total"]) for s in data["scenarios"]] == [
        ("support-rag", str(path), 2),
        ("chat-only", str(path), 2),
    ]
    assert data["scenarios"][1]["thresholds"] == {"quality": 0.4}
    assert data["scenarios"][1]["ranking"] == {"now": None, "T_days": 7.0, "lam": 0.3}
    code, out, _ = _run(capsys, "scenarios")
    assert out.splitlines()[-1] == f"{SCENARIOS_ENV}: {path}"


def test_cli_bad_user_index_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _user_files(tmp_path, USER_INDEX.replace("mrr = 0.5", "mrr = 2"))
    monkeypatch.setenv(SCENARIOS_ENV, str(path))
    code, out, err = _run(capsys, "scenarios")
    assert code == EXIT_BAD_INPUT and out == ""
    assert (
        err == f"error: {path}: scenarios[0].thresholds.mrr: must be a number from 0 to 1, got 2\n"
    )
