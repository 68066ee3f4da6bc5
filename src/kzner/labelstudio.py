"""Reading Label Studio exports into Documents, with a report of everything.

Label Studio accepts out-of-range offsets, unknown labels and overlapping spans
without complaint, and annotators disagree, cancel and redo. Every such case is
either an error (the export cannot be trusted: stop) or a counted warning, each
naming the file, the task and the span. Nothing is dropped uncounted.

Formats: the JSON export (tasks with nested ``annotations``), the same JSON
from a snapshot (``predictions`` as full objects), JSON_MIN (one record per
annotation, spans under the control's name) and CONLL2003, which is lossy.
Offsets are code points, and ``start``/``end`` are trusted over ``value.text``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kzner.align import document_from_words
from kzner.document import LABELS, Document, Span, describe, span_bounds_problem
from kzner.errors import KznerError
from kzner.tokenize import tokenize

# The name of the <Text> object in our labeling config: results' ``to_name``.
TEXT_NAME = "text"


@dataclass(frozen=True)
class ReadOptions:
    text_field: str = "text"
    # The name of the <Labels> control in the labeling config (results' from_name).
    control: str = "label"
    labels: tuple[str, ...] = LABELS
    # Annotators' label names -> ours, e.g. {"ORGANIZATION": "ORG"}.
    label_map: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    where: str
    message: str
    error: bool

    def __str__(self) -> str:
        return f"{'error' if self.error else 'warning'}: {self.where}: {self.message}"


@dataclass
class Report:
    files: dict[str, str] = field(default_factory=dict)  # path -> detected format
    tasks: int = 0
    annotations_used: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (where, why)
    spans_per_label: Counter[str] = field(default_factory=Counter)
    disagreements: list[str] = field(default_factory=list)
    problems: list[tuple[str, Problem]] = field(default_factory=list)  # (kind, problem)

    @property
    def errors(self) -> list[Problem]:
        return [p for _, p in self.problems if p.error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for _, p in self.problems if not p.error]

    def error(self, where: str, message: str) -> None:
        self.problems.append(("error", Problem(where, message, True)))

    def warn(self, where: str, message: str, kind: str) -> None:
        self.problems.append((kind, Problem(where, message, False)))

    def skip(self, where: str, why: str) -> None:
        self.skipped.append((where, why))


class ExportError(KznerError):
    def __init__(self, report: Report) -> None:
        self.report = report
        shown = "\n".join(f"  {p}" for p in report.errors[:20])
        more = len(report.errors) - 20
        super().__init__(
            f"{len(report.errors)} error(s) in Label Studio export(s):\n{shown}"
            + (f"\n  ... and {more} more" if more > 0 else "")
        )


def read_exports(
    paths: Iterable[str | Path], options: ReadOptions = ReadOptions()
) -> tuple[list[Document], Report]:
    """Read exports; return the documents that passed and the full report."""
    report = Report()
    documents: list[Document] = []
    for path in map(Path, paths):
        documents.extend(_read_file(path, options, report))
    return documents, report


def load_documents(paths: Iterable[str | Path], options: ReadOptions = ReadOptions()) -> list[Document]:
    """Like ``read_exports`` but refuses to go on when any error was found."""
    documents, report = read_exports(paths, options)
    if report.errors:
        raise ExportError(report)
    return documents


def _read_file(path: Path, options: ReadOptions, report: Report) -> list[Document]:
    where = str(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        report.files[where] = "unreadable"
        report.error(where, f"cannot read: {err}")
        return []
    if raw.lstrip().startswith("-DOCSTART-"):
        report.files[where] = "CONLL2003"
        return _read_conll(path, raw, options, report)
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as err:
        report.files[where] = "malformed"
        report.error(f"{where}:{err.lineno}:{err.colno}", f"malformed JSON: {err.msg}")
        return []
    records = data if isinstance(data, list) else [data]
    if not all(isinstance(r, dict) for r in records):
        report.files[where] = "malformed"
        report.error(where, "expected a JSON list of task objects")
        return []
    if records and all("data" in r or "annotations" in r for r in records):
        snapshot = any(isinstance(p, dict) for r in records for p in r.get("predictions") or [])
        report.files[where] = "JSON snapshot" if snapshot else "JSON"
        tasks = [_task_from_json(r, i) for i, r in enumerate(records)]
    else:
        report.files[where] = "JSON_MIN"
        tasks = _tasks_from_json_min(records, options)
    documents = []
    for task in tasks:
        doc = _task_document(where, task, options, report)
        if doc is not None:
            documents.append(doc)
    return documents


@dataclass
class _Task:
    id: str
    data: Mapping[str, Any]
    annotations: list[Mapping[str, Any]]


def _task_from_json(record: Mapping[str, Any], index: int) -> _Task:
    data = record.get("data")
    return _Task(
        str(record.get("id", f"#{index}")),
        data if isinstance(data, dict) else {},
        [a for a in record.get("annotations") or [] if isinstance(a, dict)],
    )


def _tasks_from_json_min(records: Sequence[Mapping[str, Any]], options: ReadOptions) -> list[_Task]:
    """Regroup JSON_MIN's one-record-per-annotation into tasks.

    A record without ``annotation_id`` is a task nobody annotated yet.
    """
    tasks: dict[str, _Task] = {}
    for index, record in enumerate(records):
        task_id = str(record.get("id", f"#{index}"))
        task = tasks.setdefault(task_id, _Task(task_id, record, []))
        if "annotation_id" not in record:
            continue
        spans = record.get(options.control) or []
        result = [
            {"from_name": options.control, "type": "labels", "value": value}
            for value in (spans if isinstance(spans, list) else [spans])
        ]
        task.annotations.append(
            {"id": record["annotation_id"], "updated_at": record.get("updated_at", ""), "result": result}
        )
    return list(tasks.values())


def _choose(annotations: list[Mapping[str, Any]]) -> Mapping[str, Any]:
    """A ground-truth annotation wins; otherwise the most recently updated."""
    return max(
        annotations,
        key=lambda a: (bool(a.get("ground_truth")), _updated(a), str(a.get("id"))),
    )


_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


def _updated(annotation: Mapping[str, Any]) -> datetime:
    """When an annotation was last updated, as a moment in time: Label Studio
    writes ``Z`` or an offset (``+05:00``), and as strings ``10:00+05:00``
    sorts after ``06:00Z`` though it is an hour earlier. A missing or
    unreadable time counts as the earliest; a time without offset as UTC."""
    raw = annotation.get("updated_at")
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return _EPOCH
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _task_document(file: str, task: _Task, options: ReadOptions, report: Report) -> Document | None:
    report.tasks += 1
    where = f"{file}: task {task.id}"
    if isinstance(task.data.get("source"), str):
        where += f" ({task.data['source']})"  # the document the task was made from
    text = task.data.get(options.text_field)
    if not isinstance(text, str):
        report.error(where, f"no text in data.{options.text_field} (set labelstudio.text_field)")
        return None
    live = [a for a in task.annotations if not a.get("was_cancelled")]
    for a in task.annotations:
        if a.get("was_cancelled"):
            report.skip(f"{where}, annotation {a.get('id')}", "cancelled annotation")
    if not text.strip():
        report.warn(where, "empty text", "empty text")
        report.skip(where, "task with empty text")
        return None
    if not live:
        report.skip(where, "task without annotation")
        return None
    chosen = _choose(live)
    report.annotations_used += 1
    for a in live:
        if a is not chosen:
            report.skip(f"{where}, annotation {a.get('id')}", "annotation not chosen (another won)")
    spans = _annotation_spans(f"{where}, annotation {chosen.get('id')}", text, chosen, options, report)
    if spans is None:
        return None
    if len(live) > 1:
        others = [_quiet_spans(text, a, options) for a in live if a is not chosen]
        if any(o != spans for o in others):
            report.disagreements.append(where)
    spans.sort()
    for a, b in zip(spans, spans[1:], strict=False):
        if b.start < a.end:
            report.error(where, f"span {describe(b)} overlaps {describe(a)}")
            return None
    report.spans_per_label.update(s.label for s in spans)
    return Document(task.id, text, tuple(spans), source=where)


def _quiet_spans(text: str, annotation: Mapping[str, Any], options: ReadOptions) -> list[Span] | None:
    """Spans of an annotation that is not used, for comparison only: its
    problems are not the export's problems, since it does not reach training."""
    spans = _annotation_spans("", text, annotation, options, Report())
    return sorted(spans) if spans is not None else None


