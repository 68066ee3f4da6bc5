"""Character spans <-> word-level IOB2 tags. Pure functions, no I/O.

Span edges are honoured exactly: where an edge falls inside a word, the word is
split there (and counted), never the span moved, so that tags -> spans gives
back the very offsets an annotator chose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kzner.document import Document, Span
from kzner.tokenize import Token, split_at, tokenize

OUTSIDE = "O"


@dataclass(frozen=True)
class TaggedWords:
    tokens: list[Token]
    tags: list[str]
    # How many span edges fell inside a word and split it.
    words_split: int


def document_to_tags(doc: Document) -> TaggedWords:
    """Tokenise a document and tag its words with IOB2.

    >>> from kzner.document import Span
    >>> doc = Document("d", "«Жайлы мектеп» жобасы", (Span(1, 13, "PROJECT"),))
    >>> document_to_tags(doc).tags
    ['O', 'B-PROJECT', 'I-PROJECT', 'O', 'O']
    """
    cuts = {edge for span in doc.spans for edge in (span.start, span.end)}
    tokens, words_split = split_at(tokenize(doc.text), cuts)
    tags = spans_to_tags(tokens, doc.spans, doc.text, doc.source or doc.id)
    return TaggedWords(tokens, tags, words_split)


def spans_to_tags(tokens: Sequence[Token], spans: Sequence[Span], text: str, where: str = "") -> list[str]:
    """IOB2 tags of ``tokens`` for sorted, non-overlapping ``spans`` whose edges
    fall on token edges (as after ``split_at``); a span covering no token is an error."""
    tags = [OUTSIDE] * len(tokens)
    i = 0
    for span in spans:
        while i < len(tokens) and tokens[i].end <= span.start:
            i += 1
        first = True
        while i < len(tokens) and tokens[i].end <= span.end:
            tags[i] = ("B-" if first else "I-") + span.label
            first = False
            i += 1
        if first:
            raise ValueError(
                f"{where}: span [{span.start}:{span.end}] {span.label} "
                f"covers no word: {text[span.start : span.end]!r}"
            )
    return tags


def document_from_words(doc_id: str, words: Sequence[str], tags: Sequence[str], source: str = "") -> Document:
    """A pre-tokenised sentence as a Document: words joined by single spaces.

    For sources that come as words and tags only (KazNERD, CoNLL exports): the
    joined text is the best original we have, and its spans come from the tags.
    """
    tokens: list[Token] = []
    offset = 0
    for word in words:
        tokens.append(Token(word, offset, offset + len(word)))
        offset += len(word) + 1
    spans = tags_to_spans(tokens, tags)
    return Document(doc_id, " ".join(words), tuple(spans), source=source)


def tags_to_spans(tokens: Sequence[Token], tags: Sequence[str]) -> list[Span]:
    """Read entities back from IOB2 tags.

    A ``B-`` always opens a new entity, so two neighbouring entities of one
    label stay two. An ``I-X`` that does not continue an ``X`` opens one too
    (models do emit those; dropping them would hide real predictions).

    >>> toks = tokenize("Арал ауданы Арал")
    >>> tags_to_spans(toks, ["B-LOC", "O", "I-LOC"])
    [Span(start=0, end=4, label='LOC'), Span(start=12, end=16, label='LOC')]
    """
    if len(tokens) != len(tags):
        raise ValueError(f"{len(tokens)} tokens but {len(tags)} tags")
    spans: list[Span] = []
    start = end = -1
    label = None
    for token, tag in zip(tokens, tags, strict=True):
        prefix, _, tag_label = tag.partition("-")
        if prefix not in ("B", "I", OUTSIDE) or (prefix == OUTSIDE) == bool(tag_label):
            raise ValueError(f"not an IOB2 tag: {tag!r}")
        if prefix == "I" and tag_label == label:
            end = token.end
            continue
        if label is not None:
            spans.append(Span(start, end, label))
            label = None
        if prefix != OUTSIDE:
            start, end, label = token.start, token.end, tag_label
    if label is not None:
        spans.append(Span(start, end, label))
    return spans
