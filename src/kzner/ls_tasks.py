"""Label Studio tasks built from our documents and entities, and checked
before anything is sent: Label Studio itself accepts out-of-range offsets
and unknown labels without complaint. Pure data, no server, no SDK: what
``kzner predict --format labelstudio`` writes comes from here too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kzner.document import Document
from kzner.errors import KznerError
from kzner.labelstudio import TEXT_NAME

if TYPE_CHECKING:
    from kzner.predict import Entity

_PARAGRAPH_BREAK = re.compile(r"(?:\r?\n)[ \t\u00a0]*(?:\r?\n)\s*")


class LabelStudioError(KznerError):
    pass


@dataclass(frozen=True)
class Piece:
    """A task's text: a whole report or one paragraph of it, and where it sits."""

    source: str
    text: str
    offset: int  # code points from the start of the report


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


def prediction(
    entities: Sequence[Entity], model_version: str, control: str = "label", to_name: str = TEXT_NAME
) -> dict[str, Any]:
    """The entities as one Label Studio prediction: what a task carries under
    ``predictions`` and what the ML backend answers for it.

    Per-result ``score`` is the entity's; the prediction's ``score`` is the
    mean of them, which Label Studio can sort by so that uncertain tasks come
    first.
    """
    results = [
        {
            "id": f"kzner-{i}",
            "from_name": control,
            "to_name": to_name,
            "type": "labels",
            "value": {"start": e.start, "end": e.end, "text": e.text, "labels": [e.label]},
            "score": e.score,
        }
        for i, e in enumerate(entities)
    ]
    answer: dict[str, Any] = {"model_version": model_version, "result": results}
    if entities:
        answer["score"] = round(sum(e.score for e in entities) / len(entities), 4)
    return answer


def prediction_task(
    text: str,
    entities: list[Entity],
    model_version: str,
    control: str = "label",
    text_field: str = "text",
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Label Studio task carrying the entities as one prediction."""
    return {
        "data": {**(data or {}), text_field: text},
        "predictions": [prediction(entities, model_version, control)],
    }


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
