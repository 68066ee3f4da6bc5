"""Where a plain pipeline's entities on whole documents part from
``kzner predict``'s: window by window.

The pipeline with ``stride`` cuts a document into overlapping windows of the
tokenizer's ``model_max_length``, tags each, and keeps every entity any
window finds (the longer where two overlap). This script reads each of those
windows alone, through the pipeline's own pre- and post-processing, and
sorts the pipeline's entities that kzner does not give by how many of the
windows holding them whole found them, whether they overlap an entity of
kzner's, whether they are right against the gold tags (the KazNERD-derived
documents of scripts/bench_predict.py), and where they sit in the window
that found them: near its start or end (fewer than ``--edge`` pieces from
it) or mid-window. So a lever can be judged by how many of them it can
reach before anything is trained.

Usage: python scripts/pipeline_windows.py [--model models/kzner-e5-small] [--documents 100]
"""

from __future__ import annotations

import argparse
import os
from collections import Counter

import torch

from bench_predict import add_document_arguments, documents

Entity = tuple[int, int, str]


def window_entities(ner, text: str, strategy: str, stride: int):
    """Per window of ``text``: its pieces' character ranges and the entities
    (the pipeline's dicts) its post-processing makes of that window alone."""
    pre, _, post = ner._sanitize_parameters(aggregation_strategy=strategy, stride=stride)
    windows = []
    for chunk in ner.preprocess(text, **pre):
        pieces = [(int(a), int(b)) for a, b in chunk["offset_mapping"][0].tolist() if b > a]
        output = ner.forward(chunk)
        output["sentence"] = text  # the pipeline sets it on the first window only
        windows.append((pieces, ner.postprocess([output], **post)))
    return windows


def as_tuple(entity: dict) -> Entity:
    return entity["start"], entity["end"], entity["entity_group"]


def union(ner, windows) -> set[Entity]:
    """The windows' entities merged as the pipeline merges them."""
    merged = ner.aggregate_overlapping_entities([e for _, found in windows for e in found])
    return {as_tuple(e) for e in merged}


def where(entity: Entity, pieces: list[tuple[int, int]], edge: int) -> str:
    before = sum(1 for _, end in pieces if end <= entity[0])
    after = sum(1 for start, _ in pieces if start >= entity[1])
    return "near its start" if before < edge else "near its end" if after < edge else "mid-window"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_document_arguments(parser)
    parser.add_argument("--strategy", default="first", help="the pipeline's aggregation_strategy")
    parser.add_argument("--stride", type=int, default=32)
    parser.add_argument("--edge", type=int, default=8, help="pieces from an end that are near it")
    args = parser.parse_args()

    from transformers import pipeline

    from kzner.predict import Tagger

    torch.set_num_threads(os.cpu_count() or 1)
    texts, gold = documents(args.reports, args.kaznerd_dir, args.documents, args.sentences_per_doc)
    tagger = Tagger.load(args.model, device="cpu")
    kzner = [{(e.start, e.end, e.label) for e in doc} for doc in tagger.pipe(texts)]
    ner = pipeline("token-classification", model=args.model, device="cpu")
    counts: Counter[str] = Counter()
    for text, truth, ours in zip(texts, gold, kzner, strict=True):
        windows = window_entities(ner, text, args.strategy, args.stride)
        theirs = union(ner, windows)
        readings = [(pieces, {as_tuple(e) for e in found}) for pieces, found in windows]
        direct = ner(text, aggregation_strategy=args.strategy, stride=args.stride)
        if {as_tuple(e) for e in direct} != theirs:  # the windows read apart must add up to the pipeline
            counts["documents whose windows do not add up to the pipeline's output"] += 1
        truth = None if truth is None else {(s.start, s.end, s.label) for s in truth}
        counts["pipeline entities"] += len(theirs)
        counts["kzner's, not the pipeline's"] += len(ours - theirs)
        for entity in theirs - ours:
            counts["the pipeline's, not kzner's"] += 1
            holding = [(p, found) for p, found in readings if p[0][0] <= entity[0] < entity[1] <= p[-1][1]]
            finding = [p for p, found in holding if entity in found]
            counts[f"  found by {len(finding)} of the {len(holding)} windows holding it"] += 1
            overlaps = any(a < entity[1] and entity[0] < b for a, b, _ in ours)
            right = "" if truth is None else f", {'right' if entity in truth else 'wrong'} against gold"
            counts[f"  {'overlaps' if overlaps else 'overlaps no'} entity of kzner's{right}"] += 1
            if len(finding) == 1 and len(holding) > 1:
                counts[f"  found by one window of several, {where(entity, finding[0], args.edge)}"] += 1
    print(f"{args.model}: pipeline {args.strategy!r}, stride {args.stride}, {len(texts)} documents")
    for name, count in sorted(counts.items(), key=lambda item: (item[0].startswith("  "), item[0])):
        print(f"{count:6}  {name}")


if __name__ == "__main__":
    main()
