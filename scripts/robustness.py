"""Does a model tag the genre, or the surface it learnt? Score annotated
documents as written and changed in ways real news differs from our texts.

- **renamed**: every ORG, LOC and PROJECT mention holding a name from the
  bundled gazetteer (kzner.gazetteer: a region before `облысы`, an outlet, a
  ministry...) gets one of the same kind from ``--names``, names that
  neither the gazetteer nor the training texts use
  (scripts/unseen-names.yaml); the rest of the text, case endings
  included, stays.
- **headline caps**: each document's first line in capitals, as news sets
  headlines and datelines (`АСТАНА.`); where the first line is a whole
  paragraph this is harsher than any headline.
- **all caps**: the whole text in capitals.
- **web chars**: the invisible characters text copied from web pages
  brings: a byte-order mark first, a soft hyphen inside half the words of
  eight letters or more, a zero-width space after one space in ten.
- **latin i**: every Kazakh ``і`` typed as a Latin ``i`` (``І`` as ``I``),
  as keyboards without ``і`` type it.

The same as written and all caps on KazNERD test sentences (``--kaznerd N``,
one sentence per line, 40 to a document; 0 skips them): text nobody here
wrote or trained on, so a fix made on our own texts can be checked there.

``--pipeline first`` (or ``simple``) scores the package as a plain
transformers token-classification pipeline reads it (whole documents,
``stride=32``, text as given, capitals included) in place of
``kzner predict``: what users of the HF package get on the same variants.
``--pipeline card`` runs the plain-transformers example of the package's
model card as written (sentence by sentence, capitals in title case).

Spans keep their offsets under capitals (only length-preserving case
changes are made) and move with the characters inserted. Printed: exact
span F1 per label, one column per variant.

Usage: python scripts/robustness.py --model models/kzner-e5-small [--names scripts/unseen-names.yaml]
                                    [--seed 7] [--kaznerd 2000] [--pipeline first]
                                    EXPORT...   (default: annotations/dev/*.json)
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from kzner import kaznerd
from kzner.config import expand_globs
from kzner.document import Document, Span
from kzner.evaluate import format_comparison, span_scores
from kzner.gazetteer import SWAPPED_LABELS, Gazetteer
from kzner.labelstudio import load_documents
from kzner.package import card_examples
from kzner.predict import Tagger
from kzner.tokenize import tokenize


def renamed(
    doc: Document, gazetteer: Gazetteer, names: Gazetteer, rng: random.Random
) -> tuple[Document, int]:
    """``doc`` with each swappable mention's name replaced, spans moved to fit."""
    parts, spans, end, length, count = [], [], 0, 0, 0
    for span in sorted(doc.spans):
        mention = doc.span_text(span)
        words = tokenize(mention)
        swap = (
            gazetteer.swap(tuple(w.text for w in words), rng, names) if span.label in SWAPPED_LABELS else None
        )
        if swap is not None:
            name = re.sub(r" ([!?.,:;])", r"\1", " ".join(swap.words))  # `Отанға!`, not `Отанға !`
            mention = mention[: words[swap.start].start] + name + mention[words[swap.stop - 1].end :]
            count += 1
        length += span.start - end
        parts += [doc.text[end : span.start], mention]
        spans.append(Span(length, length + len(mention), span.label))
        length += len(mention)
        end = span.end
    parts.append(doc.text[end:])
    return Document(doc.id, "".join(parts), tuple(spans), doc.source), count


def capitals(text: str) -> str:
    """``text`` in capitals, leaving any character whose capital is longer (ß) as it is."""
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in text)


def all_in_capitals(doc: Document) -> Document:
    return replace(doc, text=capitals(doc.text))


def first_line_in_capitals(doc: Document) -> Document:
    cut = doc.text.find("\n")
    cut = len(doc.text) if cut < 0 else cut
    return replace(doc, text=capitals(doc.text[:cut]) + doc.text[cut:])


def latin_i(doc: Document) -> Document:
    return replace(doc, text=doc.text.translate(str.maketrans("іІ", "iI")))


