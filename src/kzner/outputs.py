"""Predicted entities out, in the formats people and tools read.

- ``jsonl``: one line per document, ``{"id", "entities": [{start, end, label,
  text, score}]}``, offsets in code points into the original text.
- ``labelstudio``: a JSON list of tasks whose ``predictions`` Label Studio
  imports as pre-annotations for our labeling config.
- ``conll``: ``WORD -X- _ TAG`` lines, a sentence per block, a ``-DOCSTART-``
  per document (what Label Studio's CONLL2003 export looks like).
- ``html``: the documents with entities highlighted by label.

Every writer streams: a document is written as soon as it is tagged, so a
large corpus never has to sit in memory.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict
from typing import TextIO

from kzner.align import spans_to_tags
from kzner.ls_tasks import prediction_task
from kzner.predict import Entity
from kzner.report import LABEL_CSS, marked_html
from kzner.tokenize import split_sentences, tokenize


class Writer:
    """Base: subclasses write one document per ``write`` call."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, doc_id: str, text: str, entities: list[Entity]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.out.flush()


class JsonlWriter(Writer):
    def write(self, doc_id: str, text: str, entities: list[Entity]) -> None:
        line = {"id": doc_id, "entities": [asdict(e) for e in entities]}
        self.out.write(json.dumps(line, ensure_ascii=False) + "\n")


class LabelStudioWriter(Writer):
    def __init__(self, out: TextIO, model_version: str, control: str, text_field: str) -> None:
        super().__init__(out)
        self.model_version, self.control, self.text_field = model_version, control, text_field
        self.count = 0

    def write(self, doc_id: str, text: str, entities: list[Entity]) -> None:
        task = prediction_task(
            text, entities, self.model_version, self.control, self.text_field, {"source": doc_id}
        )
        self.out.write(("[\n" if self.count == 0 else ",\n") + json.dumps(task, ensure_ascii=False))
        self.count += 1

    def close(self) -> None:
        self.out.write("\n]\n" if self.count else "[]\n")
        super().close()


class ConllWriter(Writer):
    def write(self, doc_id: str, text: str, entities: list[Entity]) -> None:
        spans = [e.span for e in entities]
        self.out.write("-DOCSTART- -X- O O\n\n")
        for sentence in split_sentences(text, tokenize(text)):
            first, last = sentence[0].start, sentence[-1].end
            inside = [s for s in spans if first <= s.start < last]
            tags = spans_to_tags(sentence, inside, text, doc_id)
            self.out.write("".join(f"{t.text} -X- _ {tag}\n" for t, tag in zip(sentence, tags, strict=True)))
            self.out.write("\n")


class HtmlWriter(Writer):
    def __init__(self, out: TextIO, title: str) -> None:
        super().__init__(out)
        out.write(
            f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>body{{font:15px/1.6 sans-serif;max-width:70em;margin:auto}}{LABEL_CSS}"
            "section{border-top:1px solid #ccc}p{white-space:pre-wrap}</style>"
            f"<h1>{html.escape(title)}</h1>\n"
        )

    def write(self, doc_id: str, text: str, entities: list[Entity]) -> None:
        spans = [e.span for e in entities]
        self.out.write(
            f"<section><h2>{html.escape(doc_id)}</h2><small>{len(entities)} entities</small>"
            f"<p>{marked_html(text, spans)}</p></section>\n"
        )