def _annotation_spans(
    where: str, text: str, annotation: Mapping[str, Any], options: ReadOptions, report: Report
) -> list[Span] | None:
    """Validated, trimmed spans of one annotation; None when any span is bad."""
    spans: list[Span] = []
    ok = True
    for item in annotation.get("result") or []:
        if not isinstance(item, dict) or item.get("type") not in ("labels", None):
            report.skip(where, f"result of type {item.get('type') if isinstance(item, dict) else item!r}")
            continue
        if item.get("from_name") != options.control:
            report.error(
                where,
                f"result from control {item.get('from_name')!r}, expected {options.control!r} "
                "(set labelstudio.control)",
            )
            ok = False
            continue
        span = _value_span(f"{where}, result {item.get('id', '?')}", text, item.get("value"), options, report)
        if span is None:
            ok = False
        elif span.end > span.start:
            spans.append(span)
    return spans if ok else None


def _value_span(where: str, text: str, value: Any, options: ReadOptions, report: Report) -> Span | None:
    if not isinstance(value, dict):
        report.error(where, "result has no value")
        return None
    start, end, names = value.get("start"), value.get("end"), value.get("labels")
    if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool):
        report.error(where, f"offsets must be integers, got start={start!r} end={end!r}")
        return None
    if not isinstance(names, list) or len(names) != 1:
        report.error(where, f"[{start}:{end}] must carry exactly one label, got {names!r}")
        return None
    label = options.label_map.get(names[0], names[0])
    span = Span(start, end, label)
    problem = span_bounds_problem(text, span)
    if problem:
        report.error(where, problem)
        return None
    if label not in options.labels:
        report.error(
            where,
            f"span {describe(span)}: label {names[0]!r} is not one of {', '.join(options.labels)} "
            "(map it with labelstudio.label_map)",
        )
        return None
    given = value.get("text")
    if given is not None and given != text[start:end]:
        report.warn(
            where,
            f"span {describe(span)}: value.text {given!r} differs from the text at the "
            f"offsets {text[start:end]!r}; the offsets are used",
            "value.text differs from offsets",
        )
    piece = text[start:end]
    trimmed = Span(start + len(piece) - len(piece.lstrip()), end - len(piece) + len(piece.rstrip()), label)
    if trimmed != span:
        if trimmed.end <= trimmed.start:
            report.error(where, f"span {describe(span)} covers only whitespace")
            return None
        report.warn(where, f"span {describe(span)} trimmed to {describe(trimmed)}", "whitespace trimmed")
    return trimmed


