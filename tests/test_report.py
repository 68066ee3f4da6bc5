from __future__ import annotations

from pathlib import Path

from kzner.document import Document, Span
from kzner.report import classify_errors, write_confusion_png, write_html

TEXT = "«AMANAT» партиясы Арал ауданында 91,4 пайызға Шиелі"
GOLD = Document("s1", TEXT, (Span(1, 7, "ORG"), Span(18, 22, "LOC"), Span(33, 45, "PERCENT")))


def test_errors_are_sorted_into_kinds() -> None:
    predicted = [Span(1, 7, "LOC"), Span(18, 31, "LOC"), Span(46, 51, "LOC")]
    kinds = sorted((e.kind, e.label) for e in classify_errors([GOLD], [predicted]))
    assert kinds == [
        ("missed", "PERCENT"),
        ("spurious", "LOC"),
        ("wrong boundary", "LOC"),
        ("wrong label", "ORG"),
    ]
    assert classify_errors([GOLD], [list(GOLD.spans)]) == []


def test_html_and_png_are_written(tmp_path: Path) -> None:
    predicted = [[Span(1, 7, "LOC")]]
    write_html(tmp_path / "r.html", [GOLD], predicted, "test <set>")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "test &lt;set&gt;" in page and "wrong label" in page and "AMANAT" in page
    write_confusion_png(tmp_path / "c.png", [["B-ORG", "O"]], [["B-LOC", "O"]], ["ORG", "LOC"])
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
