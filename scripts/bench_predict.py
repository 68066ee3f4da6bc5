"""Inference throughput: ``kzner predict``'s Tagger against the plain
transformers token-classification pipeline, same model, same documents, one run.

Documents: the real reports (``$KZNER_REPORTS_DIR``) plus KazNERD test
sentences joined into documents of ``--sentences-per-doc`` (their gold
entities give an F1 for each system). Each system runs in a fresh process so
its peak memory (max RSS) is its own; this script imports kzner only inside
functions, so the pipeline's process holds what a plain-transformers user's
would, and no kzner module. Printed: docs/s, characters/s and
sub-tokens/s of each, the ratio to the pipeline, entity agreement with kzner (identical
start, end and label), F1 on the KazNERD-derived documents, and peak memory;
and the sub-tokens each reads per sub-token of text (at one precision, most
of kzner's speed-up is reading each piece once, where the pipeline's
overlapping windows read most pieces twice).

The pipeline uses ``aggregation_strategy="first"`` (and, in a second run,
``"simple"``) with its own striding over whole documents (``stride``); a
third run leaves ``stride`` out, as ``ner(text)`` is most often called, and
so reads only each document's first window; the
"card recipe" is the package's model card's plain-transformers example,
which feeds the pipeline sentence by sentence; kzner
splits sentences, sorts windows by length and pads each batch only to its
longest window. The model was trained on
sentences, so whole-document windows change its predictions; a second
pipeline run fed kzner's sentences shows the agreement of the decoders alone.
"raw fwd" rows time the model's batched forward passes alone at the same
precision: how close kzner's end-to-end speed comes to the model's own.
"Whole process" rows time each system from start to exit on the same
documents as files, start-up and model loading included: ``kzner predict``
with its defaults against a plain pipeline script (batch 32, and the
pipeline's own default of 1), each in a fresh process with its peak memory;
``--rounds N`` runs them N times, each system in turn, and prints every
round's seconds and ratios (a shared machine's timings drift by a fifth
between runs, so ratios are read within a round).
With ``--other-model`` (e.g. the same recipe trained with another seed),
a "kzner, other" row gives the agreement two trainings reach: a yardstick
for the pipeline's agreement with kzner on one package.

Usage: python scripts/bench_predict.py [--model models/kzner-e5-small] [--documents 100] [--fast]
    [--other-model models/another-seed] [--rounds 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from kzner.document import Span


def documents(reports: Path | None, kaznerd_dir: str | None, count: int, per_doc: int):
    """(texts, gold spans or None for the reports)."""
    from kzner import kaznerd

    texts, gold = [], []
    if reports is not None:
        for path in sorted(reports.glob("*.txt")):
            texts.append(path.read_text(encoding="utf-8"))
            gold.append(None)
    sentences = kaznerd.load_split("test", kaznerd_dir)[: count * per_doc]
    for doc in kaznerd.as_documents(sentences, per_doc):
        texts.append(doc.text)
        gold.append(list(doc.spans))
    return texts, gold


def add_document_arguments(parser: argparse.ArgumentParser) -> None:
    """The model and the bench's documents, as every script reading them names them."""
    parser.add_argument("--model", default="models/kzner-e5-small")
    parser.add_argument("--reports", type=Path, default=os.environ.get("KZNER_REPORTS_DIR"))
    parser.add_argument("--kaznerd-dir", default=None, help="default: $KZNER_KAZNERD_DIR")
    parser.add_argument("--documents", type=int, default=100, help="KazNERD-derived documents")
    parser.add_argument("--sentences-per-doc", type=int, default=40)


def run_kzner(model: str, texts: list[str], options: dict, threads: int):
    from kzner.predict import Tagger

    torch.set_num_threads(threads)
    tagger = Tagger.load(model, device="cpu", **options)  # its own batch size for the precision
    tagger.pipe(texts[:2])  # warm-up: first-call allocations are not throughput
    started = time.perf_counter()
    predicted = tagger.pipe(texts)
    seconds = time.perf_counter() - started
    spans = [[e.span for e in doc] for doc in predicted]
    return seconds, spans, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_pipeline(
    model: str,
    texts: list[str],
    batch: int,
    stride: int | None,
    threads: int,
    pieces: list[list[tuple[int, int]]],
    aggregation: str,
):
    """The pipeline over each document's ``pieces`` (character ranges), its
    entities as (start, end, label) in document offsets."""
    from transformers import pipeline

    torch.set_num_threads(threads)
    ner = pipeline(
        "token-classification", model=model, aggregation_strategy=aggregation, stride=stride, device="cpu"
    )
    flat = [text[a:b] for text, doc in zip(texts, pieces, strict=True) for a, b in doc]
    ner(flat[:2], batch_size=batch)
    started = time.perf_counter()
    predicted = iter(ner(flat, batch_size=batch))
    seconds = time.perf_counter() - started
    spans = []
    for doc in pieces:
        found = [(a, e) for a, _ in doc for e in next(predicted)]
        spans.append([(a + e["start"], a + e["end"], e["entity_group"]) for a, e in found])
    return seconds, spans, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def as_spans(found: list[list[tuple[int, int, str]]]) -> list[list[Span]]:
    """``run_pipeline``'s entities as kzner spans, in the parent process."""
    from kzner.document import Span

    return [[Span(*entity) for entity in doc] for doc in found]


