"""Span F1 of ``kzner predict`` beside the plain transformers pipeline on
annotated documents (by default the in-domain dev part): what a user who
loads the package in ``transformers.pipeline`` gets on whole documents,
against what kzner gets from the same package.

Printed per system: exact and overlap span micro-F1 on character spans.
The pipeline runs with ``stride`` over whole documents, with
``aggregation_strategy`` "first" and "simple".

Usage: python scripts/pipeline_in_domain.py [--model models/kzner-e5-small] [exports ...]
"""

from __future__ import annotations

import argparse

from transformers import pipeline

from kzner.config import expand_globs
from kzner.document import Span
from kzner.evaluate import span_scores
from kzner.labelstudio import load_documents
from kzner.predict import Tagger


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="models/kzner-e5-small")
    parser.add_argument("exports", nargs="*", default=["annotations/dev/*.json"])
    parser.add_argument("--stride", type=int, default=32, help="the pipeline's window overlap")
    args = parser.parse_args()
    docs = load_documents(expand_globs(args.exports, "exports"))
    texts = [d.text for d in docs]
    predicted = {"kzner predict": [[e.span for e in found] for found in Tagger.load(args.model).pipe(texts)]}
    for strategy in ("first", "simple"):
        ner = pipeline(
            "token-classification", model=args.model, aggregation_strategy=strategy, stride=args.stride
        )
        predicted[f'pipeline "{strategy}"'] = [
            [Span(e["start"], e["end"], e["entity_group"]) for e in ner(text)] for text in texts
        ]
    gold = [list(d.spans) for d in docs]
    print(f"{args.model}: {len(docs)} documents, {sum(map(len, gold))} gold spans")
    print(f"{'system':<20}{'exact':>8}{'overlap':>9}")
    for name, spans in predicted.items():
        exact, overlap = (span_scores(gold, spans)[kind]["micro avg"]["f1"] for kind in ("exact", "overlap"))
        print(f"{name:<20}{exact:>8.3f}{overlap:>9.3f}")


if __name__ == "__main__":
    main()
