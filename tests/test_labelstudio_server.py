"""The Label Studio loop against a real server (the ``server`` fixture, see
tests/ls_server.py)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kzner import ls_client, ls_tasks
from kzner.cli import main
from kzner.document import LABELS
from kzner.labelstudio import read_exports
from kzner.ls_config import labeling_config
from kzner.predict import Entity

from .ls_server import free_port

# Kazakh letters, «», U+00A0 and a character outside the BMP, in both reports.
REPORTS = {
    "a.txt": "«Жайлы мектеп»\u00a0жобасы Қызылорда облысында 91,4 пайызға жетті. \U0001f600 Шиелі ауданы.",
    "b.txt": "Алматы қаласында\r\n\r\n«AMANAT» партиясы 5 млрд теңге бөлді. Арал\u00a0ауданы",
}


def test_labeling_config_names_what_our_reader_expects() -> None:
    root = ET.fromstring(labeling_config(LABELS))
    (labels,) = root.findall("Labels")
    (text,) = root.findall("Text")
    assert (labels.get("name"), labels.get("toName"), text.get("name"), text.get("value")) == (
        "label",
        "text",
        "text",
        "$text",
    )
    assert [label.get("value") for label in labels] == list(LABELS)
    assert (
        len({label.get("hotkey") for label in labels})
        == len({label.get("background") for label in labels})
        == 6
    )


def test_spans_are_checked_before_anything_is_sent() -> None:
    piece = ls_tasks.Piece("r.txt", "Арал ауданы", 0)
    build = lambda entities: ls_tasks.build_tasks([piece], [entities], LABELS, "v1", "label", "text")  # noqa: E731
    assert (
        build([Entity(0, 4, "LOC", "Арал", 0.9)])[0]["predictions"][0]["result"][0]["value"]["text"] == "Арал"
    )
    with pytest.raises(ls_tasks.LabelStudioError, match="r.txt@0: span \\[0:4\\] has label 'CITY'"):
        build([Entity(0, 4, "CITY", "Арал", 0.9)])
    with pytest.raises(ls_tasks.LabelStudioError, match="does not match the task text"):
        build([Entity(0, 4, "LOC", "Шиелі", 0.9)])
    with pytest.raises(ValueError, match="r.txt@0"):
        build([Entity(0, 40, "LOC", "Арал ауданы", 0.9)])


def test_paragraphs_keep_their_offsets() -> None:
    text = REPORTS["b.txt"]
    pieces = list(ls_tasks.paragraphs("b.txt", text))
    assert [p.text for p in pieces] == ["Алматы қаласында", text[text.index("«") :]]
    assert all(text[p.offset : p.offset + len(p.text)] == p.text for p in pieces)


@pytest.mark.integration
def test_round_trip_through_a_real_server(
    server: tuple[str, str], word_tagger_dir: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    url, token = server
    monkeypatch.setenv(ls_client.ENV_URL, url)
    monkeypatch.setenv(ls_client.ENV_KEY, token)
    for name, text in REPORTS.items():
        (tmp_path / name).write_text(text, encoding="utf-8", newline="")

    assert main(["labelstudio", "create-project", "--title", "kzner test"]) == 0
    project = int(capsys.readouterr().out.strip())
    reports = [str(tmp_path / name) for name in REPORTS]
    assert (
        main(["labelstudio", "push", "--project", str(project), *reports, "--model", str(word_tagger_dir)])
        == 0
    )
    assert "pushed 2 tasks with predictions" in capsys.readouterr().out

    # An annotator labels each task through the API, as the UI would.
    client = ls_client.connect()
    sent: dict[str, set[tuple[int, int, str]]] = {}
    for task in client.tasks.list(project=project):
        text = task.data["text"]
        assert text == REPORTS[Path(task.data["source"]).name]  # \r\n, U+00A0 and the emoji intact
        (prediction,) = client.predictions.list(task=task.id)
        assert prediction.model_version.startswith("model-") and prediction.result
        assert all(
            text[r["value"]["start"] : r["value"]["end"]] == r["value"]["text"] for r in prediction.result
        )
        wanted = {
            "«Жайлы мектеп»": ("Жайлы мектеп", "PROJECT"),
            "91,4": ("91,4 пайызға", "PERCENT"),
            "\U0001f600": ("\U0001f600 Шиелі", "LOC"),
            "«AMANAT»": ("AMANAT", "ORG"),
            "5 млрд": ("5 млрд теңге", "MONEY"),
            "Арал\u00a0": ("Арал\u00a0ауданы", "LOC"),
        }
        spans = set()
        for anchor, (piece, label) in wanted.items():
            if anchor in text:
                start = text.index(piece)
                spans.add((start, start + len(piece), label))
        result = [
            {
                "from_name": "label",
                "to_name": "text",
                "type": "labels",
                "value": {"start": s, "end": e, "text": text[s:e], "labels": [label]},
            }
            for s, e, label in sorted(spans)
        ]
        client.annotations.create(id=task.id, result=result)
        sent[text] = spans

    out = tmp_path / "pulled.json"
    assert main(["labelstudio", "pull", "--project", str(project), "--out", str(out)]) == 0
    assert "errors: 0" in capsys.readouterr().out
    documents, report = read_exports([out])
    assert not report.errors and len(documents) == 2
    assert {doc.text: {(s.start, s.end, s.label) for s in doc.spans} for doc in documents} == sent
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert all(isinstance(task["predictions"][0], dict) for task in exported)  # snapshot: full objects

    # Active learning: rank the reports by uncertainty and push the top one.
    assert (
        main(
            [
                "labelstudio",
                "rank",
                "--model",
                str(word_tagger_dir),
                *reports,
                "--top",
                "1",
                "--project",
                str(project),
            ]
        )
        == 0
    )
    assert "pushed 1 tasks" in capsys.readouterr().out
    assert len(list(client.tasks.list(project=project))) == 3


@pytest.mark.integration
def test_bad_key_and_dead_server_say_what_to_check(server: tuple[str, str], monkeypatch, capsys) -> None:
    url, token = server
    monkeypatch.setenv(ls_client.ENV_URL, url)
    monkeypatch.setenv(ls_client.ENV_KEY, "not-the-key")
    assert main(["labelstudio", "create-project", "--title", "nope"]) == 2
    err = capsys.readouterr().err
    assert "refused the key (HTTP 401): check LABEL_STUDIO_API_KEY" in err and "not-the-key" not in err
    monkeypatch.setenv(ls_client.ENV_URL, f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv(ls_client.ENV_KEY, token)
    assert main(["labelstudio", "create-project", "--title", "nope"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach Label Studio" in err and token not in err
