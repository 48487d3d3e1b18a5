"""Temporal nDCG@k (tui_bench.core.ranking) and ``tui-bench ndcg``.

Numbers used below (to 6 places):
  1/log2(2) = 1, 1/log2(3) = 0.630930, 1/log2(4) = 0.5, 1/log2(5) = 0.430677
  exp(-0.3) = 0.740818, exp(-1.2) = 0.301194
"""

from __future__ import annotations

import json
import math
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from bench_helpers import cli_env, tui_bench_cmd

from tui_bench.core.errors import EXIT_BAD_INPUT, UserError
from tui_bench.core.ranking import (
    NOTE_EMPTY,
    NOTE_NO_GAIN,
    RankedItem,
    load_payload,
    parse_payload,
    temporal_ndcg,
)

NOW = datetime(2025, 10, 26, 14, 0, tzinfo=timezone.utc)
D3 = 1 / math.log2(3)  # 0.630930: the discount at position 2


def _aged(*pairs: tuple[float, float]) -> list[RankedItem]:
    """Items from (rel, age in days before NOW)."""
    return [RankedItem(rel, NOW - timedelta(days=age)) for rel, age in pairs]


# The design note's example payload (its response shows 0.95 as an illustration only)
NOTE_PAYLOAD = {
    "ranked_items": [
        {"rel": 3.0, "ts": "2025-10-26T12:00:00Z"},
        {"rel": 2.0, "ts": "2025-09-26T12:00:00Z"},
    ],
    "k": 10,
    "now": "2025-10-26T14:00:00Z",
    "T_days": 7.0,
    "lam": 0.3,
}
# item 1: rel 3, 2 h old: Δt = (2/24)/7 = 0.0119048, gain 7·exp(-0.3·0.0119048) = 6.975045
# item 2: rel 2, 30 d 2 h old: Δt = 30.083333/7 = 4.297619, gain 3·exp(-1.289286) = 0.826402
# the order is already ideal: DCG = IDCG = 6.975045 + 0.826402·0.630930 = 7.496446 → 1.0
NOTE_DCG = 7.496446
# reversed: DCG = 0.826402 + 6.975045·0.630930 = 0.826402 + 4.400763 = 5.227166;
# 5.227166 / 7.496446 = 0.697286
NOTE_REVERSED = 0.697286


# --- the design note's cases -------------------------------------------------------------


def test_note_example_payload() -> None:
    r = parse_payload(NOTE_PAYLOAD).compute()
    assert r.value == 1.0
    assert r.dcg == pytest.approx(NOTE_DCG, abs=1e-6) and r.idcg == r.dcg
    assert (r.k, r.n_items, r.n_future_clamped, r.T_days, r.lam) == (10, 2, 0, 7.0, 0.3)
    assert r.now == NOW and r.now_source == "given" and r.note is None
    reversed_payload = dict(NOTE_PAYLOAD, ranked_items=NOTE_PAYLOAD["ranked_items"][::-1])
    assert parse_payload(reversed_payload).compute().value == pytest.approx(NOTE_REVERSED, abs=1e-6)


def test_note_response_shape() -> None:
    d = parse_payload(NOTE_PAYLOAD).compute().to_dict()
    assert d["ndcg_time@k"] == 1.0 and d["k"] == 10 and d["num_items"] == 2
    assert d["parameters"] == {"T_days": 7.0, "lambda": 0.3}
    assert d["now"] == "2025-10-26T14:00:00+00:00" and d["now_source"] == "given"


def test_edge_empty_list() -> None:
    r = temporal_ndcg([], now=NOW)
    assert (r.value, r.dcg, r.idcg, r.n_items, r.note) == (0.0, 0.0, 0.0, 0, NOTE_EMPTY)


def test_edge_single_item() -> None:
    # one relevant item is its own ideal ranking, however old
    for rel, age in ((1, 0), (3, 30), (0.5, 365)):
        r = temporal_ndcg(_aged((rel, age)), now=NOW)
        assert r.value == 1.0
        assert r.dcg == pytest.approx((2**rel - 1) * math.exp(-0.3 * age / 7))
    # one irrelevant item: 0/0, reported as 0.0
    r = temporal_ndcg(_aged((0, 1)), now=NOW)
    assert (r.value, r.note) == (0.0, NOTE_NO_GAIN)


def test_all_zero_relevance() -> None:
    r = temporal_ndcg(_aged((0, 0), (0, 3), (0, 10)), now=NOW)
    assert (r.value, r.dcg, r.idcg, r.note) == (0.0, 0.0, 0.0, NOTE_NO_GAIN)


