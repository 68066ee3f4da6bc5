"""scripts/learning_curve.py's table and figure, on made-up metrics (no training)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kzner.document import LABELS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import learning_curve


def fake_metrics(sentences: int, f1: float) -> dict:
    strict = {label: {"f1": f1 - 0.01 * n} for n, label in enumerate(LABELS) if label != "PROJECT"}
    return {
        "kaznerd_split": {"name": "valid", "train": sentences, "dev": 1107, "test": 11307},
        "test": {"strict": {"micro avg": {"f1": f1}, **strict}},
        "train": {"wall_seconds": sentences * 0.25},
        **({"in_domain_dev": {"exact": {"micro avg": {"f1": 0.95}}}} if sentences > 6000 else {}),
    }


def test_table_and_figure_from_trained_points(tmp_path: Path) -> None:
    fractions = [0.25, 0.5, 1.0]
    for fraction, (sentences, f1) in zip(fractions[1:], [(5030, 0.85), (10060, 0.88)], strict=True):
        folder = tmp_path / learning_curve.point_name(fraction)
        folder.mkdir()
        (folder / "metrics.json").write_text(json.dumps(fake_metrics(sentences, f1)))
    points = learning_curve.read_points(tmp_path, fractions, LABELS)
    assert points[0] is None and [p.sentences for p in points[1:]] == [5030, 10060]
    # A label with no test entity scores 0 rather than disappearing from the row.
    assert points[2].f1["PROJECT"] == 0.0 and points[2].f1["ORG"] == 0.88
    lines = learning_curve.table(fractions, points, LABELS).splitlines()
    assert lines[0].split()[:4] == ["fraction", "sentences", "micro-F1", "ORG"]
    assert lines[1].split() == ["25%", "(not", "trained)"]
    assert lines[3].split()[:4] == ["100%", "10,060", "0.880", "0.880"]
    assert lines[3].split()[-3:] == ["0.950", "41.9", "valid"]
    assert lines[2].split()[-3:] == ["-", "21.0", "valid"]  # scored before the in-domain dev part existed
    png = tmp_path / "curve.png"
    learning_curve.plot([p for p in points if p], LABELS, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
