from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kzner.align import document_to_tags, tags_to_spans
from kzner.cli import main
from kzner.document import Span
from kzner.labelstudio import ExportError, ReadOptions, format_report, load_documents, read_exports

TEXT = "«AMANAT» партиясы Арал\u00a0ауданында 91,4 пайызға 𝔘 жетті."
AMANAT = (1, 7, "ORG")
ARAL = (18, 22, "LOC")
PERCENT = (33, 45, "PERCENT")


def result(start: int, end: int, label: str, text: str | None = None, control: str = "label") -> dict:
    value: dict[str, Any] = {"start": start, "end": end, "labels": [label]}
    value["text"] = TEXT[start:end] if text is None else text
    return {"id": f"r{start}", "from_name": control, "to_name": "text", "type": "labels", "value": value}


def annotation(aid: int, spans: list, updated: str = "2026-01-01T00:00:00Z", **extra: Any) -> dict:
    return {
        "id": aid,
        "result": [result(*s) for s in spans],
        "was_cancelled": False,
        "ground_truth": False,
        "updated_at": updated,
        **extra,
    }


def task(tid: int, annotations: list, text: str = TEXT, predictions: list | None = None) -> dict:
    return {"id": tid, "data": {"text": text}, "annotations": annotations, "predictions": predictions or []}


def write(tmp_path: Path, data: Any, name: str = "export.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def spans_of(paths: list[Path], options: ReadOptions | None = None) -> list[list[Span]]:
    return [list(d.spans) for d in load_documents(paths, options or ReadOptions())]


def test_json_export_round_trip(tmp_path: Path) -> None:
    path = write(tmp_path, [task(1, [annotation(10, [AMANAT, ARAL, PERCENT])])])
    (doc,) = load_documents([path])
    assert [doc.span_text(s) for s in doc.spans] == ["AMANAT", "Арал", "91,4 пайызға"]
    assert doc.id == "1" and doc.text == TEXT


def test_snapshot_with_full_predictions_is_read_and_named(tmp_path: Path) -> None:
    prediction = {"id": 5, "model_version": "m1", "score": 0.5, "result": [result(*ARAL)]}
    path = write(tmp_path, [task(1, [annotation(10, [AMANAT])], predictions=[prediction])])
    docs, report = read_exports([path])
    assert report.files[str(path)] == "JSON snapshot"
    assert [list(d.spans) for d in docs] == [[Span(*AMANAT)]]  # predictions are not labels


def test_json_min_one_record_per_annotation(tmp_path: Path) -> None:
    def record(aid: int, spans: list, updated: str) -> dict:
        return {
            "text": TEXT,
            "id": 7,
            "annotation_id": aid,
            "annotator": 1,
            "updated_at": updated,
            "label": [{"start": s, "end": e, "text": TEXT[s:e], "labels": [lab]} for s, e, lab in spans],
        }

    path = write(
        tmp_path,
        [
            record(1, [AMANAT], "2026-01-01T00:00:00Z"),
            record(2, [AMANAT, ARAL], "2026-02-01T00:00:00Z"),
            {"text": "Ешкім белгілемеген мәтін.", "id": 8},
        ],
    )
    docs, report = read_exports([path])
    assert report.files[str(path)] == "JSON_MIN"
    assert [list(d.spans) for d in docs] == [[Span(*AMANAT), Span(*ARAL)]]  # the newer one
    assert report.disagreements == [f"{path}: task 7"]
    assert "task without annotation" in [why for _, why in report.skipped]


def test_choice_cancelled_ground_truth_latest(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            task(
                1,
                [
                    annotation(1, [AMANAT], "2026-03-01"),
                    annotation(2, [ARAL], "2026-01-01", ground_truth=True),
                ],
            ),
            task(2, [annotation(3, [AMANAT], "2026-01-01"), annotation(4, [ARAL], "2026-02-01")]),
            task(
                3,
                [
                    annotation(5, [AMANAT], "2026-01-01"),
                    annotation(6, [ARAL], "2026-09-01", was_cancelled=True),
                ],
            ),
            task(4, [annotation(7, [PERCENT], "2026-01-01"), annotation(8, [PERCENT], "2026-02-01")]),
        ],
    )
    docs, report = read_exports([path])
    assert [list(d.spans) for d in docs] == [[Span(*ARAL)], [Span(*ARAL)], [Span(*AMANAT)], [Span(*PERCENT)]]
    assert report.disagreements == [f"{path}: task 1", f"{path}: task 2"]
    reasons = [why for _, why in report.skipped]
    assert reasons.count("cancelled annotation") == 1
    assert reasons.count("annotation not chosen (another won)") == 3


