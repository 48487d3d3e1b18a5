"""Recommendations per task type that weigh quality against speed: the Pareto front."""

from __future__ import annotations

from report_helpers import front_run

from tui_bench.core.recommend import Point, advise, dominates, recommendations


def test_the_front_of_a_hand_made_set() -> None:
    points = [
        Point("A", 0.82, 95.0),  # best quality
        Point("B", 0.41, 199.5),  # 2.1x faster, lower quality: on the front
        Point("C", 0.30, 150.0),  # B is better on both: dominated
        Point("D", 0.82, 60.0),  # as good as A, slower: dominated
        Point("E", 0.10, 400.0),  # fastest: on the front
        Point("F", None, 500.0),  # not scored: out of the front, listed apart
    ]
    a = advise("analysis", points)
    assert [p.model for p in a.front] == ["A", "B", "E"]
    assert [p.model for p in a.dominated] == ["C", "D"]
    assert [p.model for p in a.unplaced] == ["F"]
    assert dominates(points[1], points[2]) and dominates(points[0], points[3])
    assert not dominates(points[0], points[1]) and not dominates(points[1], points[0])
    assert a.text == (
        "analysis: A, quality 0.82 at 95.0 tok/s; B is 2.1x faster at quality 0.41; "
        "E is 4.2x faster at quality 0.10; dominated: C (quality 0.30 at 150.0 tok/s), "
        "D (quality 0.82 at 60.0 tok/s)"
    )


def test_equal_points_are_both_on_the_front_and_one_best_on_both_stands_alone() -> None:
    a = advise("qa", [Point("x", 0.5, 10.0), Point("y", 0.5, 10.0)])
    assert [p.model for p in a.front] == ["x", "y"] and a.dominated == []
    # qualities are compared as reported (two decimals): 0.004 is not better than 0.001
    c = advise("qa", [Point("slow", 0.004, 100.0), Point("fast", 0.001, 300.0)])
    assert [p.model for p in c.front] == ["fast"] and [p.model for p in c.dominated] == ["slow"]
    assert (
        c.text
        == "qa: fast, quality 0.00 at 300.0 tok/s; dominated: slow (quality 0.00 at 100.0 tok/s)"
    )
    b = advise("qa", [Point("x", 0.9, 100.0), Point("y", 0.5, 50.0)])
    assert [p.model for p in b.front] == ["x"]
    assert b.text == "qa: x, quality 0.90 at 100.0 tok/s; dominated: y (quality 0.50 at 50.0 tok/s)"


def test_no_quality_score_is_speed_only() -> None:
    a = advise("translation", [Point("slow", None, 40.0), Point("fast", None, 95.25)])
    assert not a.scored and a.front == []
    assert a.text == "translation: speed only (quality not scored): fast 95.2 > slow 40.0 tok/s"
    assert a.as_dict()["quality"] is None


def test_recommendations_from_a_run() -> None:
    analysis, code = recommendations(front_run().summary)
    assert [
        (p.model, round(p.quality or 0, 3), round(p.speed or 0, 1)) for p in analysis.front
    ] == [
        ("big", 0.81, 50.0),
        ("small", 0.4, 100.0),
    ]
    assert [p.model for p in analysis.dominated] == ["worse"]
    assert not code.scored and [p.model for p in code.speed_order] == ["small", "big"]
    # by the task's places: the same front (small's speed has a place of its own)
    run = front_run()
    placed, _ = recommendations(run.summary, run.records)
    assert [(p.model, p.speed_place) for p in placed.front] == [("big", 3), ("small", 1)]
    assert [p.model for p in placed.dominated] == ["worse"]


def test_a_speed_the_statistics_cannot_tell_apart_is_as_fast() -> None:
    """sloppy's median is 0.25 tok/s above careful's, within the spread of both: by medians
    alone it would be "faster" and on the front; by the task's places the two are tied on
    speed, so careful, better on quality, dominates it."""
    from report_helpers import rec, run_data

    from tui_bench.core.medals import placings

    recs = []
    for i, r in enumerate([100.0, 104.0, 96.0, 102.0, 98.0, 101.0]):
        recs.append(rec(len(recs), "careful", rate=r, quality={"composite": 0.8}))
        sloppy = r + 1.0 if i % 2 else r - 0.5  # median 100.75 against 100.5
        recs.append(rec(len(recs), "sloppy", rate=sloppy, quality={"composite": 0.4}))
    data = run_data(recs, ["careful", "sloppy"])
    assert [(p.model, p.place) for p in placings(recs, ["careful", "sloppy"], "decode_tps")] == [
        ("sloppy", 1),
        ("careful", 1),
    ]
    (by_median,) = recommendations(data.summary)
    assert [p.model for p in by_median.front] == ["careful", "sloppy"]
    (by_place,) = recommendations(data.summary, data.records)
    assert [p.model for p in by_place.front] == ["careful"]
    assert [p.model for p in by_place.dominated] == ["sloppy"]
    assert by_place.as_dict()["front"][0]["decode_place"] == 1
    # tied on speed and equal on quality: both on the front, the second "as fast"
    both = advise("qa", [Point("x", 0.5, 100.0, 1), Point("y", 0.5, 101.0, 1)])
    assert both.text == "qa: y, quality 0.50 at 101.0 tok/s; x as fast (tied) at quality 0.50"