def with_web_characters(doc: Document, rng: random.Random) -> Document:
    """``doc`` with invisible characters inserted as web pages leave them,
    each span still on its own characters."""
    before = {0: "\ufeff"}
    for word in tokenize(doc.text):
        if len(word.text) >= 8 and word.text.isalpha() and rng.random() < 0.5:
            before[word.start + 4] = before.get(word.start + 4, "") + "\u00ad"
    for i in range(1, len(doc.text)):
        if doc.text[i - 1] == " " and rng.random() < 0.1:
            before[i] = before.get(i, "") + "\u200b"
    parts, moved, added = [], [], 0
    for i, c in enumerate(doc.text):
        added += len(before.get(i, ""))
        parts += [before.get(i, ""), c]
        moved.append(i + added)
    spans = tuple(Span(moved[s.start], moved[s.end - 1] + 1, s.label) for s in doc.spans)
    return Document(doc.id, "".join(parts), spans, doc.source)


def retyped(docs: list[Document], rng: random.Random) -> dict[str, list[Document]]:
    """The variants any annotated documents get, ours and KazNERD's: the
    same words set otherwise (capitals, web characters, Latin ``i``)."""
    return {
        "all caps": [all_in_capitals(d) for d in docs],
        "web chars": [with_web_characters(d, rng) for d in docs],
        "latin i": [latin_i(d) for d in docs],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="models/kzner-e5-small")
    parser.add_argument("--names", type=Path, default=Path(__file__).with_name("unseen-names.yaml"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--kaznerd", type=int, default=2000, help="KazNERD test sentences (0: none)")
    parser.add_argument(
        "--pipeline", choices=["first", "simple", "card"], help="score a plain HF pipeline instead"
    )
    parser.add_argument("exports", nargs="*", default=["annotations/dev/*.json"])
    args = parser.parse_args()
    docs = load_documents(expand_globs(args.exports, "exports"))
    gazetteer, names, rng = Gazetteer.load(), Gazetteer.load(args.names), random.Random(args.seed)
    pairs = [renamed(doc, gazetteer, names, rng) for doc in docs]
    if args.pipeline == "card":
        tag = card_tagger(args.model)
    elif args.pipeline:
        tag = pipeline_tagger(args.model, args.pipeline)
    else:
        tag = kzner_tagger(args.model)
    variants = {
        "as written": docs,
        "renamed": [d for d, _ in pairs],
        "headline caps": [first_line_in_capitals(d) for d in docs],
        **retyped(docs, rng),
    }
    mentions = sum(len(d.spans) for d in docs)
    print(f"{len(docs)} documents, {sum(n for _, n in pairs)} of {mentions} mentions renamed; exact span F1")
    print(exact_columns(tag, variants))
    if args.kaznerd:
        docs = kaznerd.as_documents(kaznerd.load_split("test")[: args.kaznerd], 40, one_per_line=True)
        sentences = sum(d.text.count("\n") + 1 for d in docs)
        print(f"\nKazNERD test, first {sentences} sentences; exact span F1")
        print(exact_columns(tag, {"as written": docs, **retyped(docs, rng)}))


Tag = Callable[[list[str]], list[list[Span]]]


def kzner_tagger(model: str) -> Tag:
    tagger = Tagger.load(model)
    return lambda texts: [[e.span for e in entities] for entities in tagger.pipe(texts)]


def pipeline_tagger(model: str, aggregation: str) -> Tag:
    from transformers import pipeline

    ner = pipeline("token-classification", model=model, aggregation_strategy=aggregation, stride=32)
    return lambda texts: [
        [Span(e["start"], e["end"], e["entity_group"]) for e in entities] for entities in ner(texts)
    ]


def card_tagger(model: str) -> Tag:
    """The model card's plain-transformers example, run as written (its
    closing ``print`` too) for its ``entities`` function, but on ``model``:
    the card names the folder the package was trained into, which a copied
    or moved package no longer is (a bench of a copy read the package that
    had since been trained there)."""
    named = f"model={json.dumps(str(model), ensure_ascii=False)}"
    example, found = re.subn(r'model="[^"]*"', lambda _: named, card_examples(Path(model))[-1], count=1)
    if not found:
        raise ValueError(f'the model card of {model} names no model="..." to run')
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)
    entities = namespace["entities"]
    return lambda texts: [[Span(e["start"], e["end"], e["label"]) for e in entities(text)] for text in texts]


def exact_columns(tag: Tag, variants: dict[str, list[Document]]) -> str:
    """Exact span F1 per label, one column per variant of the documents."""
    return format_comparison(
        {
            title: span_scores([list(d.spans) for d in docs], tag([d.text for d in docs]))["exact"]
            for title, docs in variants.items()
        }
    )


if __name__ == "__main__":
    main()