def test_latest_is_a_moment_in_time_not_a_string(tmp_path: Path) -> None:
    # 10:00+05:00 is 05:00Z: an hour before 06:00Z, though it sorts after it as text.
    earlier, later = "2026-03-01T10:00:00+05:00", "2026-03-01T06:00:00Z"
    for order in ([earlier, later], [later, earlier]):
        annotations = [annotation(1, [AMANAT], order[0]), annotation(2, [ARAL], order[1])]
        (doc,) = load_documents([write(tmp_path, [task(1, annotations)])])
        assert list(doc.spans) == [Span(*(ARAL if order[1] == later else AMANAT))]
    # Fractions of a second and a missing time: the dated one wins.
    dated = annotation(2, [ARAL], "2026-03-01T06:00:00.123456Z")
    (doc,) = load_documents([write(tmp_path, [task(1, [annotation(1, [AMANAT], None), dated])])])
    assert list(doc.spans) == [Span(*ARAL)]


@pytest.mark.parametrize(
    ("spans", "message"),
    [
        ([(30, 99, "LOC")], r"task 1, annotation 1, result r30: span \[30:99\] LOC is outside the text"),
        ([(22, 18, "LOC")], r"task 1, annotation 1, result r22: span \[22:18\] LOC is empty or reversed"),
        ([(-1, 3, "LOC")], r"span \[-1:3\] LOC is outside the text"),
        ([(18, 22, "PERSON")], r"result r18: span \[18:22\] PERSON: label 'PERSON' is not one of"),
        ([(1, 7, "ORG"), (3, 22, "LOC")], r"task 1: span \[3:22\] LOC overlaps \[1:7\] ORG"),
        ([(17, 18, "LOC")], r"span \[17:18\] LOC covers only whitespace"),
    ],
)
def test_bad_spans_are_errors_naming_file_task_and_span(tmp_path: Path, spans: list, message: str) -> None:
    path = write(tmp_path, [task(1, [annotation(1, spans)])])
    with pytest.raises(ExportError, match=message) as err:
        load_documents([path])
    assert str(path) in str(err.value)


def test_label_map_renames(tmp_path: Path) -> None:
    path = write(tmp_path, [task(1, [annotation(1, [(1, 7, "ORGANIZATION")])])])
    options = ReadOptions(label_map={"ORGANIZATION": "ORG"})
    assert spans_of([path], options) == [[Span(*AMANAT)]]


def test_whitespace_trimmed_and_text_mismatch_are_counted_warnings(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            task(
                1,
                [
                    {
                        "id": 1,
                        "result": [
                            result(17, 23, "LOC"),  # " Арал\u00a0" -> "Арал"
                            result(1, 7, "ORG", text="AMANAT партиясы"),
                        ],
                    }
                ],
            )
        ],
    )
    docs, report = read_exports([path])
    assert [list(d.spans) for d in docs] == [[Span(*AMANAT), Span(*ARAL)]]
    assert not report.errors
    text = format_report(report, verbose=True)
    assert "warnings, whitespace trimmed: 1" in text
    assert "warnings, value.text differs from offsets: 1" in text
    assert "[17:23] LOC trimmed to [18:22] LOC" in text


def test_offsets_are_code_points_outside_the_bmp(tmp_path: Path) -> None:
    start = TEXT.index("𝔘")
    path = write(
        tmp_path, [task(1, [annotation(1, [(start, start + 1, "LOC"), (start + 2, start + 7, "LOC")])])]
    )
    (doc,) = load_documents([path])
    assert [doc.span_text(s) for s in doc.spans] == ["𝔘", "жетті"]


def test_wrong_control_and_missing_text_field_say_which_setting(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            {
                "id": 1,
                "data": {"text": TEXT},
                "annotations": [{"id": 1, "result": [result(*AMANAT, control="ner")]}],
            }
        ],
    )
    with pytest.raises(ExportError, match=r"control 'ner', expected 'label' \(set labelstudio.control\)"):
        load_documents([path])
    assert spans_of([path], ReadOptions(control="ner")) == [[Span(*AMANAT)]]
    path = write(tmp_path, [{"id": 2, "data": {"body": TEXT}, "annotations": []}], "b.json")
    with pytest.raises(ExportError, match=r"task 2: no text in data.text"):
        load_documents([path])


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, '[\n  {"id": 1,\n   "data": }\n]')
    with pytest.raises(ExportError, match=rf"{path.name}:3:12: malformed JSON"):
        load_documents([path])


