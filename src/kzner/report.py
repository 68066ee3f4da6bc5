"""Error analysis for people: an HTML page of mistakes in context, and a
word-level confusion matrix as a PNG. ``metrics.json`` is for machines.

Errors are entity-level and sorted into the kinds that call for different
fixes: a wrong label (data or label set), a wrong boundary (conventions,
tokenisation), missed and spurious entities (recall and precision).
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kzner.document import Document, Span

KINDS = ("wrong label", "wrong boundary", "wrong label and boundary", "missed", "spurious")
EXAMPLES_PER_GROUP = 25


@dataclass(frozen=True)
class Error:
    kind: str
    label: str  # the gold label, or the predicted one for spurious entities
    doc: int
    gold: Span | None
    predicted: Span | None


def classify_errors(gold: Sequence[Document], predicted: Sequence[Sequence[Span]]) -> list[Error]:
    errors: list[Error] = []
    for d, (doc, pred) in enumerate(zip(gold, predicted, strict=True)):
        exact = set(doc.spans) & set(pred)
        used: set[Span] = set()
        for g in doc.spans:
            if g in exact:
                continue
            hits = [p for p in pred if p not in exact and p.start < g.end and g.start < p.end]
            if not hits:
                errors.append(Error("missed", g.label, d, g, None))
                continue
            p = hits[0]
            used.update(hits)
            same_edges = (p.start, p.end) == (g.start, g.end)
            kind = (
                "wrong label"
                if same_edges
                else "wrong boundary"
                if p.label == g.label
                else "wrong label and boundary"
            )
            errors.append(Error(kind, g.label, d, g, p))
        errors.extend(
            Error("spurious", p.label, d, None, p) for p in pred if p not in exact and p not in used
        )
    return errors


# One colour per label, shared by the error report and `kzner predict --format html`.
LABEL_CSS = (
    "mark{padding:0 2px}sub{font-size:9px}"
    ".ORG{background:#cde}.PROJECT{background:#edc}.MONEY{background:#dec}.PERCENT{background:#ecd}"
    ".QUANTITY{background:#dde}.LOC{background:#ced}"
)


def marked_html(text: str, spans: Sequence[Span], focus: Span | None = None) -> str:
    """``text`` as HTML with each span in a ``<mark>`` of its label's class."""
    out, at = [], 0
    for span in sorted(spans):
        role = "" if focus is None else "focus " if span == focus else "other "
        out.append(html.escape(text[at : span.start]))
        out.append(
            f'<mark class="{role}{span.label}">{html.escape(text[span.start : span.end])}'
            f"<sub>{span.label}</sub></mark>"
        )
        at = span.end
    out.append(html.escape(text[at:]))
    return "".join(out)


def write_html(path: Path, gold: Sequence[Document], predicted: Sequence[Sequence[Span]], title: str) -> None:
    errors = classify_errors(gold, predicted)
    groups: dict[tuple[str, str], list[Error]] = defaultdict(list)
    for e in errors:
        groups[(e.label, e.kind)].append(e)
    counts = Counter((e.label, e.kind) for e in errors)
    labels = sorted({label for label, _ in counts})
    parts = [
        f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>body{{font:15px/1.5 sans-serif;max-width:70em;margin:auto}}{LABEL_CSS}"
        "mark.focus{outline:2px solid #c00}mark.other{opacity:.6}td,th{padding:2px 8px}"
        "div.e{border-top:1px solid #ddd;padding:4px 0}span.t{color:#888;font-size:12px}</style>",
        f"<h1>{html.escape(title)}</h1><p>{len(errors)} entity errors in {len(gold)} sentences. "
        "For each error: the gold entities, then the predicted ones; the error itself is outlined.</p>",
        "<table><tr><th>label</th>" + "".join(f"<th>{k}</th>" for k in KINDS) + "</tr>",
    ]
    for label in labels:
        cells = "".join(
            f"<td><a href='#{label}-{k.replace(' ', '-')}'>{counts[(label, k)]}</a></td>" for k in KINDS
        )
        parts.append(f"<tr><th>{label}</th>{cells}</tr>")
    parts.append("</table>")
    for (label, kind), items in sorted(groups.items()):
        shown = items[:EXAMPLES_PER_GROUP]
        parts.append(
            f"<h2 id='{label}-{kind.replace(' ', '-')}'>{label}: {kind} "
            f"({len(items)}, {len(shown)} shown)</h2>"
        )
        for e in shown:
            doc = gold[e.doc]
            parts.append(
                f"<div class='e'><span class='t'>{html.escape(doc.id)} gold</span><br>"
                f"{marked_html(doc.text, doc.spans, e.gold)}<br><span class='t'>predicted</span><br>"
                f"{marked_html(doc.text, predicted[e.doc], e.predicted)}</div>"
            )
    path.write_text("\n".join(parts), encoding="utf-8")


def write_confusion_png(
    path: Path, gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], labels: Sequence[str]
) -> None:
    """Word-level confusion between entity types (B-/I- merged), O included."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ["O", *labels]
    index = {n: i for i, n in enumerate(names)}
    matrix = [[0] * len(names) for _ in names]
    for g_sentence, p_sentence in zip(gold, predicted, strict=True):
        for g, p in zip(g_sentence, p_sentence, strict=True):
            matrix[index[g[2:] or "O"]][index[p[2:] or "O"]] += 1
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    ax.imshow([[v**0.5 for v in row] for row in matrix], cmap="Blues")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            ax.text(
                j,
                i,
                str(value),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if i == j and value > 1000 else "black",
            )
    ax.set_title("Words by entity type (colour: square root of count)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
