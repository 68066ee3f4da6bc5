"""The Tagger on a model whose output depends on its input: at window
position p holding token id t, all of the tag mass is on tag (p + t) mod 13.
So each word's predicted tag tells which window it was read from, and
stitching, precisions and batching can be checked exactly."""

from __future__ import annotations

import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer

from kzner.document import LABELS
from kzner.errors import KznerError
from kzner.features import encode_sentences, plan_windows
from kzner.predict import Tagger
from kzner.tagset import iob_tags

from .tiny_model import make_tiny_model

TAGS = len(iob_tags(LABELS))  # 13
MAX_LENGTH, STRIDE = 12, 4  # windows of 10 sub-tokens between <s> and </s>


class PositionTagger(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.config = SimpleNamespace(id2label=dict(enumerate(iob_tags(LABELS))))
        self.head = torch.nn.Linear(TAGS, TAGS, bias=False)
        with torch.no_grad():
            self.head.weight.copy_(torch.eye(TAGS) * 10)
        # Stays a plain parameter under int8 quantisation: the Tagger reads the device from it.
        self.anchor = torch.nn.Parameter(torch.zeros(1), requires_grad=False)

    def forward(self, input_ids: torch.Tensor, **_: torch.Tensor) -> SimpleNamespace:
        positions = torch.arange(input_ids.shape[1]).expand_as(input_ids)
        code = torch.nn.functional.one_hot((positions + input_ids) % TAGS, TAGS).to(self.anchor.dtype)
        return SimpleNamespace(logits=self.head(code) * self.certainty(input_ids)[..., None])

    def certainty(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Sure (1) of every token; see HesitantTagger."""
        return torch.ones_like(input_ids, dtype=self.anchor.dtype)


class HesitantTagger(PositionTagger):
    """Unsure of odd token ids: their tag distribution is nearly flat."""

    def certainty(self, input_ids: torch.Tensor) -> torch.Tensor:
        return torch.where(input_ids % 2 == 1, 0.05, 1.0).to(self.anchor.dtype)


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    letters = "абвгдеж"
    return AutoTokenizer.from_pretrained(make_tiny_model(tmp_path_factory.mktemp("tok") / "m", letters))


def sentence(n: int, seed: int = 7) -> list[str]:
    """Words of 1-3 sub-tokens (one per character) of varied letters, drawn
    with a seed: no period that the windows' step could line up with."""
    rng = random.Random(seed + n)
    return ["".join(rng.choice("абвгдеж") for _ in range(rng.randint(1, 3))) for _ in range(n)]


def expected_tags(tokenizer, words: list[str]) -> list[set[int]]:
    """Per word, the tags it may get: read at its first sub-token in the window
    where that sub-token sits furthest from an edge (ties: any of them)."""
    (enc,) = encode_sentences(tokenizer, [words])
    windows = plan_windows(enc, MAX_LENGTH - 2, STRIDE)
    assert len(windows) >= 4, "the sentence must span several overlapping windows"
    allowed = []
    for first in enc.first:
        holding = [w for w in windows if w.start <= first < w.end]
        margin = {w: min(first - w.start, w.end - 1 - first) for w in holding}
        best = max(margin.values())
        allowed.append({(first - w.start + 1 + enc.ids[first]) % TAGS for w in holding if margin[w] == best})
    return allowed


def variants() -> dict[str, torch.nn.Module]:
    return {
        "fp32": PositionTagger(),
        "bf16": PositionTagger().to(torch.bfloat16),
        "int8": torch.ao.quantization.quantize_dynamic(
            PositionTagger(), {torch.nn.Linear}, dtype=torch.qint8
        ),
    }


@pytest.mark.parametrize("precision", ["fp32", "bf16", "int8"])
def test_each_word_is_read_from_the_window_where_it_sits_furthest_from_an_edge(
    tokenizer, precision: str
) -> None:
    tagger = Tagger(variants()[precision], tokenizer, LABELS, MAX_LENGTH, STRIDE, batch_size=3)
    sentences = [sentence(40), sentence(7), sentence(23)]
    for words, rows in zip(sentences, tagger.word_probabilities(sentences), strict=True):
        got = rows.argmax(1).tolist()
        wanted = expected_tags(tokenizer, words) if len(words) > 7 else None
        if wanted is None:  # one window: each word at its own position
            continue
        misses = [(i, g, w) for i, (g, w) in enumerate(zip(got, wanted, strict=True)) if g not in w]
        assert not misses, misses[:5]
        assert np.allclose(rows.sum(1), 1.0, atol=1e-2)


def test_batch_size_does_not_change_what_a_word_gets(tokenizer) -> None:
    tagger = Tagger(PositionTagger(), tokenizer, LABELS, MAX_LENGTH, STRIDE)
    sentences = [sentence(n) for n in (3, 40, 11, 25)]
    one = tagger.word_probabilities(sentences, batch_size=1)
    many = tagger.word_probabilities(sentences, batch_size=64)
    assert all(np.array_equal(a.argmax(1), b.argmax(1)) for a, b in zip(one, many, strict=True))


class WidthRecorder(PositionTagger):
    """Notes the rows and padded width of every batch it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.widths: list[int] = []
        self.rows: list[int] = []

    def forward(self, input_ids: torch.Tensor, **rest: torch.Tensor) -> SimpleNamespace:
        self.rows.append(input_ids.shape[0])
        self.widths.append(input_ids.shape[1])
        return super().forward(input_ids, **rest)


def test_batches_go_to_the_model_longest_first(tokenizer) -> None:
    # Growing batches fragment the heap (see Tagger._probabilities): the
    # widest batch must come first, every later one no wider.
    model = WidthRecorder()
    tagger = Tagger(model, tokenizer, LABELS, MAX_LENGTH, STRIDE, batch_size=2)
    tagger.word_probabilities([sentence(n) for n in (1, 2, 40, 3, 1, 2)])
    assert len(model.widths) > 3 and model.widths[0] == MAX_LENGTH and min(model.widths) < MAX_LENGTH
    assert model.widths == sorted(model.widths, reverse=True)


def test_half_precision_batches_hold_more_windows_unless_told(tokenizer) -> None:
    # A bf16 matrix product on the CPU repacks its weights at every call
    # (kzner.predict.batch_windows): more windows a call share that cost.
    sentences = [sentence(n % 7 + 1) for n in range(100)]
    rows = {}
    for dtype, size in ((torch.float32, None), (torch.bfloat16, None), (torch.bfloat16, 5)):
        model = WidthRecorder().to(dtype)
        Tagger(model, tokenizer, LABELS, MAX_LENGTH, STRIDE, batch_size=size).word_probabilities(sentences)
        rows[dtype, size] = model.rows
    assert max(rows[torch.float32, None]) == 16 and max(rows[torch.bfloat16, None]) == 48
    assert max(rows[torch.bfloat16, 5]) == 5
    assert len({sum(r) for r in rows.values()}) == 1  # the same windows, batched otherwise


def test_half_precision_batches_are_padded_to_multiples_of_8(tokenizer) -> None:
    # oneDNN keeps a bf16 kernel per input shape (kzner.predict.pad_multiple);
    # fp32 pads only to the batch's longest window.
    sentences = [sentence(n) for n in (1, 2, 40, 3, 5, 9)]
    widths = {}
    for dtype in (torch.float32, torch.bfloat16):
        model = WidthRecorder().to(dtype)
        Tagger(model, tokenizer, LABELS, MAX_LENGTH, STRIDE, batch_size=2).word_probabilities(sentences)
        widths[dtype] = model.widths
    assert any(w % 8 for w in widths[torch.float32])
    assert all(w % 8 == 0 for w in widths[torch.bfloat16])
    assert [-(-w // 8) * 8 for w in widths[torch.float32]] == widths[torch.bfloat16]


def test_uncertainty_ranks_documents_by_how_unsure_the_model_is(tokenizer) -> None:
    tagger = Tagger(HesitantTagger(), tokenizer, LABELS, MAX_LENGTH, STRIDE)
    odd = {c for c in "абвгдеж" if tokenizer.convert_tokens_to_ids(c) % 2 == 1}
    assert odd and len(odd) < 7
    unsure, sure = sorted(odd)[0], sorted(set("абвгдеж") - odd)[0]
    texts = {
        "sure": f"{sure}а {sure}б {sure}в",
        "mixed": f"{unsure}а {sure}б {unsure}в {sure}г",
        "unsure": f"{unsure}а {unsure}б {unsure}в",
    }
    scores = dict(zip(texts, tagger.uncertainty(list(texts.values())), strict=True))
    assert scores["unsure"] > scores["mixed"] > scores["sure"] >= 0
    assert scores["unsure"] > 2.0 and scores["sure"] < 0.01  # ln 13 = 2.56: flat; one-hot: 0


def test_paragraph_context_shares_windows_within_a_document_only(tokenizer) -> None:
    model = PositionTagger()
    short, shorter, long = ["а", "бв", "г"], ["д", "е"], sentence(30, seed=3)
    lengths = [len(e.ids) for e in encode_sentences(tokenizer, [short, shorter, long])]
    assert lengths[0] + lengths[1] <= MAX_LENGTH - 2 < lengths[0] + lengths[1] + lengths[2]
    alone = Tagger(model, tokenizer, LABELS, MAX_LENGTH, STRIDE)
    packed = Tagger(model, tokenizer, LABELS, MAX_LENGTH, STRIDE, context="paragraph")
    rows = packed.document_probabilities([[short, shorter, long]])
    # The two short sentences are read from one window, the long one from its own.
    np.testing.assert_array_equal(np.concatenate(rows[:2]), alone.word_probabilities([short + shorter])[0])
    np.testing.assert_array_equal(rows[2], alone.word_probabilities([long])[0])
    assert not np.array_equal(rows[1], alone.word_probabilities([shorter])[0])
    # Sentences of different documents never share a window.
    apart = packed.document_probabilities([[short], [shorter]])
    np.testing.assert_array_equal(apart[1], alone.word_probabilities([shorter])[0])
    assert alone.document_probabilities([[short, shorter]])[1].shape == rows[1].shape
    with pytest.raises(KznerError, match="context"):
        Tagger(model, tokenizer, LABELS, MAX_LENGTH, STRIDE, context="page")
