from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kzner.document import Span
from kzner.errors import KznerError
from kzner.evaluate import span_scores, tag_scores
from kzner.features import IGNORE, Encoded, owner_windows, plan_windows, window_features
from kzner.tagset import TagSet, iob_tags


@st.composite
def encodings(draw: st.DrawFn) -> Encoded:
    """Random sentences: words of 0-5 sub-tokens (0: a word the tokenizer drops)."""
    sizes = draw(st.lists(st.integers(0, 5), min_size=1, max_size=60))
    word_ids, first = [], []
    for word, size in enumerate(sizes):
        first.append(len(word_ids) if size else -1)
        word_ids.extend([word] * size)
    return Encoded(list(range(len(word_ids))), word_ids, first)


@settings(max_examples=300, deadline=None)
@given(encodings(), st.integers(4, 20), st.integers(0, 6))
def test_windows_cover_everything_and_every_word_has_one_owner(
    enc: Encoded, budget: int, stride: int
) -> None:
    # Skipped draws are counted by hypothesis (too many fail the health check), not passed silently.
    assume(stride < budget and enc.ids)
    windows = plan_windows(enc, budget, stride)
    assert windows[0].start == 0 and windows[-1].end == len(enc.ids)
    for a, b in zip(windows, windows[1:], strict=False):
        assert a.start < b.start <= a.end  # progress, and no gap
    assert all(w.end - w.start <= budget for w in windows)
    owners = owner_windows(enc, windows)
    for word, owner in enumerate(owners):
        if enc.first[word] < 0:
            assert owner == -1
        else:
            w = windows[owner]
            assert w.start <= enc.first[word] < w.end


class FakeTokenizer:
    cls_token_id, sep_token_id = 100, 101


def test_first_sub_token_labelled_unless_continuations_given() -> None:
    enc = Encoded([5, 6, 7, 8], [0, 0, 1, 1], [0, 2])
    window = plan_windows(enc, 10, 2)[0]
    f = window_features(FakeTokenizer(), enc, window, [3, 4])
    assert f["input_ids"] == [100, 5, 6, 7, 8, 101]
    assert f["labels"] == [IGNORE, 3, IGNORE, 4, IGNORE, IGNORE]
    f = window_features(FakeTokenizer(), enc, window, [3, 4], continuation_ids=[9, 4])
    assert f["labels"] == [IGNORE, 3, 9, 4, 4, IGNORE]


def test_tagset_folds_kaznerd_classes_into_ours() -> None:
    source = ["O", "B-GPE", "I-GPE", "B-LOCATION", "I-LOCATION", "B-PERSON", "I-PERSON"]
    tagset = TagSet.build(source, ["ORG", "LOC"], {"GPE": "LOC", "LOCATION": "LOC"})
    assert tagset.folded_names() == {0: "O", 1: "B-LOC", 2: "I-LOC", 3: "B-LOC", 4: "I-LOC", 5: "O", 6: "O"}
    matrix = tagset.fold_matrix()
    assert matrix.shape == (7, 5) and (matrix.sum(1) == 1).all()
    again = TagSet.from_id2label(tagset.folded_names(), ["ORG", "LOC"])
    assert again.fold == tagset.fold
    assert iob_tags(["ORG"]) == ["O", "B-ORG", "I-ORG"]


def test_model_from_another_label_set_is_refused() -> None:
    import pytest

    with pytest.raises(KznerError, match=r"tags outside the label set .*\['B-PER'\]"):
        TagSet.from_id2label({0: "O", 1: "B-PER"}, ["ORG"])


def test_strict_and_default_modes_differ_on_broken_sequences() -> None:
    gold = [["B-ORG", "I-ORG", "O"]]
    predicted = [["I-ORG", "I-ORG", "O"]]  # a stray I-: default mode repairs it, strict does not
    scores = tag_scores(gold, predicted)
    assert scores["strict"]["micro avg"]["f1"] == 0.0
    assert scores["default"]["micro avg"]["f1"] == 1.0


def test_span_scores_exact_and_overlap() -> None:
    gold = [[Span(0, 10, "ORG"), Span(20, 25, "LOC")]]
    predicted = [[Span(0, 8, "ORG"), Span(20, 25, "LOC"), Span(30, 35, "LOC")]]
    scores = span_scores(gold, predicted)
    assert scores["exact"]["micro avg"] == {"precision": 0.3333, "recall": 0.5, "f1": 0.4, "support": 2}
    assert scores["overlap"]["ORG"]["f1"] == 1.0
    assert scores["overlap"]["LOC"]["precision"] == 0.5


def test_label_all_tokens_moves_b_to_i_on_later_pieces(tiny_base) -> None:
    from transformers import AutoTokenizer

    from kzner.config import load_config
    from kzner.data import Sentence
    from kzner.train import training_features

    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    words = ("Қызылорда", "облысы", "мен", "Арал")
    tags = ("B-GPE", "I-GPE", "O", "B-GPE")
    encoded = tokenizer(list(words), is_split_into_words=True)
    assert len(encoded["input_ids"]) > len(words) + 2, "every word one piece: the test proves nothing"
    label_ids = {"O": 0, "B-GPE": 1, "I-GPE": 2}
    sentence = Sentence("s", words, tags, tags)
    for label_all, later in ((False, {-100}), (True, {0, 2})):
        config = load_config(None, [f"model.label_all_tokens={str(label_all).lower()}"])
        labels = training_features(tokenizer, [sentence], label_ids, config)[0]["labels"]
        word_ids = encoded.word_ids()
        firsts = [i for i, w in enumerate(word_ids) if w is not None and word_ids.index(w) == i]
        assert [labels[i] for i in firsts] == [1, 2, 0, 1]
        rest = [labels[i] for i, w in enumerate(word_ids) if w is not None and i not in firsts]
        assert set(rest) <= later and (not label_all or 2 in rest)
        for i, w in enumerate(word_ids):
            if w is not None and i not in firsts and label_all:
                assert labels[i] == label_ids[tags[w].replace("B-", "I-")]