def run_card(model: str, texts: list[str], threads: int):
    """The plain-transformers example of the package's model card, run as
    written: sentences cut by its pattern, a headline in capitals in title case."""
    from robustness import card_tagger

    torch.set_num_threads(threads)
    tag = card_tagger(model)
    tag(texts[:2])
    started = time.perf_counter()
    spans = tag(texts)
    return time.perf_counter() - started, spans, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_raw(model: str, texts: list[str], options: dict, threads: int):
    """The model's forward passes alone, batched as kzner batches (its
    sentences, sorted longest first, as many per batch and padded as kzner
    pads them at the precision), tokenised and padded
    before the clock starts: the ceiling an end-to-end tagger can approach."""
    from transformers import AutoTokenizer

    from kzner.package import load_model, read_settings
    from kzner.predict import DTYPES, batch_windows, pad_multiple, resolve_precision

    torch.set_num_threads(threads)
    dtype = DTYPES[resolve_precision(options.get("precision", "auto"), torch.device("cpu"))]
    tokenizer = AutoTokenizer.from_pretrained(model)
    net = load_model(Path(model), dtype).eval()
    words = sentence_words(texts)
    # A sentence longer than the package's window is read in overlapping windows, as kzner reads it.
    settings = read_settings(Path(model))
    encoded = tokenizer(
        words,
        is_split_into_words=True,
        truncation=True,
        max_length=settings["max_length"],
        stride=settings["stride"],
        return_overflowing_tokens=True,
    )
    ids = sorted(encoded["input_ids"], key=len, reverse=True)
    batch = batch_windows(dtype)
    batches = [
        tokenizer.pad(
            {"input_ids": ids[i : i + batch]}, pad_to_multiple_of=pad_multiple(dtype), return_tensors="pt"
        )
        for i in range(0, len(ids), batch)
    ]
    with torch.inference_mode():
        net(**batches[0])
        started = time.perf_counter()
        for inputs in batches:
            net(**inputs)
    return time.perf_counter() - started, None, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def sentence_words(texts: list[str]) -> list[list[str]]:
    """The words of every sentence kzner feeds the model, document after document."""
    from kzner.tokenize import split_sentences, tokenize

    return [[t.text for t in s] for text in texts for s in split_sentences(text, tokenize(text))]


def sub_tokens(model: str, texts: list[str]) -> int:
    """Real (non-pad) sub-tokens of kzner's sentences, <s> and </s> included:
    the work every system does, for tokens/s."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    words = sentence_words(texts)
    return sum(map(len, tokenizer(words, is_split_into_words=True, verbose=False)["input_ids"]))


def pipeline_pieces(model: str, texts: list[str], stride: int) -> tuple[int, int]:
    """Real sub-tokens the pipeline's forward passes read over whole documents
    (windows of the packaged ``model_max_length`` overlapping by ``stride``, as
    its preprocessing cuts them, so most pieces are read twice), and the
    documents' own sub-tokens."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    windows = tokenizer(texts, truncation=True, return_overflowing_tokens=True, stride=stride, verbose=False)
    text = tokenizer(texts, add_special_tokens=False, verbose=False)
    return sum(map(len, windows["input_ids"])), sum(map(len, text["input_ids"]))


def whitespace_edges(texts: list[str], spans: list[list[Span]]) -> int:
    """Entities that start or end on whitespace: offsets off the word."""
    return sum(
        text[s.start].isspace() or text[s.end - 1].isspace()
        for text, doc in zip(texts, spans, strict=True)
        for s in doc
    )


# What a plain-transformers user runs over a folder of .txt files: argv is
# model, folder, output, stride, batch size (0: the pipeline's default).
PIPELINE_SCRIPT = """
import json, sys
from pathlib import Path
from transformers import pipeline

model, folder, output, stride, batch = sys.argv[1:]
ner = pipeline("token-classification", model=model, aggregation_strategy="first", stride=int(stride))
paths = sorted(Path(folder).glob("*.txt"))
texts = [p.read_text(encoding="utf-8") for p in paths]
found = ner(texts, batch_size=int(batch)) if int(batch) else ner(texts)
with open(output, "w", encoding="utf-8") as out:
    for path, entities in zip(paths, found):
        spans = [[e["start"], e["end"], e["entity_group"]] for e in entities]
        out.write(json.dumps({"id": path.name, "entities": spans}) + "\\n")
"""