def test_temporal_decay_prefers_the_fresher_of_equals() -> None:
    # two items rel 1 (gain 1), 0 and 7 days old: Δt 0 and 1, discounted 1 and exp(-0.3)
    assert temporal_ndcg(_aged((1, 0), (1, 7)), now=NOW).value == 1.0
    # old first: DCG = 0.740818 + 1·0.630930 = 1.371748
    #            IDCG = 1 + 0.740818·0.630930 = 1.467404  →  0.934813
    r = temporal_ndcg(_aged((1, 7), (1, 0)), now=NOW)
    assert r.dcg == pytest.approx(1.371748, abs=1e-6)
    assert r.idcg == pytest.approx(1.467404, abs=1e-6)
    assert r.value == pytest.approx(0.934813, abs=1e-6)
    # with no decay, age does not matter
    assert temporal_ndcg(_aged((1, 7), (1, 0)), now=NOW, lam=0).value == 1.0


def test_temporal_decay_shrinks_dcg_with_age_and_scales_with_T_days() -> None:
    dcgs = [temporal_ndcg(_aged((2, age)), now=NOW).dcg for age in (0, 1, 7, 30, 365)]
    assert dcgs == sorted(dcgs, reverse=True) and dcgs[0] == 3.0
    assert dcgs[2] == pytest.approx(3 * 0.740818, abs=1e-6)  # 7 days = one T_days
    # the age is in units of T_days: 14 days with T_days 14 weighs as 7 days with T_days 7
    r14 = temporal_ndcg(_aged((2, 14)), now=NOW, T_days=14)
    assert r14.dcg == pytest.approx(dcgs[2])
    # half-life T_days·ln2/λ = 7·0.693147/0.3 = 16.17 days
    half = temporal_ndcg(_aged((1, 7 * math.log(2) / 0.3)), now=NOW).dcg
    assert half == pytest.approx(0.5)


def test_tradeoff_relevance_against_freshness() -> None:
    # rel 3 four weeks old (Δt 4: 7·exp(-1.2) = 2.108359) against rel 2 today (gain 3)
    items = _aged((3, 28), (2, 0))
    # λ = 0.3: the fresh rel-2 item should lead. DCG = 2.108359 + 3·0.630930 = 4.001149,
    # IDCG = 3 + 2.108359·0.630930 = 4.330226  →  0.924004
    r = temporal_ndcg(items, now=NOW)
    assert r.dcg == pytest.approx(4.001149, abs=1e-6)
    assert r.idcg == pytest.approx(4.330226, abs=1e-6)
    assert r.value == pytest.approx(0.924004, abs=1e-6)
    # λ = 0: relevance alone, the old rel-3 item rightly leads
    assert temporal_ndcg(items, now=NOW, lam=0).value == 1.0
    # and the other order then scores (3 + 7·0.630930) / (7 + 3·0.630930)
    #                                   = 7.416508 / 8.892790 = 0.833991
    swapped = temporal_ndcg(items[::-1], now=NOW, lam=0).value
    assert swapped == pytest.approx(0.833991, abs=1e-6)


def test_realistic_document_search() -> None:
    # a search engine's top 5 (rel, age in days) and the same list re-ranked with a
    # freshness boost; k = 3 judges the first page only
    engine = [(3, 40), (2, 1), (3, 3), (0, 0), (1, 10)]
    g = [(2**rel - 1) * math.exp(-0.3 * age / 7) for rel, age in engine]
    # Δt·λ = 0.3·age/7: 1.714286, 0.042857, 0.128571, 0, 0.428571
    # g = 7·0.180092 = 1.260646, 3·0.958048 = 2.874145, 7·0.879351 = 6.155455, 0,
    #     1·0.651439 = 0.651439
    assert g == pytest.approx([1.260646, 2.874145, 6.155455, 0.0, 0.651439], abs=1e-6)
    # first page as served: 1.260646 + 1.813384 + 3.077728 = 6.151758
    dcg = 1.260646 + 2.874145 * D3 + 6.155455 * 0.5
    # ideal first page (6.155455, 2.874145, 1.260646): 6.155455 + 1.813384 + 0.630323
    #                                                   = 8.599162  →  0.715390
    idcg = 6.155455 + 2.874145 * D3 + 1.260646 * 0.5
    r = temporal_ndcg(_aged(*engine), now=NOW, k=3)
    assert r.dcg == pytest.approx(dcg, abs=1e-5) and r.idcg == pytest.approx(idcg, abs=1e-5)
    assert r.value == pytest.approx(0.715390, abs=1e-6)
    boosted = [engine[i] for i in (2, 1, 0, 4, 3)]
    assert temporal_ndcg(_aged(*boosted), now=NOW, k=3).value == 1.0


