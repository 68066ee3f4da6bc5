"""In-domain quality: leave one annotated report out, side by side with a
KazNERD-only model.

For each real report among the tasks of the Label Studio JSON exports in
the config's ``data.annotations`` (texts we wrote ourselves, ``data.source``
starting ``written/``, are no fold: they train every fold): train on KazNERD
plus everything else, score the held-out report on character spans (exact
and overlap match, per label); the KazNERD-only model
(``data.annotations=[]``) is scored on the same held-out reports.
Printed: one row per fold and model, then the mean over folds.
Models go to ``OUT/<name>`` and are reused when already trained (see
scripts/ablate.py), so an interrupted run picks up where it stopped.

Usage: python scripts/loo_reports.py configs/default.yaml [--out models/loo] [--decode argmax]
                                     [--no-kaznerd-only] [--folds 0 2] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ablate import run
from kzner.config import expand_globs, load_config
from kzner.decode import DECODERS
from kzner.evaluate import score_documents
from kzner.labelstudio import load_documents
from kzner.predict import Tagger

# data.source of the texts we wrote (annotations/written-*.json).
WRITTEN = "written/"


def tasks_of(patterns: list[str]) -> list[dict]:
    tasks = []
    for path in expand_globs(patterns, "data.annotations"):
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, list):
            sys.exit(f"{path}: leave-one-out needs Label Studio JSON exports (a list of tasks)")
        tasks.extend(data)
    return tasks


def score(model: Path, held_out: Path, decoder: str) -> dict:
    scores, _ = score_documents(Tagger.load(model, decoder=decoder), load_documents([held_out]))
    out = held_out.with_name(f"{held_out.stem}.{model.name}.{decoder}.scores.json")
    out.write_text(json.dumps(scores, indent=2))
    return scores


def row(name: str, scores: dict, labels: list[str]) -> str:
    # A label neither in the gold spans nor predicted has no F1: a dash, not 0.
    exact_f1 = {label: f"{entry['f1']:.3f}" for label, entry in scores["exact"].items()}
    cells = "".join(f"{exact_f1.get(label, '-'):>9}" for label in labels)
    exact, overlap = scores["exact"]["micro avg"]["f1"], scores["overlap"]["micro avg"]["f1"]
    return f"{name:<28}{exact:>8.3f}{overlap:>9.3f}{cells}"


def mean(folds: list[dict], labels: list[str]) -> dict:
    """Per measure and label, the mean over folds where the label occurs."""
    averaged: dict = {}
    for kind in ("exact", "overlap"):
        averaged[kind] = {}
        for label in [*labels, "micro avg"]:
            present = [f[kind][label]["f1"] for f in folds if f[kind].get(label, {}).get("support", 0)]
            if present:
                averaged[kind][label] = {"f1": sum(present) / len(present)}
    return averaged


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("config")
    parser.add_argument("--out", type=Path, default=Path("models/loo"))
    parser.add_argument("--decode", default="viterbi", choices=DECODERS, help="passed to kzner evaluate")
    parser.add_argument(
        "--no-kaznerd-only",
        dest="kaznerd_only",
        action="store_false",
        help="skip the KazNERD-only model (one training fewer; it does not depend on the annotations)",
    )
    parser.add_argument(
        "--folds", type=int, nargs="+", metavar="K", help="only these folds (from 0, in export order)"
    )
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    config = load_config(args.config, args.overrides)
    tasks = tasks_of(config.data.annotations)
    written = [t for t in tasks if str(t.get("data", {}).get("source", "")).startswith(WRITTEN)]
    tasks = [t for t in tasks if t not in written]
    if len(tasks) < 2:
        sys.exit(f"need at least two annotated reports in {config.data.annotations}, found {len(tasks)}")
    args.out.mkdir(parents=True, exist_ok=True)
    models = {"with reports": "fold-{k}"}
    if args.kaznerd_only:
        run(args.config, args.out, "kaznerd-only", [*args.overrides, "data.annotations=[]"])
        models["KazNERD only"] = "kaznerd-only"
    results: dict[str, list[dict]] = {name: [] for name in models}
    lines = []
    for k, task in enumerate(tasks):
        if args.folds is not None and k not in args.folds:
            continue
        source = task.get("data", {}).get("source") or f"task {task.get('id', k)}"
        held_out, train = args.out / f"fold-{k}-test.json", args.out / f"fold-{k}-train.json"
        held_out.write_text(json.dumps([task], ensure_ascii=False), encoding="utf-8")
        rest = tasks[:k] + tasks[k + 1 :] + written
        train.write_text(json.dumps(rest, ensure_ascii=False), encoding="utf-8")
        run(args.config, args.out, f"fold-{k}", [*args.overrides, f"data.annotations=[{train}]"])
        for name, model in models.items():
            scores = score(args.out / model.format(k=k), held_out, args.decode)
            results[name].append(scores)
            lines.append(row(f"{Path(source).name[:14]} {name}", scores, config.labels))
    header = f"{'held-out report, model':<28}{'exact':>8}{'overlap':>9}" + "".join(
        f"{lb:>9}" for lb in config.labels
    )
    print("char-span micro-F1 (exact, overlap), then exact F1 per label\n" + header)
    print("\n".join(lines))
    for name, folds in results.items():
        print(row(f"mean of {len(folds)} folds, {name}", mean(folds, config.labels), config.labels))


if __name__ == "__main__":
    main()