def whole_process(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KB) of ``command``, run to its end in a
    fresh process whose only child it is."""
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    done = subprocess.run([sys.executable, "-c", wrapper, *command], check=True, capture_output=True)
    seconds, kb = done.stdout.split()
    return float(seconds), int(kb)


def whole_processes(
    model: str, texts: list[str], stride: int, batch: int, fp32: bool, rounds: int
) -> dict[str, list[tuple[float, int]]]:
    """Each system's (seconds, peak RSS) per round."""
    with tempfile.TemporaryDirectory() as folder:
        for i, text in enumerate(texts):
            Path(folder, f"{i:04d}.txt").write_text(text, encoding="utf-8")
        out = str(Path(folder, "out.jsonl"))
        pipe = [sys.executable, "-c", PIPELINE_SCRIPT, model, folder, out, str(stride)]
        kzner = [sys.executable, "-m", "kzner.cli", "predict", "--model", model, folder, "--output", out]
        commands = {"kzner predict": kzner}
        if fp32:  # what CPUs without native bf16 run by default
            commands["kzner predict fp32"] = [*kzner, "--precision", "fp32"]
        commands[f"pipeline, batch {batch}"] = [*pipe, str(batch)]
        commands["pipeline, batch 1"] = [*pipe, "0"]
        runs: dict[str, list[tuple[float, int]]] = {name: [] for name in commands}
        for _ in range(rounds):  # each system in turn: a machine's drift within a round hits all alike
            for name, command in commands.items():
                runs[name].append(whole_process(command))
        return runs


def speed_ups(baseline: list[tuple[float, int]], runs: list[tuple[float, int]]) -> str:
    """How many times faster ``runs`` were than ``baseline``, round by round."""
    return " / ".join(f"{base / seconds:.2f}" for (base, _), (seconds, _) in zip(baseline, runs, strict=True))