def test_empty_text_is_a_counted_warning(tmp_path: Path) -> None:
    path = write(tmp_path, [task(1, [annotation(1, [])], text="  \n")])
    docs, report = read_exports([path])
    assert docs == [] and not report.errors
    assert "skipped, task with empty text: 1" in format_report(report)


CONLL = """-DOCSTART- -X- O
«AMANAT» -X- _ B-ORG
партиясы -X- _ O
Арал -X- _ B-LOC

Жайлы -X- _ B-PROJECT
мектеп -X- _ I-PROJECT
"""


def test_conll_export_is_read_with_a_lossy_warning(tmp_path: Path) -> None:
    path = write(tmp_path, CONLL, "export.conll")
    docs, report = read_exports([path])
    assert report.files[str(path)] == "CONLL2003"
    assert [[(d.span_text(s), s.label) for s in d.spans] for d in docs] == [
        [("«AMANAT»", "ORG"), ("Арал", "LOC")],
        [("Жайлы мектеп", "PROJECT")],
    ]
    assert any("lossy" in str(w) for w in report.warnings)


def test_cli_validate_exit_codes_and_report(tmp_path: Path, capsys) -> None:
    good = write(tmp_path, [task(1, [annotation(1, [AMANAT, ARAL])]), task(2, [])], "good.json")
    assert main(["data", "validate", str(good)]) == 0
    out = capsys.readouterr().out
    assert "tasks: 2, annotations used: 1" in out
    assert "spans: 2 (LOC 1, ORG 1)" in out
    assert "skipped, task without annotation: 1" in out
    bad = write(tmp_path, [task(1, [annotation(1, [(18, 22, "PLACE")])])], "bad.json")
    assert main(["data", "validate", str(good), str(bad)]) == 1
    assert "label 'PLACE' is not one of" in capsys.readouterr().out
    assert main(["data", "validate", str(bad), "--set", "labelstudio.label_map={PLACE: LOC}"]) == 0


@pytest.mark.integration
def test_committed_exports_match_the_real_reports(report_texts: dict[str, str]) -> None:
    """Every committed annotation, the in-domain dev part included: its spans
    survive spans -> word tags -> spans unchanged, no word split. A report's
    text is the real file, byte for byte; any other text is marked as
    written by us (data.source written/...), so nobody takes it for a report."""
    root = Path(__file__).resolve().parents[1]
    docs = load_documents(sorted((root / "annotations").glob("**/*.json")))
    reports = [d for d in docs if "(written/" not in d.source]
    assert len(reports) == len(report_texts) == 3 and len(docs) - len(reports) >= 80
    for doc in docs:
        tagged = document_to_tags(doc)
        assert tags_to_spans(tagged.tokens, tagged.tags) == list(doc.spans), doc.source
        assert tagged.words_split == 0, doc.source
    assert all(doc.text in report_texts.values() for doc in reports)
    pieces = {(d.span_text(s), s.label) for d in reports for s in d.spans}
    assert {
        ("AMANAT", "ORG"),
        ("Жайлы мектеп", "PROJECT"),
        ("866,8 мың шаршы метр", "QUANTITY"),
        ("46,2%-ға", "PERCENT"),
        ("Облыстық қан орталығы", "ORG"),
        ("Сырдария", "LOC"),
    } <= pieces


def test_data_stats_counts_per_document_and_label(tmp_path: Path, capsys) -> None:
    path = write(
        tmp_path,
        [
            task(
                1, [annotation(1, [AMANAT, ARAL, PERCENT], "2026-01-01"), annotation(2, [ARAL], "2026-02-01")]
            ),
            task(2, [annotation(3, [AMANAT], "2026-01-01", was_cancelled=True)]),
        ],
    )
    assert main(["data", "stats", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "document",
        "chars",
        "words",
        "spans",
        "ORG",
        "PROJECT",
        "MONEY",
        "PERCENT",
        "QUANTITY",
        "LOC",
    ]
    # Task 1: the later annotation (ARAL only) wins and the disagreement is listed.
    assert lines[1].split()[-9:] == [str(len(TEXT)), "13", "1", "0", "0", "0", "0", "0", "1"]
    assert lines[2].split()[:2] == ["1", "documents"]
    assert "tasks where annotators disagree: 1" in lines
    assert (
        "skipped: annotation not chosen (another won) 1, cancelled annotation 1, task without annotation 1"
        in lines
    )
