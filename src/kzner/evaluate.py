"""Scores: seqeval on word tags, and character spans on documents.

seqeval is asked for both its strict IOB2 mode (only well-formed entities
count, B- first: the figure we optimise and report) and its default,
conlleval-like mode, which quietly turns ill-formed tag runs into entities;
the two disagree exactly where a model emits broken sequences, so both are
shown rather than one hiding the gap. Character-span scores compare
entities by offsets, so figures on raw reports do not depend on tokenisation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from kzner.align import document_to_tags, spans_to_tags
from kzner.document import Document, Span


def tag_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, dict]:
    """Per-label and averaged precision/recall/F1/support, strict and default."""
    # Imported here: seqeval pulls in scikit-learn, SciPy and pandas (about
    # 1.5 s and 100 MB), which `kzner predict` reaches through kzner.package
    # but never uses.
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    if [len(g) for g in gold] != [len(p) for p in predicted]:
        raise ValueError("gold and predicted sentences differ in length")
    gold, predicted = [list(g) for g in gold], [list(p) for p in predicted]
    return {
        "strict": _rounded(
            classification_report(
                gold, predicted, mode="strict", scheme=IOB2, output_dict=True, zero_division=0
            )
        ),
        "default": _rounded(classification_report(gold, predicted, output_dict=True, zero_division=0)),
    }


def _rounded(report: dict) -> dict:
    return {
        name: {
            k.replace("f1-score", "f1"): (round(float(v), 4) if k != "support" else int(v))
            for k, v in row.items()
        }
        for name, row in report.items()
    }


def span_scores(gold: Sequence[Sequence[Span]], predicted: Sequence[Sequence[Span]]) -> dict[str, dict]:
    """Exact (same start, end, label) and overlap (same label, any shared
    character; each gold span matched at most once) precision/recall/F1."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted document counts differ")
    exact_tp: Counter[str] = Counter()
    overlap_tp: Counter[str] = Counter()
    n_gold: Counter[str] = Counter()
    n_pred: Counter[str] = Counter()
    for g, p in zip(gold, predicted, strict=True):
        n_gold.update(s.label for s in g)
        n_pred.update(s.label for s in p)
        exact_tp.update(s.label for s in set(g) & set(p))
        unmatched = list(g)
        for span in p:
            hit = next(
                (s for s in unmatched if s.label == span.label and s.start < span.end and span.start < s.end),
                None,
            )
            if hit is not None:
                unmatched.remove(hit)
                overlap_tp[span.label] += 1
    labels = sorted(set(n_gold) | set(n_pred))
    return {
        "exact": _prf_table(labels, exact_tp, n_gold, n_pred),
        "overlap": _prf_table(labels, overlap_tp, n_gold, n_pred),
    }


def _prf(tp: int, gold: int, pred: int) -> dict[str, float | int]:
    precision = tp / pred if pred else 0.0
    recall = tp / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "support": gold}


def _prf_table(labels: list[str], tp: Counter[str], gold: Counter[str], pred: Counter[str]) -> dict:
    table = {label: _prf(tp[label], gold[label], pred[label]) for label in labels}
    table["micro avg"] = _prf(sum(tp.values()), sum(gold.values()), sum(pred.values()))
    rows = [table[label] for label in labels]
    table["macro avg"] = {
        k: round(sum(r[k] for r in rows) / len(rows), 4) if rows else 0.0
        for k in ("precision", "recall", "f1")
    } | {"support": sum(gold.values())}
    return table


def format_table(scores: dict[str, dict], title: str) -> str:
    lines = [f"{title:<12} {'precision':>9} {'recall':>7} {'f1':>7} {'support':>8}"]
    for name, row in scores.items():
        if name == "weighted avg":
            continue
        lines.append(
            f"{name:<12} {row['precision']:>9.4f} {row['recall']:>7.4f} {row['f1']:>7.4f} {row['support']:>8}"
        )
    return "\n".join(lines)


def format_comparison(columns: dict[str, dict]) -> str:
    """One row per label, one column per system, F1: the side-by-side view."""
    names = list(columns)
    rows = [r for r in next(iter(columns.values())) if r != "weighted avg"]
    lines = [f"{'label':<12}" + "".join(f"{n:>14}" for n in names)]
    for row in rows:
        cells = "".join(f"{columns[n].get(row, {}).get('f1', 0.0):>14.4f}" for n in names)
        lines.append(f"{row:<12}{cells}")
    return "\n".join(lines)


def document_scores(docs: Sequence[Document], predicted: Sequence[Sequence[Span]]) -> dict:
    """Everything we report on annotated documents: span scores (exact and
    overlap, per label), word-tag scores, and one row per document, so that a
    bad figure can be traced to the texts that make it.

    Predicted spans end on word edges, so the gold words (split at gold span
    edges) carry both: every word of every document is scored.
    """
    gold = [list(d.spans) for d in docs]
    scores = span_scores(gold, predicted)
    gold_words = [document_to_tags(d) for d in docs]
    scores["words"] = tag_scores(
        [g.tags for g in gold_words],
        [
            spans_to_tags(g.tokens, p, d.text, d.source)
            for g, p, d in zip(gold_words, predicted, docs, strict=True)
        ],
    )
    scores["per_document"] = [
        {
            "document": d.source or d.id,
            "gold": len(g),
            "predicted": len(p),
            **{kind: one[kind]["micro avg"]["f1"] for kind in ("exact", "overlap")},
        }
        for d, g, p in zip(docs, gold, predicted, strict=True)
        for one in [span_scores([g], [p])]
    ]
    return scores


def score_documents(tagger, docs: Sequence[Document]) -> tuple[dict, list[list[Span]]]:
    """Tag annotated raw documents as users' texts are tagged (``tagger`` is a
    ``kzner.Tagger``) and score them with ``document_scores``; the predicted
    spans come back too, for an error report."""
    predicted = [[e.span for e in entities] for entities in tagger.pipe([d.text for d in docs])]
    return document_scores(docs, predicted) | {"documents": len(docs)}, predicted


def format_documents(rows: Sequence[dict]) -> str:
    """The per-document rows of ``document_scores``, worst exact F1 first."""
    width = max([8, *(len(r["document"]) for r in rows)])
    lines = [f"{'document':<{width}} {'gold':>5} {'pred':>5} {'exact':>7} {'overlap':>8}"]
    for r in sorted(rows, key=lambda r: (r["exact"], r["document"])):
        counts = f"{r['gold']:>5} {r['predicted']:>5}"
        lines.append(f"{r['document']:<{width}} {counts} {r['exact']:>7.4f} {r['overlap']:>8.4f}")
    return "\n".join(lines)
