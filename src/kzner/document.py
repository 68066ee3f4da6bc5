"""The one data model every reader produces and every writer consumes.

Offsets are Python ``str`` indices (Unicode code points), end exclusive, into the
original text, which is never rewritten: whatever the model sees, a span can
always be cut back out of what the user gave us.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

LABELS: tuple[str, ...] = ("ORG", "PROJECT", "MONEY", "PERCENT", "QUANTITY", "LOC")


@dataclass(frozen=True, order=True)
class Span:
    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    spans: tuple[Span, ...] = ()
    # Where the document came from (file, task), for messages that point users at it.
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        spans = tuple(sorted(self.spans))
        problem = first_span_problem(self.text, spans)
        if problem:
            raise ValueError(f"{self.source or self.id}: {problem}")
        object.__setattr__(self, "spans", spans)

    def span_text(self, span: Span) -> str:
        return self.text[span.start : span.end]


def first_span_problem(text: str, spans: Iterable[Span]) -> str | None:
    """Why ``spans`` (sorted) cannot stand over ``text``, or None when they can.

    Kept separate from ``Document`` so that readers can check spans one by one
    and report every problem with its file and task, instead of the first only.
    """
    previous: Span | None = None
    for span in spans:
        problem = span_bounds_problem(text, span)
        if problem:
            return problem
        if previous is not None and span.start < previous.end:
            return f"span {describe(span)} overlaps {describe(previous)}"
        previous = span
    return None


def span_bounds_problem(text: str, span: Span) -> str | None:
    if span.start < 0 or span.end > len(text):
        return f"span {describe(span)} is outside the text (length {len(text)})"
    if span.start >= span.end:
        return f"span {describe(span)} is empty or reversed"
    return None


def describe(span: Span) -> str:
    return f"[{span.start}:{span.end}] {span.label}"
