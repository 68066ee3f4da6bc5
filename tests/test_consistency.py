"""The consistency loss: which positions it reads, and that it measures the
distance from each sentence read alone."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoTokenizer, BertForTokenClassification

from kzner.consistency import NONE, SegmentCollator, consistency_loss, segments
from kzner.features import Encoded, Window

from .tiny_model import make_tiny_model, tiny_config

CLS, SEP, PAD = 1, 2, 3


def _encoded(sizes: list[int]) -> Encoded:
    word_ids = [word for word, size in enumerate(sizes) for _ in range(size)]
    first, at = [], 0
    for size in sizes:
        first.append(at)
        at += size
    return Encoded(list(range(10, 10 + len(word_ids))), word_ids, first)


def test_only_whole_sentences_of_a_shared_window_are_read() -> None:
    # Three sentences of 2, 1 and 2 words; pieces 0-2 | 3-4 | 5-7.
    encoded = _encoded([2, 1, 2, 1, 2])
    parts = (2, 1, 2)
    assert segments(encoded, parts, Window(0, 8)) == [NONE, 0, 0, 0, 1, 1, 2, 2, 2, NONE]
    # The third sentence cut by the window's end: only the first two are read.
    assert segments(encoded, parts, Window(0, 7)) == [NONE, 0, 0, 0, 1, 1, NONE, NONE, NONE]
    # A window that holds one sentence (or part of one) has no neighbours to be read among.
    assert set(segments(encoded, parts, Window(3, 5))) == {NONE}
    assert set(segments(encoded, (5,), Window(0, 8))) == {NONE}


def _model() -> BertForTokenClassification:
    torch.manual_seed(0)
    # Dropout this high would make two readings of one sentence differ, were the teacher read with it.
    config = tiny_config(40, PAD, num_labels=5, hidden_dropout_prob=0.5, attention_probs_dropout_prob=0.5)
    return BertForTokenClassification(config)


def _kl(teacher: torch.Tensor, student: torch.Tensor) -> torch.Tensor:
    p = teacher.log_softmax(-1)
    return (p.exp() * (p - student.log_softmax(-1))).sum(-1)


def test_the_loss_is_the_divergence_from_each_sentence_read_alone() -> None:
    model = _model()
    a, b = [11, 12], [13, 14, 15]
    parts = torch.tensor([[NONE, 0, 0, 1, 1, 1, NONE], [NONE] * 7])
    window = torch.tensor([[CLS, *a, *b, SEP], [CLS, 16, 17, 18, SEP, PAD, PAD]])
    model.eval()
    with torch.no_grad():
        in_context = model(input_ids=window, attention_mask=(window != PAD).long()).logits
        alone_a = model(input_ids=torch.tensor([[CLS, *a, SEP]])).logits[0, 1:-1]
        alone_b = model(input_ids=torch.tensor([[CLS, *b, SEP]])).logits[0, 1:-1]
    model.train()
    logits = in_context.clone().requires_grad_(True)
    loss = consistency_loss(model, window, parts, logits, (CLS, SEP, PAD))
    expected = torch.cat([_kl(alone_a, in_context[0, 1:3]), _kl(alone_b, in_context[0, 3:6])]).mean()
    assert loss.item() > 1e-4
    assert torch.allclose(loss, expected, atol=1e-6)
    # The same again (the sentences alone are read without dropout), the model left training.
    assert torch.allclose(
        consistency_loss(model, window, parts, logits, (CLS, SEP, PAD)), expected, atol=1e-6
    )
    assert model.training
    # Only the in-context reading learns from it: the sentences alone are the fixed target.
    loss.backward()
    assert logits.grad[0, 1:6].abs().sum() > 0 and logits.grad[1].abs().sum() == 0
    assert all(p.grad is None for p in model.parameters())
    # Read in the window as alone: no distance.
    same = in_context.clone()
    same[0, 1:3], same[0, 3:6] = alone_a, alone_b
    assert consistency_loss(model, window, parts, same, (CLS, SEP, PAD)).abs().item() < 1e-6
    # A batch with no shared window costs nothing.
    assert consistency_loss(model, window, torch.full_like(parts, NONE), logits, (CLS, SEP, PAD)).item() == 0


def test_segments_are_padded_beside_the_inputs(tmp_path: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(make_tiny_model(tmp_path, "аб"))
    assert (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id) == (CLS, SEP, PAD)
    rows = [
        {
            "input_ids": [CLS, 11, 12, SEP],
            "attention_mask": [1] * 4,
            "labels": [-100, 0, 0, -100],
            "segments": [NONE, 0, 1, NONE],
        },
        {
            "input_ids": [CLS, 11, SEP],
            "attention_mask": [1] * 3,
            "labels": [-100, 0, -100],
            "segments": [NONE] * 3,
        },
    ]
    batch = SegmentCollator(tokenizer)(rows)
    assert batch["segments"].tolist() == [[NONE, 0, 1, NONE], [NONE] * 4]
    assert batch["input_ids"].tolist() == [[CLS, 11, 12, SEP], [CLS, 11, SEP, PAD]]
    plain = SegmentCollator(tokenizer)([{k: v for k, v in r.items() if k != "segments"} for r in rows])
    assert "segments" not in plain


def test_training_rows_say_where_each_whole_sentence_lies(tmp_path: Path) -> None:
    from kzner.config import load_config
    from kzner.data import Sentence
    from kzner.train import training_features

    tokenizer = AutoTokenizer.from_pretrained(make_tiny_model(tmp_path, "аб"))
    alone = Sentence("d/0", ("аб", "ба"), ("B-GPE", "O"), ("B-LOC", "O"))
    window = Sentence("d/0+context", ("аб", "ба", "а"), ("B-GPE", "O", "O"), ("B-LOC", "O", "O"), (2, 1))
    label_ids = {"O": 0, "B-GPE": 1, "I-GPE": 2}
    on = training_features(tokenizer, [alone, window], label_ids, load_config(None, ["train.consistency=1"]))
    # <s> а ##б б ##а а </s>: the first sentence's four pieces, then the second's one.
    assert on["segments"] == [[NONE] * 6, [NONE, 0, 0, 0, 0, 1, NONE]]
    off = training_features(tokenizer, [alone, window], label_ids, load_config(None))
    assert "segments" not in off.column_names
