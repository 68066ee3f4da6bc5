from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kzner.align import document_from_words, document_to_tags, tags_to_spans
from kzner.document import LABELS, Document, Span
from kzner.tokenize import tokenize

# Characters that exercise the tokeniser: Kazakh letters, digits, «», %, -,
# NBSP, CR/LF, a character outside the BMP and a combining mark.
ALPHABET = "аәбғқңөұүһіAZ09«»%-,.()–\u00a0 \r\n\t𝔘\u0306"


@st.composite
def documents(draw: st.DrawFn) -> Document:
    text = draw(st.text(alphabet=ALPHABET, max_size=60))
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=8)))
    spans = []
    for start, end in zip(cuts[::2], cuts[1::2], strict=False):
        # Readers trim spans (counted as a warning), so spans here are trimmed too.
        piece = text[start:end]
        start, end = start + len(piece) - len(piece.lstrip()), end - len(piece) + len(piece.rstrip())
        if end > start:
            spans.append(Span(start, end, draw(st.sampled_from(LABELS))))
    return Document("doc", text, tuple(spans))


@settings(max_examples=400, deadline=None)
@given(documents())
def test_spans_to_tags_to_spans_is_identity(doc: Document) -> None:
    tagged = document_to_tags(doc)
    assert tags_to_spans(tagged.tokens, tagged.tags) == list(doc.spans)


def test_neighbouring_entities_of_one_label_stay_two() -> None:
    doc = Document("d", "Арал Шиелі", (Span(0, 4, "LOC"), Span(5, 10, "LOC")))
    tagged = document_to_tags(doc)
    assert tagged.tags == ["B-LOC", "B-LOC"]
    assert tags_to_spans(tagged.tokens, tagged.tags) == list(doc.spans)


def test_edge_inside_a_word_splits_it_and_is_counted() -> None:
    text = "AMANAT-тың мүшесі"
    tagged = document_to_tags(Document("d", text, (Span(0, 6, "ORG"),)))
    assert [t.text for t in tagged.tokens] == ["AMANAT", "-тың", "мүшесі"]
    assert tagged.tags == ["B-ORG", "O", "O"]
    assert tagged.words_split == 1


def test_stray_inside_tag_opens_an_entity() -> None:
    tokens = tokenize("a b c")
    assert tags_to_spans(tokens, ["O", "I-ORG", "I-LOC"]) == [Span(2, 3, "ORG"), Span(4, 5, "LOC")]


@pytest.mark.parametrize("tag", ["B-", "X-ORG", "O-ORG", "ORG"])
def test_bad_tags_are_refused(tag: str) -> None:
    with pytest.raises(ValueError, match="not an IOB2 tag"):
        tags_to_spans(tokenize("a"), [tag])


def test_document_rejects_overlap_and_out_of_range_naming_the_source() -> None:
    with pytest.raises(ValueError, match=r"f.json task 3: span \[2:5\] LOC overlaps \[0:4\] ORG"):
        Document("3", "abcdef", (Span(0, 4, "ORG"), Span(2, 5, "LOC")), source="f.json task 3")
    with pytest.raises(ValueError, match="outside the text"):
        Document("3", "abc", (Span(1, 9, "ORG"),))


def test_words_to_document() -> None:
    doc = document_from_words("s1", ["«", "Жайлы", "мектеп", "»"], ["O", "B-PROJECT", "I-PROJECT", "O"])
    assert doc.text == "« Жайлы мектеп »"
    assert [doc.span_text(s) for s in doc.spans] == ["Жайлы мектеп"]
