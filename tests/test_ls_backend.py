"""The ML backend (kzner.ls_backend) through its HTTP app, on a tiny model
whose spans depend on its input: /predict answers exactly what Tagger.pipe
gives, a bad task costs only itself, /setup refuses a labeling config kzner
cannot fill."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kzner.document import LABELS
from kzner.labelstudio import ReadOptions
from kzner.ls_backend import Backend, create_app
from kzner.ls_config import labeling_config
from kzner.predict import Entity, Tagger

# Kazakh letters, «», U+00A0, \r\n and a character outside the BMP.
TEXTS = [
    "«Жайлы мектеп»\u00a0жобасы Қызылорда облысында 91,4 пайызға жетті. \U0001f600 Шиелі ауданы.",
    "Алматы қаласында\r\n\r\n«AMANAT» партиясы 5 млрд теңге бөлді. Арал\u00a0ауданы",
    "Түркістан облысының әкімдігі 12 мектеп салды, 3,5 млрд теңге жұмсалды.",
]
PROJECT_CONFIG = """<View>
  <Header value="Read the report"/>
  <Labels name="ner" toName="doc">
    <Label value="ORGANIZATION"/><Label value="LOC"/><Label value="MONEY"/>
  </Labels>
  <Text name="doc" value="$content"/>
</View>"""


@pytest.fixture(scope="module")
def tagger(mixed_tagger_dir: Path) -> Tagger:
    return Tagger.load(mixed_tagger_dir, device="cpu")


def client_for(tagger: Tagger, options: ReadOptions | None = None) -> TestClient:
    return TestClient(create_app(Backend(tagger, options or ReadOptions())))


@pytest.fixture
def kzner_log(caplog: pytest.LogCaptureFixture, monkeypatch) -> pytest.LogCaptureFixture:
    """kzner's log lines (the CLI stops them propagating when a test ran it)."""
    monkeypatch.setattr(logging.getLogger("kzner"), "propagate", True)
    caplog.set_level(logging.INFO, logger="kzner")
    return caplog


def post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    # As Label Studio sends it: non-ASCII escaped, so that a lone surrogate travels too.
    return client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})


def spans(prediction: dict[str, Any]) -> list[tuple]:
    return [
        (r["value"]["start"], r["value"]["end"], r["value"]["labels"][0], r["value"]["text"], r["score"])
        for r in prediction["result"]
    ]


def as_spans(entities: list[Entity]) -> list[tuple]:
    return [(e.start, e.end, e.label, e.text, e.score) for e in entities]


def test_predict_answers_what_tagger_pipe_gives(tagger: Tagger) -> None:
    tasks = [{"id": i, "data": {"text": text}} for i, text in enumerate(TEXTS, 1)]
    body = {"tasks": tasks, "label_config": labeling_config(LABELS), "project": "3.1760000000"}
    response = post(client_for(tagger), "/predict", body)
    assert response.status_code == 200
    results = response.json()["results"]
    wanted = tagger.pipe(TEXTS)
    # The model's spans depend on the text: several labels, different per text.
    assert len({e.label for entities in wanted for e in entities}) >= 3
    assert len({tuple(as_spans(entities)) for entities in wanted}) == len(TEXTS)
    assert [spans(r) for r in results] == [as_spans(entities) for entities in wanted]
    for result, entities in zip(results, wanted, strict=True):
        assert result["model_version"] == tagger.version
        assert result["score"] == round(sum(e.score for e in entities) / len(entities), 4)
        assert {(r["from_name"], r["to_name"], r["type"]) for r in result["result"]} == {
            ("label", "text", "labels")
        }
    # One batch: tagging the texts alone gives the same spans.
    assert [as_spans(tagger(text)) for text in TEXTS] == [as_spans(entities) for entities in wanted]


def test_a_bad_task_gets_an_empty_prediction_and_the_others_theirs(
    tagger: Tagger, kzner_log: pytest.LogCaptureFixture
) -> None:
    tasks = [
        {"id": 1, "data": {"text": TEXTS[0]}},
        {"id": 2, "data": {"title": "no text field"}},
        {"id": 3, "data": {"text": 42}},
        {"id": 4, "data": {"text": None}},
        {"id": 5},
        "not a task",
        {"id": 7, "data": {"text": "Арал \ud800 ауданы"}},  # a lone surrogate: the tokenizer refuses it
        {"id": 8, "data": {"text": TEXTS[1]}},
    ]
    response = post(client_for(tagger), "/predict", {"tasks": tasks, "label_config": labeling_config(LABELS)})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == len(tasks)
    assert spans(results[0]) == as_spans(tagger(TEXTS[0])) != []
    assert spans(results[7]) == as_spans(tagger(TEXTS[1])) != []
    assert all(r == {"model_version": tagger.version, "result": []} for r in results[1:7])
    errors = [r.getMessage() for r in kzner_log.records if r.levelno == logging.ERROR]
    for why in (
        "task 2: no 'text' field in its data (it has ['title'])",
        "task 3: data.text is int, not text",
        "task 4: data.text is NoneType, not text",
        "task 5: no data object",
        "task #5 of the request (no id): no data object",
        "task 7: the model could not take its text",
    ):
        assert any(e.startswith(why) for e in errors), why
    assert len(errors) == 6


