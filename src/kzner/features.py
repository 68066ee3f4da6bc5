"""Words and tags -> sub-token model inputs, and sub-token outputs -> words.

Only the first sub-token of a word carries its label (HF's ``run_ner`` rule);
with ``label_all_tokens`` the rest carry it too, B- moved to I- (``run_ner``'s
``b_to_i_label``), so a word's pieces read as one entity piece by piece, as
HF's ``"simple"`` aggregation reads them. A sentence longer than the model's
window becomes several overlapping windows that start on word boundaries, so
no word is ever truncated away: in training every word is labelled in some
window, and at prediction every word takes its label from the window where it
sits furthest from an edge (more context on both sides), ties to the earlier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kzner.spelling import as_read

IGNORE = -100  # the label id PyTorch's cross-entropy skips
# What shares a window at prediction: each sentence its own (sentence), or a
# document's consecutive sentences packed up to the window (paragraph; ``pack``).
CONTEXTS = ("sentence", "paragraph")


@dataclass(frozen=True)
class Encoded:
    """A sentence's words as sub-tokens, without special tokens."""

    ids: list[int]
    word_ids: list[int]  # word index of each sub-token
    first: list[int]  # position of each word's first sub-token, -1 if it has none


@dataclass(frozen=True)
class Window:
    start: int  # sub-token range [start, end) of the sentence
    end: int


def encode_sentences(tokenizer, sentences: Sequence[Sequence[str]]) -> list[Encoded]:
    """Sub-tokens of many sentences from one tokenizer call: a fast tokenizer
    encodes a batch in parallel in Rust, far faster than a call per sentence.
    Words are read as kzner.spelling reads them (no soft hyphen, ``і`` for
    a Latin ``i`` in a Kazakh word), in training and at prediction alike."""
    encoded = [Encoded([], [], []) for _ in sentences]
    filled = [i for i, words in enumerate(sentences) if words]
    if not filled:
        return encoded
    batch = tokenizer(
        [[as_read(word) for word in sentences[i]] for i in filled],
        is_split_into_words=True,
        add_special_tokens=False,
        # Long sentences are windowed below: the "longer than model_max_length" warning is not ours.
        verbose=False,
    )
    for row, i in enumerate(filled):
        word_ids = batch.word_ids(row)
        first = [-1] * len(sentences[i])
        for position, word in enumerate(word_ids):
            if first[word] < 0:
                first[word] = position
        encoded[i] = Encoded(batch["input_ids"][row], list(word_ids), first)
    return encoded


def join(parts: Sequence[Encoded]) -> Encoded:
    """Consecutive sentences as one: each word is encoded on its own, so this
    is what encoding their words together gives, without a second tokenizer call.

    >>> join([Encoded([5, 6], [0, 0], [0]), Encoded([7], [1], [-1, 0])])  # a word without pieces
    Encoded(ids=[5, 6, 7], word_ids=[0, 0, 2], first=[0, -1, 2])
    """
    ids, word_ids, first = [], [], []
    for part in parts:
        first += [p + len(ids) if p >= 0 else -1 for p in part.first]
        word_ids += [w + len(first) - len(part.first) for w in part.word_ids]
        ids += part.ids
    return Encoded(ids, word_ids, first)


def plan_windows(encoded: Encoded, budget: int, stride: int) -> list[Window]:
    """Cover all sub-tokens with windows of at most ``budget``, overlapping by
    about ``stride``, each starting at a word's first sub-token where possible.

    >>> enc = Encoded(list(range(10)), [0, 0, 1, 2, 2, 2, 3, 4, 5, 5], [0, 2, 3, 6, 7, 8])
    >>> plan_windows(enc, budget=6, stride=2)  # word 5 (sub-tokens 8-9) is not cut
    [Window(start=0, end=6), Window(start=3, end=8), Window(start=6, end=10)]
    """
    if budget <= stride:
        raise ValueError(f"window budget {budget} must exceed the stride {stride}")
    n = len(encoded.ids)
    starts = sorted({p for p in encoded.first if p >= 0})
    windows: list[Window] = []
    start = 0
    while True:
        end = min(start + budget, n)
        if end < n:
            # End on a word boundary unless one word alone fills the window.
            end = max((s for s in starts if start < s <= end), default=end)
        windows.append(Window(start, end))
        if end >= n:
            return windows
        wanted = end - stride
        start = max((s for s in starts if start < s <= wanted), default=end)


def pack(lengths: Sequence[int], budget: int) -> list[range]:
    """Consecutive items grouped greedily so each group's lengths sum to at
    most ``budget`` (an item longer than that stands alone): sentences of
    one document sharing a window.

    >>> pack([3, 4, 2, 9, 1], budget=7)
    [range(0, 2), range(2, 3), range(3, 4), range(4, 5)]
    """
    groups: list[range] = []
    start, used = 0, 0
    for n, length in enumerate(lengths):
        if n > start and used + length > budget:
            groups.append(range(start, n))
            start, used = n, 0
        used += length
    if lengths:
        groups.append(range(start, len(lengths)))
    return groups


def window_features(
    tokenizer,
    encoded: Encoded,
    window: Window,
    tag_ids: Sequence[int] | None,
    continuation_ids: Sequence[int] | None = None,
) -> dict[str, list[int]]:
    """Model inputs for one window, with ``<s>``/``</s>`` and labels when tags
    are given; a word's later pieces are labelled only with ``continuation_ids``."""
    ids = [tokenizer.cls_token_id, *encoded.ids[window.start : window.end], tokenizer.sep_token_id]
    features = {"input_ids": ids, "attention_mask": [1] * len(ids)}
    if tag_ids is not None:
        labels = [IGNORE]
        for position in range(window.start, window.end):
            word = encoded.word_ids[position]
            is_first = encoded.first[word] == position
            if is_first:
                labels.append(tag_ids[word])
            else:
                labels.append(IGNORE if continuation_ids is None else continuation_ids[word])
        labels.append(IGNORE)
        features["labels"] = labels
    return features


def owner_windows(encoded: Encoded, windows: Sequence[Window]) -> list[int]:
    """For each word, the index of the window its prediction is read from
    (-1 for a word with no sub-tokens, which is then predicted O)."""
    owners = []
    for position in encoded.first:
        best, best_margin = -1, -1
        for index, w in enumerate(windows):
            if w.start <= position < w.end:
                margin = min(position - w.start, w.end - 1 - position)
                if margin > best_margin:
                    best, best_margin = index, margin
        owners.append(best)
    return owners