# --- more hand-computed cases ------------------------------------------------------------


def test_classic_ndcg_with_no_decay() -> None:
    # rels 1, 2, 0 → gains 1, 3, 0. DCG = 1 + 3·0.630930 = 2.892789
    # IDCG (3, 1, 0) = 3 + 1·0.630930 = 3.630930; 2.892789 / 3.630930 = 0.796708
    r = temporal_ndcg(_aged((1, 0), (2, 0), (0, 0)), now=NOW, lam=0)
    assert r.dcg == pytest.approx(2.892789, abs=1e-6)
    assert r.value == pytest.approx(0.796708, abs=1e-6)


def test_k_cuts_the_ranking_but_the_ideal_sees_every_item() -> None:
    items = _aged((0, 0), (3, 0), (1, 0))  # gains 0, 7, 1
    assert temporal_ndcg(items, now=NOW, k=1, lam=0).value == 0.0  # DCG 0, IDCG 7
    # k = 2: DCG = 7·0.630930 = 4.416508, IDCG = 7 + 1·0.630930 = 7.630930 → 0.578764
    assert temporal_ndcg(items, now=NOW, k=2, lam=0).value == pytest.approx(0.578764, abs=1e-6)
    # k past the end counts every item: DCG = 4.416508 + 0.5 = 4.916508,
    # IDCG = 7.630930 (the 0 adds nothing) → 0.644287
    big = temporal_ndcg(items, now=NOW, k=50, lam=0)
    assert big.value == pytest.approx(0.644287, abs=1e-6) and big.k == 50


def test_future_items_count_as_fresh_and_are_counted() -> None:
    items = [RankedItem(1, NOW + timedelta(days=3)), RankedItem(1, NOW)]
    r = temporal_ndcg(items, now=NOW)
    # both Δt = 0 (the future one clamped, not boosted to exp(+0.3·3/7)):
    # DCG = 1 + 1·0.630930
    assert r.n_future_clamped == 1
    assert r.dcg == pytest.approx(1.630930, abs=1e-6) and r.value == 1.0


def test_zones_are_compared_as_instants() -> None:
    # 16:00 at +02:00 is 14:00 UTC: age 0
    r = parse_payload(
        {"ranked_items": [{"rel": 1, "ts": "2025-10-26T16:00:00+02:00"}], "now": NOW.isoformat()}
    ).compute()
    assert r.dcg == 1.0 and r.n_future_clamped == 0


def test_now_defaults_to_the_clock_and_says_so() -> None:
    payload = parse_payload({"ranked_items": [{"rel": 2, "ts": "2025-10-19T14:00:00Z"}]})
    assert payload.now is None and (payload.k, payload.T_days, payload.lam) == (10, 7.0, 0.3)
    r = payload.compute(clock=NOW)
    # 7 days old: 3·exp(-0.3)
    assert r.now == NOW and r.now_source == "clock"
    assert r.dcg == pytest.approx(3 * 0.740818, abs=1e-6)
    live = payload.compute()
    assert live.now_source == "clock" and live.now.utcoffset() == timedelta(0)


# --- λ = 0 is scikit-learn's nDCG on gains 2^rel − 1 ---------------------------------------


def test_lambda_zero_matches_sklearn_ndcg_score() -> None:
    from sklearn.metrics import ndcg_score

    rng = np.random.default_rng(20251026)
    checked_zero = 0
    for trial in range(400):
        n = int(rng.integers(2, 25))
        if trial % 3 == 0:  # half-grades: fractional relevance, still with ties
            rels = rng.integers(0, 7, size=n) / 2
        else:  # few integer grades over many items: many ties
            rels = rng.integers(0, 4, size=n).astype(float)
        if trial % 50 == 0:
            rels[:] = 0.0
        ages = rng.uniform(-5, 400, size=n)  # ignored at λ = 0, future ones included
        k = int(rng.integers(1, n + 4))
        order = rng.permutation(n)
        items = _aged(*((float(rels[i]), float(ages[i])) for i in order))
        ours = temporal_ndcg(items, now=NOW, k=k, lam=0.0)
        gains = 2.0 ** rels[order] - 1
        # strictly decreasing scores: sklearn ranks the items in our order, no score ties
        scores = np.arange(n, 0, -1, dtype=float)
        expected = ndcg_score([gains], [scores], k=k)
        assert ours.value == pytest.approx(expected, abs=1e-12), (trial, rels[order], k)
        checked_zero += not gains.any()
    assert checked_zero >= 8  # the all-irrelevant case is among those compared


