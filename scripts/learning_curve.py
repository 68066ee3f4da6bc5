"""Learning curve: what more KazNERD training sentences buy.

Trains a config (the default, normally) on 25%, 50% and 100% of its KazNERD
training sentences (``data.train_fraction``: seeded, nested subsets, so each
point only adds sentences to the one before), with dev, test and the Label
Studio exports unchanged; prints KazNERD test strict F1 per label against
the number of KazNERD training sentences (with the in-domain dev part's
exact span F1 beside it) and draws it (log x) into a PNG.
The in-domain exports train at every point, so the x axis counts KazNERD
sentences only. Models go to ``OUT/p25`` etc. and are reused when already
trained (scripts/ablate.py), so the three trainings can run piecemeal.

Usage:
  python scripts/learning_curve.py configs/default.yaml [--out models/curve] \\
      [--fractions 0.25 0.5 1] [--png learning-curve.png] [--table-only]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ablate import run
from kzner.config import load_config


@dataclass(frozen=True)
class Point:
    fraction: float
    # KazNERD training sentences (metrics.json: kaznerd_split.train).
    sentences: int
    split: str
    micro: float
    f1: dict[str, float]
    wall_seconds: float
    # Exact span micro-F1 on the in-domain dev part: more KazNERD dilutes the
    # in-domain texts, which train at every point.
    in_domain: float | None = None


def point_name(fraction: float) -> str:
    return f"p{round(fraction * 100)}"


def point_from_metrics(fraction: float, metrics: dict, labels: Sequence[str]) -> Point:
    strict = metrics["test"]["strict"]
    return Point(
        fraction,
        metrics["kaznerd_split"]["train"],
        metrics["kaznerd_split"]["name"],
        strict["micro avg"]["f1"],
        {label: strict[label]["f1"] if label in strict else 0.0 for label in labels},
        metrics["train"].get("wall_seconds", 0.0),
        metrics["in_domain_dev"]["exact"]["micro avg"]["f1"] if "in_domain_dev" in metrics else None,
    )


def read_points(out: Path, fractions: Sequence[float], labels: Sequence[str]) -> list[Point | None]:
    """One point per fraction, None where its model is not trained yet."""
    points: list[Point | None] = []
    for fraction in fractions:
        path = out / point_name(fraction) / "metrics.json"
        metrics = json.loads(path.read_text()) if path.is_file() else None
        points.append(point_from_metrics(fraction, metrics, labels) if metrics else None)
    return points


def table(fractions: Sequence[float], points: Sequence[Point | None], labels: Sequence[str]) -> str:
    header = f"{'fraction':>8}{'sentences':>11}{'micro-F1':>9}" + "".join(f"{label:>9}" for label in labels)
    lines = [header + f"{'in-domain':>10}{'train min':>10}  split"]
    for fraction, point in zip(fractions, points, strict=True):
        if point is None:
            lines.append(f"{fraction:>8.0%}{'(not trained)':>20}")
            continue
        cells = "".join(f"{point.f1[label]:>9.3f}" for label in labels)
        in_domain = "-" if point.in_domain is None else f"{point.in_domain:.3f}"
        lines.append(
            f"{fraction:>8.0%}{point.sentences:>11,}{point.micro:>9.3f}{cells}"
            f"{in_domain:>10}{point.wall_seconds / 60:>10.1f}  {point.split}"
        )
    return "\n".join(lines)


def plot(points: Sequence[Point], labels: Sequence[str], path: Path) -> None:
    """Test F1 per label (and micro, dashed) against KazNERD training sentences, log x."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [p.sentences for p in points]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label in labels:
        ax.plot(xs, [p.f1[label] for p in points], marker="o", label=label)
    ax.plot(xs, [p.micro for p in points], marker="s", color="black", linestyle="--", label="micro")
    ax.set_xscale("log")
    ax.set_xticks(xs, [f"{x:,}" for x in xs])
    ax.minorticks_off()
    ax.set_xlabel("KazNERD training sentences (log scale; in-domain texts at every point)")
    ax.set_ylabel("KazNERD test F1 (strict IOB2)")
    ax.set_title(f"Learning curve ({points[0].split} split)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("config")
    parser.add_argument("--out", type=Path, default=Path("models/curve"))
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    parser.add_argument("--png", type=Path, default=Path("learning-curve.png"))
    parser.add_argument("--table-only", action="store_true", help="print the table of what is trained")
    args = parser.parse_args()
    if not args.table_only:
        for fraction in args.fractions:
            run(args.config, args.out, point_name(fraction), [f"data.train_fraction={fraction}"])
    labels = load_config(args.config).labels
    points = read_points(args.out, args.fractions, labels)
    print(table(args.fractions, points, labels))
    trained = [p for p in points if p is not None]
    if len(trained) > 1:
        plot(trained, labels, args.png)
        print(f"figure: {args.png}")


if __name__ == "__main__":
    main()
