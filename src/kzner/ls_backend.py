"""Label Studio's ML backend protocol over one ``Tagger``: annotators get
kzner's pre-annotations for tasks however they reached the project (the UI,
another script, cloud storage), not only those ``kzner labelstudio push``
sent.

Label Studio calls ``GET /health``, ``POST /setup`` (when the backend is
connected, and again before every prediction run), ``POST /predict`` (a
batch of tasks and the project's labeling config) and ``POST /webhook``
(every project event, once connected). Predictions are the ones ``push``
sends (``kzner.ls_tasks``), placed where the project's config wants them
(``kzner.ls_config.labeling_target``).

A task the backend cannot read (no data, no text field, text that is not a
string, text the model cannot take) gets an empty prediction and an error
line naming it; the other tasks of the request still get theirs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from kzner import __version__
from kzner.labelstudio import ReadOptions
from kzner.ls_config import LabelingConfigError, LabelingTarget, labeling_config, labeling_target
from kzner.ls_tasks import Piece, checked_entities, prediction

if TYPE_CHECKING:
    from kzner.predict import Entity, Tagger

log = logging.getLogger(__name__)


class _BadTask(Exception):
    """Why one task of a request gets no prediction."""


@dataclass
class Backend:
    """One model in memory, shared by every request; one forward pass at a
    time, so that concurrent requests do not oversubscribe the CPU cores."""

    tagger: Tagger
    options: ReadOptions
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _targets: dict[str, LabelingTarget] = field(default_factory=dict, repr=False)

    @property
    def version(self) -> str:
        return self.tagger.version

    def target(self, label_config: str | None) -> LabelingTarget:
        """The project's target, read once per distinct config (Label Studio
        sends the config with every request). Without one: kzner's own config."""
        if not label_config:
            ls = self.options
            label_config = labeling_config(ls.labels, ls.control, ls.text_field)
        if label_config not in self._targets:
            target = labeling_target(label_config, self.options)
            lacking = [label for label in self.options.labels if label not in target.label_names]
            if lacking:
                log.warning(
                    f"the project's <Labels name={target.control!r}> has no label for {lacking}: "
                    "kzner's predictions of those are left out"
                )
            self._targets[label_config] = target
        return self._targets[label_config]

    def predict(self, tasks: Sequence[Any], label_config: str | None) -> list[dict[str, Any]]:
        """One prediction per task, in order; all readable texts tagged in one batch."""
        target = self.target(label_config)
        names = [_task_name(task, i) for i, task in enumerate(tasks)]
        texts: dict[int, str] = {}
        for i, task in enumerate(tasks):
            try:
                texts[i] = _task_text(task, target.text_field)
            except _BadTask as why:
                log.error(f"{names[i]}: {why}; it gets an empty prediction")
        tagged = dict(zip(texts, self._tag([(names[i], text) for i, text in texts.items()]), strict=True))
        answers = []
        for i, name in enumerate(names):
            entities = tagged.get(i)
            if entities is not None:
                entities = checked_entities(Piece(name, texts[i], 0), entities, self.options.labels)
                entities = [
                    replace(e, label=target.label_names[e.label])
                    for e in entities
                    if e.label in target.label_names
                ]
            answers.append(prediction(entities or [], self.version, target.control, target.to_name))
        return answers

    def _tag(self, texts: list[tuple[str, str]]) -> list[list[Entity] | None]:
        """Entities per (name, text); None for a text the model could not take."""
        if not texts:
            return []
        with self._lock:
            try:
                return list(self.tagger.pipe([text for _, text in texts]))
            except Exception:  # which text failed is found below, one at a time
                log.debug("a batch failed; tagging its tasks one at a time", exc_info=True)
            tagged: list[list[Entity] | None] = []
            for name, text in texts:
                try:
                    tagged.append(self.tagger.pipe([text])[0])
                except Exception as err:  # one bad text must not cost the others theirs
                    log.error(
                        f"{name}: the model could not take its text ({type(err).__name__}: {err}); "
                        "it gets an empty prediction"
                    )
                    tagged.append(None)
            return tagged


def _task_name(task: Any, index: int) -> str:
    task_id = task.get("id") if isinstance(task, dict) else None
    return f"task {task_id}" if task_id is not None else f"task #{index} of the request (no id)"


def _task_text(task: Any, text_field: str) -> str:
    data = task.get("data") if isinstance(task, dict) else None
    if not isinstance(data, dict):
        raise _BadTask("no data object")
    if text_field not in data:
        raise _BadTask(f"no {text_field!r} field in its data (it has {sorted(data)})")
    text = data[text_field]
    if not isinstance(text, str):
        raise _BadTask(f"data.{text_field} is {type(text).__name__}, not text")
    return text


class SetupRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")  # hostname, access_token: not kept
    label_config: str | None = Field(None, alias="schema")
    project: str | None = None


class PredictRequest(BaseModel):
    """Tasks stay raw JSON: one malformed task must not refuse the request."""

    model_config = ConfigDict(extra="ignore")
    tasks: list[Any]
    label_config: str | None = None
    project: str | None = None


def create_app(backend: Backend) -> FastAPI:
    app = FastAPI(title="kzner Label Studio ML backend", version=__version__)

    @app.exception_handler(LabelingConfigError)
    async def _bad_config(request: Request, err: LabelingConfigError) -> JSONResponse:
        # Label Studio shows only the status line; the message is in this log and the body.
        log.error(f"{request.url.path}: {err}")
        return JSONResponse({"status": "ERROR", "error": str(err)}, status_code=422)

    @app.get("/")
    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "UP", "model_class": "kzner", "model_version": backend.version}

    @app.post("/setup")
    def setup(request: SetupRequest) -> dict[str, str]:
        backend.target(request.label_config)
        return {"model_version": backend.version}

    @app.post("/predict")
    def predict(request: PredictRequest) -> dict[str, list[dict[str, Any]]]:
        return {"results": backend.predict(request.tasks, request.label_config)}

    @app.post("/webhook")
    def webhook(event: dict[str, Any]) -> dict[str, str]:
        """Label Studio sends every project event here once a backend is
        connected; retraining on annotations is not built, so they are only
        acknowledged."""
        log.debug(f"webhook {event.get('action')!r} acknowledged, nothing done")
        return {"status": "ok"}

    return app


def serve(backend: Backend, host: str, port: int) -> None:
    log.info(f"model {backend.version}: Label Studio ML backend on http://{host}:{port}")
    uvicorn.run(create_app(backend), host=host, port=port, log_level="info")