# --- parameters and payloads that are refused -----------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"k": 0}, "k: must be an integer ≥ 1, got 0"),
        ({"k": -3}, "k: must be an integer ≥ 1, got -3"),
        ({"k": 2.5}, "k: must be an integer ≥ 1, got 2.5"),
        ({"k": True}, "k: must be an integer ≥ 1, got True"),
        ({"T_days": 0}, "T_days: must be a finite number > 0 (days), got 0"),
        ({"T_days": -7.0}, "T_days: must be a finite number > 0 (days), got -7.0"),
        ({"T_days": math.inf}, "T_days: must be a finite number > 0 (days), got inf"),
        ({"lam": -0.1}, "lam: must be a finite number ≥ 0, got -0.1"),
        ({"lam": math.nan}, "lam: must be a finite number ≥ 0, got nan"),
    ],
)
def test_parameters_are_validated(params: dict[str, object], message: str) -> None:
    with pytest.raises(UserError) as err:
        temporal_ndcg(_aged((1, 0)), now=NOW, **params)  # type: ignore[arg-type]
    assert str(err.value) == message
    with pytest.raises(UserError) as err:
        parse_payload({"ranked_items": [], **params}, "p.json")
    assert str(err.value) == f"p.json: {message}"


def test_lambda_zero_and_large_k_are_accepted() -> None:
    r = temporal_ndcg(_aged((1, 0)), now=NOW, k=1_000_000, lam=0, T_days=0.001)
    assert (r.value, r.k, r.lam) == (1.0, 1_000_000, 0.0)
    # λ = 0 means no decay even where age/T_days overflows to inf (0·inf would be nan):
    # gains 1 and 3 as with no dates at all, DCG = 1 + 3·0.630930 = 2.892789
    tiny = temporal_ndcg(_aged((1, 700_000), (2, 0)), now=NOW, lam=0, T_days=1e-320)
    assert tiny.dcg == pytest.approx(2.892789, abs=1e-6)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([1, 2], "p.json: expected a JSON object with ranked_items"),
        ({}, "p.json: ranked_items: missing"),
        ({"ranked_items": {}}, "p.json: ranked_items: must be a list of objects with rel and ts"),
        ({"ranked_items": [3]}, "p.json: ranked_items[0]: must be an object with rel and ts"),
        (
            {"ranked_items": [], "lambda": 0.3},
            "p.json: lambda: unknown field (expected ranked_items, k, now, T_days, lam)",
        ),
        ({"ranked_items": [{"ts": "2025-01-01T00:00Z"}]}, "p.json: ranked_items[0].rel: missing"),
        (
            {"ranked_items": [{"rel": "3", "ts": "2025-01-01T00:00Z"}]},
            "p.json: ranked_items[0].rel: must be a number from 0 to 1000, got '3'",
        ),
        (
            {"ranked_items": [{"rel": -1, "ts": "2025-01-01T00:00Z"}]},
            "p.json: ranked_items[0].rel: must be a number from 0 to 1000, got -1",
        ),
        (
            {"ranked_items": [{"rel": 1, "ts": "2025-01-01T00:00Z"}, {"rel": 1}]},
            "p.json: ranked_items[1].ts: missing",
        ),
        (
            {"ranked_items": [{"rel": 1, "ts": "last week"}]},
            "p.json: ranked_items[0].ts: not an ISO 8601 timestamp with a zone: 'last week'",
        ),
        (
            {"ranked_items": [{"rel": 1, "ts": 1761487200}]},
            "p.json: ranked_items[0].ts: not an ISO 8601 timestamp with a zone: "
            "expected a string, got 1761487200",
        ),
        (
            {"ranked_items": [{"rel": 1, "ts": "2025-10-26T12:00:00"}]},
            "p.json: ranked_items[0].ts: not an ISO 8601 timestamp with a zone: "
            "'2025-10-26T12:00:00' has no zone (add Z or +HH:MM)",
        ),
        (
            {"ranked_items": [], "now": "2025-10-26"},
            "p.json: now: not an ISO 8601 timestamp with a zone: "
            "'2025-10-26' has no zone (add Z or +HH:MM)",
        ),
    ],
)
def test_bad_payloads_name_the_field(payload: object, message: str) -> None:
    with pytest.raises(UserError) as err:
        parse_payload(payload, "p.json")
    assert str(err.value) == message