def _read_conll(path: Path, raw: str, options: ReadOptions, report: Report) -> list[Document]:
    """Label Studio's CONLL2003 export: ``word -X- _ TAG``, tasks split by blank lines.

    Lossy: Label Studio tokenised with NLTK's Treebank tokenizer, so «» stay
    glued to words and the original spacing and offsets are gone.
    """
    report.warn(
        str(path),
        "CONLL2003 export is lossy (NLTK tokens, «» attached to words, original "
        "offsets lost); export JSON instead for training",
        "lossy CONLL2003 export",
    )
    documents: list[Document] = []
    words: list[str] = []
    tags: list[str] = []
    start_line = 0

    def flush() -> None:
        if not words:
            return
        report.tasks += 1
        report.annotations_used += 1
        where = f"{path}:{start_line}"
        for i, tag in enumerate(tags):
            prefix, _, name = tag.partition("-")
            if name:
                label = options.label_map.get(name, name)
                if label not in options.labels:
                    report.error(where, f"label {name!r} is not one of {', '.join(options.labels)}")
                    return
                tags[i] = f"{prefix}-{label}"
        doc = document_from_words(f"{path.name}:{start_line}", words, tags, source=where)
        report.spans_per_label.update(s.label for s in doc.spans)
        documents.append(doc)

    for lineno, line in enumerate(raw.splitlines(), 1):
        if line.startswith("-DOCSTART-") or not line.strip():
            flush()
            words, tags, start_line = [], [], lineno + 1
            continue
        parts = line.split(" ")
        if len(parts) < 2 or parts[-1] != "O" and parts[-1][:2] not in ("B-", "I-"):
            report.error(f"{path}:{lineno}", f"expected 'WORD -X- _ TAG', got {line!r}")
            continue
        words.append(parts[0])
        tags.append(parts[-1])
    flush()
    return documents


def format_report(report: Report, verbose: bool = False) -> str:
    """The summary users read; ``verbose`` lists every skipped item and warning."""
    lines = [f"{path}: {fmt}" for path, fmt in report.files.items()]
    lines.append(f"tasks: {report.tasks}, annotations used: {report.annotations_used}")
    for why, count in sorted(Counter(why for _, why in report.skipped).items()):
        lines.append(f"skipped, {why}: {count}")
        if verbose:
            lines.extend(f"  {where}" for where, w in report.skipped if w == why)
    labels = ", ".join(f"{label} {n}" for label, n in sorted(report.spans_per_label.items()))
    lines.append(f"spans: {sum(report.spans_per_label.values())} ({labels or 'none'})")
    lines.append(f"tasks where annotators disagree: {len(report.disagreements)}")
    lines.extend(f"  {where}" for where in report.disagreements)
    kinds = Counter(kind for kind, p in report.problems if not p.error)
    for kind, count in sorted(kinds.items()):
        lines.append(f"warnings, {kind}: {count}")
        if verbose:
            lines.extend(f"  {p}" for k, p in report.problems if k == kind)
    lines.append(f"errors: {len(report.errors)}")
    lines.extend(f"  {p}" for p in report.errors)
    return "\n".join(lines)


def format_stats(documents: Sequence[Document], labels: Sequence[str]) -> str:
    """One row per document (characters, words, spans per label), then totals:
    what the annotations hold, at a glance."""
    name = max([8, *(len(d.source or d.id) for d in documents)])
    lines = [
        f"{'document':<{name}} {'chars':>7} {'words':>6} {'spans':>6}" + "".join(f" {lb:>8}" for lb in labels)
    ]
    totals: Counter[str] = Counter()
    for doc in documents:
        counts = Counter(s.label for s in doc.spans)
        totals.update(counts)
        totals["chars"] += len(doc.text)
        totals["words"] += (words := len(tokenize(doc.text)))
        lines.append(
            f"{doc.source or doc.id:<{name}} {len(doc.text):>7} {words:>6} {len(doc.spans):>6}"
            + "".join(f" {counts[lb]:>8}" for lb in labels)
        )
    spans = sum(totals[lb] for lb in labels)
    lines.append(
        f"{f'{len(documents)} documents':<{name}} {totals['chars']:>7} {totals['words']:>6} {spans:>6}"
        + "".join(f" {totals[lb]:>8}" for lb in labels)
    )
    return "\n".join(lines)
