"""A sentence read among its neighbours should get the tags it gets alone.

`kzner predict` reads each sentence alone; a plain transformers pipeline
handed a whole document reads it among its neighbours, and where the two
readings differ, so do their entities. Training learns both readings against
the gold tags (``data.context_fraction``); with ``train.consistency`` it also
learns the distance between them: for every whole sentence in a context
window, the KL divergence from its sentence-alone distribution (a forward
pass without gradient or dropout, held fixed) to its in-context one, so the
context reading moves towards the reading kzner gives, errors included.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import DataCollatorForTokenClassification

from kzner.features import Encoded, Window

NONE = -1  # a position outside any whole sentence of a context window


def segments(encoded: Encoded, parts: Sequence[int], window: Window) -> list[int]:
    """For each position of ``window``'s features (``<s>`` and ``</s>`` included),
    which of the window's sentences it belongs to, for sentences wholly inside
    it; ``NONE`` elsewhere, and everywhere when the window holds one sentence."""
    part_of_word = [p for p, count in enumerate(parts) for _ in range(count)]
    span: dict[int, list[int]] = {}
    for position, word in enumerate(encoded.word_ids):
        span.setdefault(part_of_word[word], [position, position])[1] = position
    part_at = [part_of_word[encoded.word_ids[position]] for position in range(window.start, window.end)]
    whole = {part for part in part_at if window.start <= span[part][0] and span[part][1] < window.end}
    if len(set(part_at)) < 2:
        whole = set()
    return [NONE, *(part if part in whole else NONE for part in part_at), NONE]


class SegmentCollator:
    """HF's token-classification collator, each row's segments padded beside it."""

    def __init__(self, tokenizer) -> None:  # noqa: ANN001
        self.inner = DataCollatorForTokenClassification(tokenizer)

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        if "segments" not in features[0]:
            return self.inner(features)
        rows = [f["segments"] for f in features]
        batch = self.inner([{k: v for k, v in f.items() if k != "segments"} for f in features])
        width = batch["input_ids"].shape[1]
        batch["segments"] = torch.tensor([row + [NONE] * (width - len(row)) for row in rows])
        return batch


def consistency_loss(
    model,  # noqa: ANN001
    input_ids: torch.Tensor,
    segments: torch.Tensor,
    logits: torch.Tensor,
    special: tuple[int, int, int],
) -> torch.Tensor:
    """Mean KL divergence, per position of a whole sentence in a context
    window, from the sentence read alone to the sentence read in the window.
    ``special`` is the tokenizer's ``<s>``, ``</s>`` and pad ids."""
    places = [
        (row, (segments[row] == part).nonzero(as_tuple=True)[0])
        for row in range(segments.shape[0])
        for part in segments[row].unique().tolist()
        if part != NONE
    ]
    if not places:
        return logits.new_zeros(())
    cls, sep, pad = special
    alone = [
        torch.cat([input_ids.new_tensor([cls]), input_ids[row, where], input_ids.new_tensor([sep])])
        for row, where in places
    ]
    ids = torch.nn.utils.rnn.pad_sequence(alone, batch_first=True, padding_value=pad)
    mask = torch.nn.utils.rnn.pad_sequence(
        [torch.ones_like(a) for a in alone], batch_first=True, padding_value=0
    )
    training = model.training
    model.eval()
    with torch.no_grad():
        teacher = model(input_ids=ids, attention_mask=mask).logits.float().log_softmax(-1)
    model.train(training)
    target = torch.cat([teacher[i, 1 : 1 + len(where)] for i, (_, where) in enumerate(places)])
    student = torch.cat([logits[row, where] for row, where in places]).float().log_softmax(-1)
    return torch.nn.functional.kl_div(student, target, log_target=True, reduction="batchmean")
