"""``kzner labelstudio serve`` connected to a real Label Studio (the session's
``server`` fixture): tasks imported without predictions get, through Label
Studio's own "Retrieve Predictions" action, exactly the spans ``kzner
predict`` gives on the same texts."""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path

import pytest

from kzner import ls_client
from kzner.cli import main
from kzner.document import LABELS
from kzner.ls_config import labeling_config

from .ls_server import free_port, running
from .test_ls_backend import TEXTS


@pytest.mark.integration
def test_label_studio_gets_the_spans_kzner_predict_gives(
    server: tuple[str, str], mixed_tagger_dir: Path, tmp_path: Path, capsys
) -> None:
    names = [f"report-{i}.txt" for i in range(len(TEXTS))]
    for name, text in zip(names, TEXTS, strict=True):
        (tmp_path / name).write_text(text, encoding="utf-8", newline="")
    assert main(["predict", "--model", str(mixed_tagger_dir), *(str(tmp_path / n) for n in names)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    predicted = {
        line["id"]: sorted((e["start"], e["end"], e["label"], e["text"]) for e in line["entities"])
        for line in lines
    }
    assert all(predicted.values())

    port = free_port()
    backend = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "kzner.cli", "labelstudio", "serve", "--model", str(mixed_tagger_dir)]
    command += ["--port", str(port), "--device", "cpu"]
    with running(command, dict(os.environ), f"{backend}/health", tmp_path / "backend.log", wait_seconds=180):
        with urllib.request.urlopen(f"{backend}/health") as response:
            version = json.load(response)["model_version"]
        url, token = server
        client = ls_client.connect(url, token)
        project = ls_client.create_project(client, "kzner backend", labeling_config(LABELS))
        tasks = [{"data": {"text": text, "source": name}} for name, text in zip(names, TEXTS, strict=True)]
        assert len(ls_client.push(client, project, tasks)) == len(TEXTS)
        ls_client.call(lambda: client.ml.create(project=project, url=backend, title="kzner"))
        ls_client.call(
            client.actions.create,
            id="retrieve_tasks_predictions",
            project=project,
            selected_items={"all": True, "excluded": []},
        )
        got = {}
        for task in client.tasks.list(project=project):
            (prediction,) = client.predictions.list(task=task.id)
            assert prediction.model_version == version
            got[task.data["source"]] = sorted(
                (r["value"]["start"], r["value"]["end"], r["value"]["labels"][0], r["value"]["text"])
                for r in prediction.result
            )
    assert got == predicted, (tmp_path / "backend.log").read_text()[-3000:]
