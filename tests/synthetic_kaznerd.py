"""A synthetic KazNERD train file, written as upstream ships it: the id-headed
``IOB2_train2.txt`` (what kzner reads) and its plain twin ``IOB2_train.txt``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kzner import kaznerd
from kzner.kaznerd import KaznerdSentence


def write_train_files(folder: Path, sentences: Sequence[KaznerdSentence]) -> None:
    with_ids = "".join(
        f"{s.id} O\n" + "".join(f"{w} {t}\n" for w, t in zip(s.words, s.tags, strict=True)) + "\n"
        for s in sentences
    )
    plain = "".join(
        "".join(f"{w} {t}\n" for w, t in zip(s.words, s.tags, strict=True)) + "\n" for s in sentences
    )
    (folder / kaznerd.TRAIN_FILE).write_text(with_ids, encoding="utf-8")
    (folder / kaznerd.TRAIN_PLAIN).write_text(plain, encoding="utf-8")


def train_sentences(
    valid: Sequence[KaznerdSentence], test: Sequence[KaznerdSentence], fresh: int
) -> list[KaznerdSentence]:
    """``fresh`` sentences (valid's words and tags under new variant groups),
    with a variant of valid's first sentence and of test's first among them:
    the two that the paper's split must leave out of training."""
    out = [KaznerdSentence(f"AID{9_000_000 + n}", s.words, s.tags) for n, s in enumerate(valid[:fresh])]
    out.insert(3, KaznerdSentence(f"FID{valid[0].group}", valid[0].words, valid[0].tags))
    out.insert(7, KaznerdSentence(f"FID{test[0].group}", test[0].words, test[0].tags))
    return out
