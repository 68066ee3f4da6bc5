"""Span F1 of ``kzner predict`` beside the plain transformers pipeline on
annotated documents (by default the in-domain dev part): what a user who
loads the package in ``transformers.pipeline`` gets on whole documents,
against what kzner gets from the same package.

Printed per system: exact and overlap span micro-F1 on character spans, and
entity agreement with ``kzner predict`` (as scripts/bench_predict.py counts
it) on documents that are real running text, not joined corpus sentences.
Both run as ``scripts/bench_predict.py`` runs them: the pipeline with
``stride`` over whole documents, with ``aggregation_strategy`` "first" and
"simple".

Usage: python scripts/pipeline_in_domain.py [--model models/kzner-e5-small] [exports ...]
"""

from __future__ import annotations

import argparse
import os

from bench_predict import agreement, as_spans, run_kzner, run_pipeline
from kzner.config import expand_globs
from kzner.evaluate import span_scores
from kzner.labelstudio import load_documents


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
    threads, batch = os.cpu_count() or 1, 32
    predicted = {"kzner predict": run_kzner(args.model, texts, {}, threads)[1]}
    whole = [[(0, len(text))] for text in texts]
    for strategy in ("first", "simple"):
        run = run_pipeline(args.model, texts, batch, args.stride, threads, whole, strategy)
        predicted[f'pipeline "{strategy}"'] = as_spans(run[1])
    gold = [list(d.spans) for d in docs]
    print(f"{args.model}: {len(docs)} documents, {sum(map(len, gold))} gold spans")
    print(f"{'system':<20}{'exact':>8}{'overlap':>9}{'agree':>7}")
    for name, spans in predicted.items():
        exact, overlap = (span_scores(gold, spans)[kind]["micro avg"]["f1"] for kind in ("exact", "overlap"))
        agree = agreement(predicted["kzner predict"], spans)
        print(f"{name:<20}{exact:>8.3f}{overlap:>9.3f}{agree:>7.3f}")


if __name__ == "__main__":
    main()