def test_naive_datetimes_are_refused_in_the_python_api() -> None:
    naive = datetime(2025, 10, 26, 12, 0)
    with pytest.raises(UserError, match=r"^ranked_items\[0\]\.ts: not an ISO 8601"):
        temporal_ndcg([RankedItem(1, naive)], now=NOW)
    with pytest.raises(UserError, match=r"^now: not an ISO 8601"):
        temporal_ndcg(_aged((1, 0)), now=naive)


def test_bad_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(UserError) as err:
        load_payload(missing)
    assert str(err.value) == f"{missing}: cannot read (No such file or directory)"
    broken = tmp_path / "broken.json"
    broken.write_text('{"ranked_items": [\n  {"rel": 1,}\n]}')
    with pytest.raises(UserError) as err:
        load_payload(broken)
    assert str(err.value) == (
        f"{broken}: not valid JSON (line 2, column 13: Expecting property name enclosed in "
        "double quotes)"
    )
    nan = tmp_path / "nan.json"
    nan.write_text('{"ranked_items": [], "lam": NaN}')
    with pytest.raises(UserError) as err:
        load_payload(nan)
    assert str(err.value) == f"{nan}: not valid JSON (NaN is not a JSON number)"


# --- the command line ------------------------------------------------------------------------


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from tui_bench.cli import main

    with pytest.raises(SystemExit) as stop:
        main(list(args))
    out = capsys.readouterr()
    return int(stop.value.code or 0), out.out, out.err


def _write(tmp_path: Path, payload: object, name: str = "payload.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(payload, indent=2))
    return path


def test_cli_prints_the_value_and_parameters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, dict(NOTE_PAYLOAD, ranked_items=NOTE_PAYLOAD["ranked_items"][::-1]))
    code, out, err = _run(capsys, "ndcg", str(path))
    assert code == 0 and err == ""
    # 0.697286 by hand (NOTE_REVERSED): 0.6973 at four places
    assert out.splitlines() == [
        "ndcg_time@10 = 0.6973",
        "  k        10",
        "  now      2025-10-26T14:00:00+00:00 (from the payload)",
        "  T_days   7",
        "  lam      0.3",
        "  items    2",
        "  clamped  0 future item(s) counted as age 0",
        "  dcg      5.22717 / idcg 7.49645",
    ]


def test_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "ndcg", str(_write(tmp_path, NOTE_PAYLOAD)), "--json")
    data = json.loads(out)
    assert code == 0 and data["ndcg_time@k"] == 1.0
    assert data["dcg"] == pytest.approx(NOTE_DCG, abs=1e-6)
    assert (data["k"], data["num_items"], data["n_future_clamped"]) == (10, 2, 0)
    assert data["parameters"] == {"T_days": 7.0, "lambda": 0.3} and data["note"] is None


def test_cli_clock_future_items_and_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = {"ranked_items": [{"rel": 0, "ts": "2999-01-01T00:00:00Z"}], "k": 3}
    code, out, _ = _run(capsys, "ndcg", str(_write(tmp_path, payload)))
    lines = out.splitlines()
    assert code == 0 and lines[0] == "ndcg_time@3 = 0.0000"
    assert lines[2].endswith("(current UTC time)")
    assert "  clamped  1 future item(s) counted as age 0" in lines
    assert lines[-1] == f"  note     {NOTE_NO_GAIN}"


def test_cli_bad_field_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = [{"rel": 1, "ts": "2025-10-26T12:00:00Z"}] * 3 + [{"rel": 1, "ts": "2025-10-26"}]
    path = _write(tmp_path, {"ranked_items": items})
    code, out, err = _run(capsys, "ndcg", str(path))
    assert code == EXIT_BAD_INPUT and out == ""
    assert err == (
        f"error: {path}: ranked_items[3].ts: not an ISO 8601 timestamp with a zone: "
        "'2025-10-26' has no zone (add Z or +HH:MM)\n"
    )


def test_cli_bad_file_and_bad_json_in_a_real_process(tmp_path: Path, bench_home: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    for path, message in (
        (tmp_path / "none.json", "cannot read (No such file or directory)"),
        (broken, "not valid JSON (line 1, column 2: Expecting property name enclosed in "
         "double quotes)"),
    ):  # fmt: skip
        proc = subprocess.run(
            tui_bench_cmd("ndcg", str(path)),
            capture_output=True,
            text=True,
            env=cli_env(bench_home),
            timeout=120,
        )
        assert proc.returncode == 2 and proc.stdout == ""
        assert proc.stderr == f"error: {path}: {message}\n"


def test_help_lists_ndcg(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--help")
    assert code == 0 and "ndcg" in out
    code, out, _ = _run(capsys, "ndcg", "--help")
    assert code == 0 and "T_days 7" in " ".join(out.split())