def test_predictions_go_where_the_projects_config_wants_them(
    tagger: Tagger, kzner_log: pytest.LogCaptureFixture
) -> None:
    """Its control, object and text field names; its label names through
    labelstudio.label_map; none of a label it lacks."""
    options = ReadOptions(label_map={"ORGANIZATION": "ORG"})
    client = client_for(tagger, options)
    assert post(client, "/setup", {"project": "3.1", "schema": PROJECT_CONFIG}).json() == {
        "model_version": tagger.version
    }
    assert "has no label for ['PROJECT', 'PERCENT', 'QUANTITY']" in kzner_log.text
    tasks = [{"id": i, "data": {"content": text}} for i, text in enumerate(TEXTS)]
    results = post(client, "/predict", {"tasks": tasks, "label_config": PROJECT_CONFIG}).json()["results"]
    renamed = {"ORG": "ORGANIZATION", "LOC": "LOC", "MONEY": "MONEY"}
    wanted = [
        [
            (s, e, renamed[label], text, score)
            for s, e, label, text, score in as_spans(entities)
            if label in renamed
        ]
        for entities in tagger.pipe(TEXTS)
    ]
    assert {label for prediction in wanted for _, _, label, _, _ in prediction} == set(renamed.values())
    assert [spans(r) for r in results] == wanted
    assert {(r["from_name"], r["to_name"]) for p in results for r in p["result"]} == {("ner", "doc")}


BAD_CONFIGS = {
    "<View><Labels name='label' toName='text'>": "not valid XML",
    "<View><Text name='text' value='$text'/><Choices name='c' toName='text'><Choice value='A'/></Choices>"
    "</View>": "no <Labels> control over a <Text>",
    labeling_config([*LABELS, "PERSON", "DATE"]): "labels ['PERSON', 'DATE'] that are not kzner's",
    PROJECT_CONFIG: "labels ['ORGANIZATION'] that are not kzner's",
    "<View><Labels name='label' toName='text'><Label value='ORG'/></Labels>"
    "<Text name='text' value='$url' valueType='url'/></View>": "from a URL",
    "<View><Labels name='a' toName='t'><Label value='ORG'/></Labels><Labels name='b' toName='t'>"
    "<Label value='LOC'/></Labels><Text name='t' value='$text'/></View>": "--set labelstudio.control=NAME",
}


@pytest.mark.parametrize("config", BAD_CONFIGS)
def test_setup_refuses_a_config_kzner_cannot_fill(
    tagger: Tagger, config: str, kzner_log: pytest.LogCaptureFixture
) -> None:
    client = client_for(tagger)
    response = post(client, "/setup", {"project": "3.1", "schema": config, "hostname": "http://x"})
    assert response.status_code == 422
    assert BAD_CONFIGS[config] in response.json()["error"]
    assert BAD_CONFIGS[config] in kzner_log.text  # the backend's console says why too
    tasks = [{"id": 1, "data": {"text": TEXTS[0]}}]
    assert post(client, "/predict", {"tasks": tasks, "label_config": config}).status_code == 422


def test_health_setup_and_webhook_answer_as_label_studio_expects(tagger: Tagger) -> None:
    client = client_for(tagger)
    for path in ("/health", "/"):
        assert client.get(path).json() == {
            "status": "UP",
            "model_class": "kzner",
            "model_version": tagger.version,
        }
    setup = {
        "project": "3.1",
        "schema": labeling_config(LABELS),
        "access_token": "secret",
        "extra_params": None,
    }
    assert post(client, "/setup", setup).json() == {"model_version": tagger.version}
    event = {"action": "ANNOTATION_CREATED", "project": {"id": 3}, "annotation": {"id": 1}}
    assert post(client, "/webhook", event).status_code == 200
    # A request without a labeling config is read with kzner's own.
    results = post(client, "/predict", {"tasks": [{"data": {"text": TEXTS[2]}}]}).json()["results"]
    assert spans(results[0]) == as_spans(tagger(TEXTS[2]))
