"""The CRF layer against brute force: every tag path of a short chain enumerated."""

from __future__ import annotations

import itertools

import pytest
import torch

from kzner.crf_layer import LinearChainCRF, pack_words
from kzner.features import IGNORE


@pytest.fixture
def layer() -> LinearChainCRF:
    torch.manual_seed(0)
    crf = LinearChainCRF(3)
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_()
    return crf


def _path_scores(crf: LinearChainCRF, emissions: torch.Tensor) -> dict[tuple[int, ...], float]:
    """Unnormalised score of every path through one row's [words, tags] scores."""
    words, tags = emissions.shape
    scores = {}
    crf = crf.requires_grad_(False)
    for path in itertools.product(range(tags), repeat=words):
        total = crf.start[path[0]] + crf.end[path[-1]] + sum(emissions[t, k] for t, k in enumerate(path))
        total += sum(crf.transitions[a, b] for a, b in itertools.pairwise(path))
        scores[path] = float(total)
    return scores


def test_likelihood_and_marginals_match_enumeration(layer: LinearChainCRF) -> None:
    emissions = torch.randn(2, 4, 3)
    mask = torch.tensor([[True, True, True, True], [True, True, False, False]])
    tags = torch.tensor([[0, 2, 1, 1], [1, 0, 0, 0]])
    marginals = layer.marginals(emissions, mask)
    for row, length in enumerate((4, 2)):
        scores = _path_scores(layer, emissions[row, :length])
        log_z = torch.logsumexp(torch.tensor(list(scores.values())), 0)
        gold = tuple(tags[row, :length].tolist())
        nll = layer.nll(emissions[row : row + 1], tags[row : row + 1], mask[row : row + 1])
        assert nll.item() == pytest.approx((log_z - scores[gold]).item(), abs=1e-4)
        for t in range(length):
            for k in range(3):
                expected = sum(torch.exp(torch.tensor(s) - log_z) for p, s in scores.items() if p[t] == k)
                assert marginals[row, t, k].item() == pytest.approx(expected.item(), abs=1e-5)


def test_loss_chains_only_the_labelled_positions(layer: LinearChainCRF) -> None:
    """Sub-token scores with words at positions 1, 3, 4 give the same loss as
    those three positions alone; a row with no labelled position adds nothing."""
    logits = torch.randn(2, 6, 3)
    labels = torch.full((2, 6), IGNORE)
    labels[0, [1, 3, 4]] = torch.tensor([2, 0, 1])
    words = logits[0, [1, 3, 4]].unsqueeze(0)
    alone = layer.nll(words, torch.tensor([[2, 0, 1]]), torch.ones(1, 3, dtype=torch.bool))
    assert layer.loss(logits, labels, IGNORE).item() == pytest.approx(alone.item(), abs=1e-5)


def test_word_distributions_are_marginals_at_words_and_softmax_elsewhere(layer: LinearChainCRF) -> None:
    logits = torch.randn(1, 5, 3)
    positions = torch.tensor([[False, True, False, True, False]])
    out = layer.word_distributions(logits, positions)
    chained = layer.marginals(logits[:, [1, 3]], torch.ones(1, 2, dtype=torch.bool))
    assert torch.allclose(out[0, [1, 3]], chained[0], atol=1e-6)
    assert torch.allclose(out[0, [0, 2, 4]], logits[0, [0, 2, 4]].softmax(-1))
    # Transitions change the words' distributions, not the other positions'.
    assert not torch.allclose(out[0, [1, 3]], logits[0, [1, 3]].softmax(-1), atol=1e-3)


def test_a_fresh_layer_is_the_softmax_head(layer: LinearChainCRF) -> None:
    logits = torch.randn(1, 4, 3)
    fresh = LinearChainCRF(3).word_distributions(logits, torch.ones(1, 4, dtype=torch.bool))
    assert torch.allclose(fresh, logits.softmax(-1), atol=1e-6)


def test_pack_words_keeps_order_and_trims() -> None:
    index, mask = pack_words(torch.tensor([[False, True, False, True], [True, False, False, False]]))
    assert index[0].tolist() == [1, 3] and mask.tolist() == [[True, True], [True, False]]
    assert index[1, 0].item() == 0


def test_saved_scores_load_back(layer: LinearChainCRF) -> None:
    again = LinearChainCRF.from_config(layer.to_config())
    for a, b in zip(layer.parameters(), again.parameters(), strict=True):
        assert torch.equal(a.detach(), b.detach())
