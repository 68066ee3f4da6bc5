"""Talking to a Label Studio server through label-studio-sdk: projects in,
tasks with pre-annotations in (built and checked in ``kzner.ls_tasks``),
snapshot exports out, read back through the same reader and checks as
``kzner data validate``. The API key is read from the environment and never
printed: connection and authentication failures become a
``LabelStudioError`` saying what to check.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from label_studio_sdk.core.api_error import ApiError

from kzner.atomic import atomic_file
from kzner.document import Document
from kzner.labelstudio import ReadOptions, Report, read_exports
from kzner.ls_tasks import LabelStudioError

if TYPE_CHECKING:
    from label_studio_sdk import LabelStudio


ENV_URL = "LABEL_STUDIO_URL"
ENV_KEY = "LABEL_STUDIO_API_KEY"


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


def call(function, *args, url: str = "", **kwargs):
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


def create_project(client: LabelStudio, title: str, label_config: str) -> int:
    return call(client.projects.create, title=title, label_config=label_config).id


# Tasks per import request: a large corpus in one request can exceed the
# server's request size and time limits.
IMPORT_BATCH = 100


def push(
    client: LabelStudio, project: int, tasks: list[dict[str, Any]], batch: int = IMPORT_BATCH
) -> list[int]:
    ids: list[int] = []
    for start in range(0, len(tasks), batch):
        part = tasks[start : start + batch]
        response = call(client.projects.import_tasks, id=project, request=part, return_task_ids=True)
        ids.extend(response.task_ids or [])
    return ids


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