def in_child(function, *args):
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def agreement(reference: list[list[Span]], other: list[list[Span]]) -> float:
    """Entities identical in both (start, end, label), over all distinct entities of either."""
    a = {(d, s) for d, doc in enumerate(reference) for s in doc}
    b = {(d, s) for d, doc in enumerate(other) for s in doc}
    return len(a & b) / max(1, len(a | b))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_document_arguments(parser)
    parser.add_argument("--batch-size", type=int, default=32, help="the pipeline's (kzner: its default)")
    parser.add_argument("--stride", type=int, default=32, help="the pipeline's window overlap")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument(
        "--fast",
        action="store_true",
        help="also run kzner in fp32, bf16 and dynamic int8 (and in fp32 as a whole process)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="whole-process runs of each system, in turn")
    parser.add_argument(
        "--other-model",
        help="also run kzner with this package, e.g. the same recipe trained with another seed: "
        "its agreement is how far two trainings' entities are apart",
    )
    args = parser.parse_args()
    if not Path(args.model, "kzner.json").is_file():
        parser.error(f"{args.model} is not a trained kzner model (run `make train` first, or pass --model)")
    if args.other_model and not Path(args.other_model, "kzner.json").is_file():
        parser.error(f"--other-model {args.other_model} is not a trained kzner model")

    texts, gold = documents(args.reports, args.kaznerd_dir, args.documents, args.sentences_per_doc)
    chars = sum(map(len, texts))
    print(f"{len(texts)} documents, {chars:,} characters; {args.threads} threads")
    print(f"pipeline batch {args.batch_size}; kzner batches as its defaults do")
    from kzner.evaluate import span_scores
    from kzner.predict import resolve_precision
    from kzner.tokenize import split_sentences, tokenize

    pipe_args = (args.model, texts, args.batch_size, args.stride, args.threads)
    whole = [[(0, len(text))] for text in texts]
    # Per sentence: the same pieces kzner feeds the model, so that agreement
    # measures decoding, not the different context of a whole-document window.
    sentences = [[(s[0].start, s[-1].end) for s in split_sentences(text, tokenize(text))] for text in texts]
    runs = {"pipeline": in_child(run_pipeline, *pipe_args, whole, "first")}
    runs["pipe simple"] = in_child(run_pipeline, *pipe_args, whole, "simple")
    runs["pipe/sent."] = in_child(run_pipeline, *pipe_args, sentences, "first")
    # The call most examples show, `ner(text)`: no stride, so the pipeline truncates.
    unstrided = (args.model, texts, args.batch_size, None, args.threads, whole, "first")
    runs["pipe no stride"] = in_child(run_pipeline, *unstrided)
    for name in ("pipeline", "pipe simple", "pipe/sent.", "pipe no stride"):
        seconds, found, rss_kb = runs[name]
        runs[name] = (seconds, as_spans(found), rss_kb)
    runs["card recipe"] = in_child(run_card, args.model, texts, args.threads)
    variants = {"kzner": {}}
    if args.fast:
        variants |= {
            "kzner fp32": {"precision": "fp32"},
            "kzner bf16": {"precision": "bf16"},
            "kzner int8": {"quantize": True},
        }
    for name, options in variants.items():
        runs[name] = in_child(run_kzner, args.model, texts, options, args.threads)
    if args.other_model:
        runs["kzner, other"] = in_child(run_kzner, args.other_model, texts, {}, args.threads)
    for name, options in variants.items():
        if "quantize" not in options:
            runs[f"raw fwd{name[5:]}"] = in_child(run_raw, args.model, texts, options, args.threads)

    scored = [i for i, g in enumerate(gold) if g is not None]
    base_seconds = runs["pipeline"][0]
    tokens = sub_tokens(args.model, texts)
    header = f"{'system':<14}{'docs/s':>8}{'chars/s':>9}{'tokens/s':>9}{'speed-up':>9}"
    print(header + f"{'agree':>7}{'F1':>7}{'ws':>5}{'max RSS':>10}")
    for name, (seconds, spans, rss_kb) in runs.items():
        quality = "      -      -    -"
        if spans is not None:
            f1 = span_scores([gold[i] for i in scored], [spans[i] for i in scored])["exact"]["micro avg"][
                "f1"
            ]
            quality = (
                f"{agreement(runs['kzner'][1], spans):>7.3f}{f1:>7.4f}{whitespace_edges(texts, spans):>5}"
            )
        print(
            f"{name:<14}{len(texts) / seconds:>8.2f}{chars / seconds:>9,.0f}{tokens / seconds:>9,.0f}"
            f"{base_seconds / seconds:>8.2f}x{quality}{rss_kb / 1024:>8.0f} MB"
        )
    for name in variants:
        raw = f"raw fwd{name[5:]}"
        if raw in runs:
            print(f"{name}: {runs[raw][0] / runs[name][0]:.2f} of the speed of its raw forward passes")
    print(
        "agree: entities identical to kzner's (its defaults: precision auto, here "
        f"{resolve_precision('auto', torch.device('cpu'))}), "
        "over all entities either found (start, end, label)"
    )
    print(
        'pipeline: whole documents, its own striding, aggregation "first" ("simple": pipe simple); '
        "pipe/sent.: fed the sentences kzner feeds the model"
    )
    print(
        "pipe no stride: whole documents without `stride`; the pipeline reads the first model_max_length "
        "sub-tokens of each and drops the rest"
    )
    print("card recipe: the model card's plain-transformers example (sentence by sentence, capitals titled)")
    if args.other_model:
        print(f"kzner, other: kzner predict with {args.other_model}, its defaults")
    print("ws: entities starting or ending on whitespace")
    print("raw fwd: the forward passes alone on kzner's sentences at its precision, tokenised first")
    print(f"F1: exact-span micro-F1 on the {len(scored)} KazNERD-derived documents")
    read, text_pieces = pipeline_pieces(args.model, texts, args.stride)
    print(
        f"pieces read per piece of text: pipeline {read / text_pieces:.2f}, kzner {tokens / text_pieces:.2f} "
        f"(<s> and </s> included): the pipeline reads {read / tokens:.2f}x the pieces kzner reads"
    )

    processes = whole_processes(args.model, texts, args.stride, args.batch_size, args.fast, args.rounds)
    print(f"\nwhole process, {len(texts)} documents as .txt files (start-up and model loading included)")
    print(f"{'system':<22}{'seconds, per round':>24}{'speed-up, per round':>26}{'max RSS':>16}")
    baseline = processes[f"pipeline, batch {args.batch_size}"]
    for name, results in processes.items():
        seconds = " / ".join(f"{s:.1f}" for s, _ in results)
        peaks = sorted(round(kb / 1024) for _, kb in results)
        peak = f"{peaks[0]}" if peaks[0] == peaks[-1] else f"{peaks[0]}-{peaks[-1]}"
        print(f"{name:<22}{seconds:>24}{speed_ups(baseline, results):>25}x{peak:>13} MB")
    by_default = speed_ups(processes["pipeline, batch 1"], processes["kzner predict"])
    print(f"kzner predict against the pipeline at its default batch of 1, per round: {by_default}x")
    print('kzner predict with its defaults; the pipeline script: aggregation "first", its own striding')


if __name__ == "__main__":
    main()
