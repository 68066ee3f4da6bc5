"""Recipe ablations: train one model per variant of a config, print one F1 table.

Each variant is a name and ``--set`` overrides of the base config; it is
trained with ``kzner train`` into ``OUT/NAME`` unless that folder already
holds a finished model, so a long ablation can be run piecemeal (or on
another machine) and the table printed again at any time. Rows are KazNERD
test strict micro-F1 and per-label F1, with the change against the first
variant (the baseline) in the same table.

Usage:
  python scripts/ablate.py configs/default.yaml --out models/ablation \\
      --variant baseline \\
      --variant unfrozen model.freeze_embeddings=false \\
      --variant head-lr train.head_learning_rate=1e-3
  python scripts/ablate.py configs/default.yaml --out models/ablation --table-only
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from kzner.config import load_config


def parse_variants(raw: list[list[str]]) -> dict[str, list[str]]:
    variants = {}
    for name, *overrides in raw:
        if name in variants:
            sys.exit(f"variant {name!r} given twice")
        variants[name] = overrides
    return variants


def run(config: str, out: Path, name: str, overrides: list[str]) -> None:
    target = out / name
    if (target / "metrics.json").is_file():
        print(f"{name}: already trained in {target}", file=sys.stderr)
        return
    load_config(config, overrides)  # a bad override stops us before any training
    command = [sys.executable, "-m", "kzner.cli", "train", config, "--output", str(target)]
    command += [arg for o in overrides for arg in ("--set", o)]
    print("+ " + " ".join(command), file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    with (out / f"{name}.log").open("w") as log:
        subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT)


def table(out: Path, variants: dict[str, list[str]], labels: list[str]) -> str:
    header = f"{'variant':<16}{'micro-F1':>9}{'Δ':>8}" + "".join(f"{label:>9}" for label in labels)
    lines = [header + f"{'train s':>9}  overrides"]
    baseline = None
    for name, overrides in variants.items():
        path = out / name / "metrics.json"
        if not path.is_file():
            lines.append(f"{name:<16}{'(not trained)':>17}")
            continue
        metrics = json.loads(path.read_text())
        strict = metrics["test"]["strict"]
        micro = strict["micro avg"]["f1"]
        baseline = micro if baseline is None else baseline
        cells = "".join(f"{strict[label]['f1']:>9.3f}" for label in labels)
        seconds = metrics["train"].get("wall_seconds", 0)
        changes = " ".join(overrides) or "-"
        lines.append(f"{name:<16}{micro:>9.3f}{micro - baseline:>+8.3f}{cells}{seconds:>9.0f}  {changes}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("config")
    parser.add_argument("--out", type=Path, default=Path("models/ablation"))
    parser.add_argument(
        "--variant",
        nargs="+",
        action="append",
        default=[],
        metavar=("NAME", "KEY=VALUE"),
        help="a variant: its name, then config overrides (none: the config as it is)",
    )
    parser.add_argument("--table-only", action="store_true", help="print the table of what is trained")
    args = parser.parse_args()
    variants = parse_variants(args.variant or [["baseline"]])
    if not args.table_only:
        for name, overrides in variants.items():
            run(args.config, args.out, name, overrides)
    print(table(args.out, variants, load_config(args.config).labels))


if __name__ == "__main__":
    main()
