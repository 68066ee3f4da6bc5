"""Talking to a Label Studio server through label-studio-sdk: projects in,
tasks with pre-annotations in, snapshot exports out.

Label Studio accepts out-of-range offsets and unknown labels without
complaint, so every span is checked here before it is sent; exports coming
back go through the same reader and checks as ``kzner data validate``. The
API key is read from the environment and never printed: connection and
authentication failures become a ``LabelStudioError`` saying what to check.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from label_studio_sdk.core.api_error import ApiError

from kzner.atomic import atomic_file
from kzner.document import Document
from kzner.errors import KznerError
from kzner.labelstudio import TEXT_NAME, ReadOptions, Report, read_exports

if TYPE_CHECKING:
    from label_studio_sdk import LabelStudio

    from kzner.predict import Entity

ENV_URL = "LABEL_STUDIO_URL"
ENV_KEY = "LABEL_STUDIO_API_KEY"
_PARAGRAPH_BREAK = re.compile(r"(?:\r?\n)[ \t\u00a0]*(?:\r?\n)\s*")


class LabelStudioError(KznerError):
    pass


@dataclass(frozen=True)
class Piece:
    """A task's text: a whole report or one paragraph of it, and where it sits."""

    source: str
    text: str
    offset: int  # code points from the start of the report


def connect(url: str | None = None, key: str | None = None) -> LabelStudio:
    """A client whose key the server has accepted (checked with whoami)."""
    url = url or os.environ.get(ENV_URL)
    key = key or os.environ.get(ENV_KEY)
    if not url:
        raise LabelStudioError(f"set {ENV_URL} to the server, e.g. http://127.0.0.1:8080")
    if not key:
        raise LabelStudioError(
            f"set {ENV_KEY} to your access token (Label Studio: Account & Settings → Personal Access Token)"
        )
    from label_studio_sdk import LabelStudio  # a heavy import: only when talking to a server

    client = LabelStudio(base_url=url, api_key=key, timeout=120)
    call(client.users.whoami, url=url)
    return client


def call(function, *args, url: str = "", **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
    """Run one SDK call, turning transport and auth failures into advice."""
    try:
        return function(*args, **kwargs)
    except httpx.TransportError as err:
        where = url or f"${ENV_URL}"
        raise LabelStudioError(
            f"cannot reach Label Studio at {where} ({type(err).__name__}): is the server running, "
            f"and is {ENV_URL} its address?"
        ) from None
    except ApiError as err:
        if err.status_code in (401, 403):
            raise LabelStudioError(
                f"Label Studio refused the key (HTTP {err.status_code}): check {ENV_KEY}. Personal access "
                "tokens work everywhere; legacy tokens only where the organisation enables them."
            ) from None
        detail = (
            err.body.get("validation_errors") or err.body.get("detail")
            if isinstance(err.body, dict)
            else err.body
        )
        raise LabelStudioError(f"Label Studio answered HTTP {err.status_code}: {detail}") from None


def paragraphs(source: str, text: str) -> Iterator[Piece]:
    """Paragraphs (split at blank lines) with their offsets in the report."""
    start = 0
    for brk in _PARAGRAPH_BREAK.finditer(text):
        if text[start : brk.start()].strip():
            yield Piece(source, text[start : brk.start()], start)
        start = brk.end()
    if text[start:].strip():
        yield Piece(source, text[start:], start)


def checked_entities(piece: Piece, entities: Sequence[Entity], labels: Sequence[str]) -> list[Entity]:
    """The entities, or an error naming the piece and span that Label Studio
    would have taken silently (out of range, unknown label, overlapping,
    text not matching the offsets)."""
    where = f"{piece.source}@{piece.offset}"
    for e in entities:
        if e.label not in labels:
            raise LabelStudioError(
                f"{where}: span [{e.start}:{e.end}] has label {e.label!r}, not one of {list(labels)}"
            )
        if piece.text[e.start : e.end] != e.text:
            raise LabelStudioError(
                f"{where}: span [{e.start}:{e.end}] text {e.text!r} does not match the task text"
            )
    # Document's own checks: in range, non-empty, not overlapping.
    Document(where, piece.text, tuple(e.span for e in entities), source=where)
    return list(entities)


def prediction_task(
    text: str,
    entities: list[Entity],
    model_version: str,
    control: str = "label",
    text_field: str = "text",
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Label Studio task carrying the entities as one prediction.

    Per-result ``score`` is the entity's; the task's ``score`` is the mean of
    them, which Label Studio can sort by so that uncertain tasks come first.
    """
    results = [
        {
            "id": f"kzner-{i}",
            "from_name": control,
            "to_name": TEXT_NAME,
            "type": "labels",
            "value": {"start": e.start, "end": e.end, "text": e.text, "labels": [e.label]},
            "score": e.score,
        }
        for i, e in enumerate(entities)
    ]
    prediction: dict[str, Any] = {"model_version": model_version, "result": results}
    if entities:
        prediction["score"] = round(sum(e.score for e in entities) / len(entities), 4)
    return {"data": {**(data or {}), text_field: text}, "predictions": [prediction]}


def build_tasks(
    pieces: Sequence[Piece],
    predictions: Sequence[Sequence[Entity]] | None,
    labels: Sequence[str],
    model_version: str,
    control: str,
    text_field: str,
) -> list[dict[str, Any]]:
    tasks = []
    for i, piece in enumerate(pieces):
        data = {"source": piece.source, "offset": piece.offset}
        if predictions is None:
            tasks.append({"data": {**data, text_field: piece.text}})
            continue
        entities = checked_entities(piece, predictions[i], labels)
        tasks.append(prediction_task(piece.text, entities, model_version, control, text_field, data))
    return tasks


def create_project(client: LabelStudio, title: str, label_config: str) -> int:
    return call(client.projects.create, title=title, label_config=label_config).id


def push(client: LabelStudio, project: int, tasks: list[dict[str, Any]]) -> list[int]:
    response = call(client.projects.import_tasks, id=project, request=tasks, return_task_ids=True)
    return list(response.task_ids or [])


def pull(
    client: LabelStudio, project: int, out: Path, options: ReadOptions, wait_seconds: float = 300
) -> tuple[list[Document], Report]:
    """Export the project as a snapshot (predictions and annotators as full
    objects), write it to ``out`` atomically, and read it back with our checks."""
    export = call(
        client.projects.exports.create,
        id=project,
        title="kzner pull",
        serialization_options={
            "predictions": {"only_id": False},
            "annotations__completed_by": {"only_id": False},
        },
    )
    deadline = time.monotonic() + wait_seconds
    while export.status not in ("completed", "failed"):
        if time.monotonic() > deadline:
            raise LabelStudioError(
                f"project {project}: export {export.id} not finished after {wait_seconds:.0f} s"
            )
        time.sleep(0.5)
        export = call(client.projects.exports.get, id=project, export_pk=export.id)
    if export.status == "failed":
        raise LabelStudioError(f"project {project}: Label Studio could not build export {export.id}")
    raw = b"".join(
        call(
            lambda: list(
                client.projects.exports.download(id=project, export_pk=export.id, export_type="JSON")
            )
        )
    )
    tasks = json.loads(raw)
    with atomic_file(out) as f:
        json.dump(tasks, f, ensure_ascii=False, indent=1)
    return read_exports([out], options)
