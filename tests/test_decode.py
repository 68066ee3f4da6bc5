from __future__ import annotations

import itertools

import numpy as np
import pytest

from kzner.decode import allowed_transitions, decode, viterbi
from kzner.errors import KznerError

TAGS = ["O", "B-ORG", "I-ORG", "B-PROJECT", "I-PROJECT"]


def valid(path: list[int]) -> bool:
    moves, start = allowed_transitions(TAGS)
    return bool(start[path[0]]) and all(moves[a, b] for a, b in zip(path, path[1:], strict=False))


def test_an_entity_keeps_one_label() -> None:
    # «Қарызсыз қоғам», as the KazNERD-only model saw it: I-ORG 0.52 after B-PROJECT.
    probs = np.array(
        [
            [0.07, 0.05, 0.0, 0.88, 0.0],
            [0.22, 0.0, 0.52, 0.0, 0.26],
        ]
    )
    assert decode(probs, TAGS, "argmax") == [3, 2]
    assert [TAGS[i] for i in viterbi(probs, TAGS)] == ["B-PROJECT", "I-PROJECT"]


def test_never_starts_with_inside_or_follows_o_with_inside() -> None:
    probs = np.array([[0.3, 0.1, 0.6, 0.0, 0.0], [0.6, 0.0, 0.0, 0.0, 0.4], [0.2, 0.1, 0.0, 0.0, 0.7]])
    # argmax: I-ORG, O, I-PROJECT; both I- tags are forbidden where they stand.
    assert [TAGS[i] for i in viterbi(probs, TAGS)] == ["O", "O", "O"]


@pytest.mark.parametrize("seed", range(20))
def test_viterbi_is_the_best_valid_sequence(seed: int) -> None:
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(len(TAGS)) * 0.5, size=4)
    best = max(
        (p for p in itertools.product(range(len(TAGS)), repeat=4) if valid(list(p))),
        key=lambda p: sum(np.log(probs[i, t]) for i, t in enumerate(p)),
    )
    assert viterbi(probs, TAGS) == list(best)


@pytest.mark.parametrize("seed", range(20))
def test_decoding_takes_the_argmax_only_where_the_search_would(seed: int) -> None:
    # Both paths: the argmax of 3 of these 20 sentences is allowed, of the rest not.
    probs = np.random.default_rng(seed).dirichlet(np.ones(len(TAGS)) * 0.3, size=6)
    assert decode(probs, TAGS) == viterbi(probs, TAGS)


def test_a_valid_argmax_is_kept_and_empty_sentences_decode() -> None:
    probs = np.array([[0.1, 0.8, 0.1, 0.0, 0.0], [0.1, 0.0, 0.9, 0.0, 0.0], [0.9, 0.1, 0.0, 0.0, 0.0]])
    assert viterbi(probs, TAGS) == decode(probs, TAGS, "argmax") == [1, 2, 0]
    assert decode(np.zeros((0, len(TAGS))), TAGS) == []
    with pytest.raises(KznerError, match="unknown decoder 'beam'"):
        decode(probs, TAGS, "beam")
