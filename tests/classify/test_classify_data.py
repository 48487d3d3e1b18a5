"""Loading labelled text: formats, annotation JSON, null labels, and one-line errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from classify_helpers import write_csv, write_jsonl

from tui_bench.core.classify.data import load_dataset, normalise_label, parse_annotation
from tui_bench.core.errors import EXIT_BAD_INPUT, UserError


def _error(path: Path, **kwargs: object) -> str:
    with pytest.raises(UserError) as info:
        load_dataset(path, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message
    assert info.value.exit_code == EXIT_BAD_INPUT
    assert str(path) in message
    return message


def test_csv_label_column_skips_null_labels(tmp_path: Path) -> None:
    rows = [
        {"text": "one", "label": "pos"},
        {"text": "two", "label": ""},
        {"text": "three", "label": "null"},
        {"text": "four", "label": "NULL"},
        {"text": "five", "label": "NaN"},
        {"text": "six", "label": "  neg  "},
        {"text": "seven", "label": "none"},  # a real label in many schemes: kept
        {"text": "", "label": "pos"},  # no text: left out of everything
    ]
    ds = load_dataset(write_csv(tmp_path / "d.csv", rows), text_column="text", label_column="label")
    cat = ds.categories["label"]
    assert cat.labels == ["pos", "neg", "none"]
    assert cat.texts == ["one", "six", "seven"]
    assert cat.rows == [1, 6, 7]
    assert cat.skipped_null == 4
    assert ds.skipped_no_text == 1
    assert ds.n_rows == 8 and ds.format == "csv"


def test_jsonl_nulls_numbers_and_nan(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"text": "a", "label": None}),
                json.dumps({"text": "b", "label": 1}),
                json.dumps({"text": "c", "label": 0.0}),
                json.dumps({"text": "d", "label": True}),
                '{"text": "e", "label": NaN}',  # Python's json accepts NaN
                json.dumps({"text": "f"}),  # key missing: null
                "",
            ]
        ),
        encoding="utf-8",
    )
    ds = load_dataset(path, text_column="text", label_column="label")
    cat = ds.categories["label"]
    assert cat.labels == ["1", "0", "true"]
    assert cat.skipped_null == 3


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ("null", None)),
        (float("nan"), ("null", None)),
        ("", ("null", None)),
        ("   ", ("null", None)),
        ("Null", ("null", None)),
        ("nan", ("null", None)),
        ([], ("null", None)),
        ([None, "null"], ("null", None)),
        (["pos"], ("ok", "pos")),
        (["pos", "pos", None], ("ok", "pos")),
        (["pos", "neg"], ("multi", None)),
        ({"nested": 1}, ("invalid", None)),
        ([{"nested": 1}], ("invalid", None)),
        (3, ("ok", "3")),
        (2.5, ("ok", "2.5")),
        ("none", ("ok", "none")),
    ],
)
def test_normalise_label(raw: object, expected: tuple[str, str | None]) -> None:
    assert normalise_label(raw) == expected


def test_annotation_column_makes_one_category_per_key(tmp_path: Path) -> None:
    rows = [
        {"text": "t1", "annotation": json.dumps({"sentiment": "pos", "topic": "sport"})},
        {
            "text": "t2",
            "annotation": json.dumps({"sentiment": ["neg"], "topic": ["sport", "news"]}),
        },
        {"text": "t3", "annotation": json.dumps({"sentiment": None, "topic": "news"})},
        {"text": "t4", "annotation": "{'sentiment': 'pos', 'topic': 'null'}"},  # Python literal
        {"text": "t5", "annotation": ""},  # empty cell: no labels
        {"text": "t6", "annotation": "null"},
        {"text": "t7", "annotation": json.dumps({"sentiment": {"deep": 1}})},
    ]
    ds = load_dataset(
        write_csv(tmp_path / "a.csv", rows), text_column="text", annotation_column="annotation"
    )
    assert sorted(ds.categories) == ["sentiment", "topic"]
    sent, topic = ds.categories["sentiment"], ds.categories["topic"]
    assert sent.labels == ["pos", "neg", "pos"] and sent.rows == [1, 2, 4]
    assert sent.skipped_null == 1 and sent.skipped_invalid == 1
    assert topic.labels == ["sport", "news"] and topic.rows == [1, 3]
    assert topic.skipped_multi == 1 and topic.skipped_null == 1


def test_annotation_objects_in_jsonl(tmp_path: Path) -> None:
    rows = [
        {"text": "x", "annotation": {"c": "a"}, "lang": "EN "},
        {"text": "y", "annotation": {"c": "b"}, "lang": None},
    ]
    ds = load_dataset(
        write_jsonl(tmp_path / "a.jsonl", rows), text_column="text", annotation_column="annotation"
    )
    assert ds.language_column == "lang"  # found by name
    assert ds.categories["c"].languages == ["en", None]
    assert ds.languages == ["en"]


def test_language_column_auto_detect_is_case_insensitive(tmp_path: Path) -> None:
    rows = [{"text": "x", "label": "a", "Language": "fr"}]
    ds = load_dataset(write_csv(tmp_path / "l.csv", rows), text_column="text", label_column="label")
    assert ds.language_column == "Language"
    assert ds.categories["label"].languages == ["fr"]


def test_tsv_and_gzip(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "d.tsv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("text\tlabel\nhello world\tgreet\nbye now\tfarewell\n")
    ds = load_dataset(path, text_column="text", label_column="label")
    assert ds.format == "tsv"
    assert ds.categories["label"].labels == ["greet", "farewell"]


def test_missing_column_lists_the_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", [{"id": 1, "body": "x", "label": "a"}])
    msg = _error(path, text_column="text", label_column="label")
    assert "text column 'text' not found" in msg
    assert "(columns: id, body, label)" in msg
    msg = _error(path, text_column="body", label_column="category")
    assert "label column 'category' not found" in msg
    msg = _error(path, text_column="body", annotation_column="ann")
    assert "annotation column 'ann' not found" in msg
    msg = _error(path, text_column="body", label_column="label", language_column="lang")
    assert "language column 'lang' not found" in msg


def test_malformed_annotation_json_names_row_and_column(tmp_path: Path) -> None:
    rows = [
        {"text": "ok", "ann": json.dumps({"c": "a"})},
        {"text": "ok", "ann": json.dumps({"c": "b"})},
        {"text": "bad", "ann": '{"c": "a",'},
    ]
    msg = _error(write_csv(tmp_path / "d.csv", rows), text_column="text", annotation_column="ann")
    assert "column 'ann', row 3: malformed JSON" in msg


def test_annotation_that_is_not_an_object(tmp_path: Path) -> None:
    rows = [{"text": "x", "ann": json.dumps(["a", "b"])}]
    msg = _error(write_csv(tmp_path / "d.csv", rows), text_column="text", annotation_column="ann")
    assert "column 'ann', row 1: expected a JSON object" in msg and "got list" in msg


def test_parse_annotation_accepts_dicts_and_nulls() -> None:
    p = Path("f.csv")
    assert parse_annotation({"a": 1}, path=p, column="c", row=1) == {"a": 1}
    assert parse_annotation(None, path=p, column="c", row=1) is None
    assert parse_annotation(float("nan"), path=p, column="c", row=1) is None
    assert parse_annotation('{"a": "x"}', path=p, column="c", row=1) == {"a": "x"}


def test_unreadable_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    assert "no such file" in _error(missing, text_column="t", label_column="l")

    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"text,label\n\xff\xfe\xfa,a\n")
    assert "unreadable file: not UTF-8" in _error(binary, text_column="text", label_column="label")

    odd = tmp_path / "data.xlsx"
    odd.write_text("x")
    assert "unknown data format '.xlsx'" in _error(odd, text_column="t", label_column="l")

    bad_jsonl = tmp_path / "bad.jsonl"
    bad_jsonl.write_text('{"text": "a", "label": "x"}\n{"text": \n', encoding="utf-8")
    assert "line 2: malformed JSON" in _error(bad_jsonl, text_column="text", label_column="label")

    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "empty" in _error(empty, text_column="text", label_column="label")

    header_only = tmp_path / "header.csv"
    header_only.write_text("text,label\n")
    assert "no data rows" in _error(header_only, text_column="text", label_column="label")

    directory = tmp_path / "dir.csv"
    directory.mkdir()
    assert "is a directory" in _error(directory, text_column="text", label_column="label")


def test_no_usable_label(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "d.csv", [{"text": "a", "label": "null"}, {"text": "b", "label": ""}]
    )
    msg = _error(path, text_column="text", label_column="label")
    assert "column 'label' holds no usable label" in msg


def test_exactly_one_label_source() -> None:
    with pytest.raises(UserError, match="exactly one of"):
        load_dataset("x.csv", text_column="t")
    with pytest.raises(UserError, match="exactly one of"):
        load_dataset("x.csv", text_column="t", label_column="a", annotation_column="b")


def test_parquet(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        path.write_bytes(b"PAR1")
        msg = _error(path, text_column="text", label_column="label")
        assert "reading Parquet needs pyarrow" in msg
        return
    table = pa.table(
        {"text": ["a", "b", "c"], "label": ["x", None, "y"], "score": [1.0, math.nan, 2.0]}
    )
    pq.write_table(table, path)
    ds = load_dataset(path, text_column="text", label_column="label")
    assert ds.categories["label"].labels == ["x", "y"]


@pytest.mark.parametrize("kind", ["jsonl", "json", "annotation"])
def test_json_nested_too_deeply_is_one_line(tmp_path: Path, kind: str) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    if kind == "jsonl":
        path = tmp_path / "d.jsonl"
        path.write_text('{"text": "a", "label": "x"}\n' + deep + "\n")
        where = "line 2"
        args: dict[str, str] = {"label_column": "label"}
    elif kind == "json":
        path = tmp_path / "d.json"
        path.write_text(deep)
        where = "nested too deeply"
        args = {"label_column": "label"}
    else:
        path = tmp_path / "d.csv"
        path.write_text('text,ann\na,"{""c"": ' + deep.replace('"', '""') + '}"\n')
        where = "column 'ann', row"
        args = {"annotation_column": "ann"}
    with pytest.raises(UserError) as err:
        load_dataset(path, text_column="text", **args)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg and where in msg and "deeply" in msg
