"""A linear-chain CRF on word features: the baseline the transformer must beat.

Trained on exactly the transformer's training sentences (our six labels) and
scored on the same test set, so the two figures in a report are comparable.
python-crfsuite is the CRFsuite engine that sklearn-crfsuite wraps; we call it
directly and skip scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pycrfsuite


def _shape(word: str) -> str:
    out = []
    for ch in word:
        kind = "X" if ch.isupper() else "x" if ch.isalpha() else "d" if ch.isdigit() else ch
        if not out or out[-1] != kind:
            out.append(kind)
    return "".join(out)


def _word(word: str, prefix: str) -> dict[str, str | bool]:
    lower = word.lower()
    return {
        f"{prefix}lower": lower,
        f"{prefix}suf3": lower[-3:],
        f"{prefix}shape": _shape(word),
        f"{prefix}title": word[:1].isupper(),
    }


def sentence_features(words: Sequence[str]) -> list[dict[str, str | bool]]:
    """Per word: the word itself (form, prefixes, suffixes, shape) and its
    neighbours two either side; Kazakh case suffixes make suffixes telling."""
    features = []
    for i, word in enumerate(words):
        lower = word.lower()
        f: dict[str, str | bool] = {
            "bias": True,
            "word": lower,
            "pre2": lower[:2],
            "pre3": lower[:3],
            "suf2": lower[-2:],
            "suf3": lower[-3:],
            "suf4": lower[-4:],
            "shape": _shape(word),
            "title": word[:1].isupper(),
            "upper": word.isupper(),
            "digit": word.isdigit(),
            "has_digit": any(c.isdigit() for c in word),
            "hyphen": "-" in word,
            "quote_open": word in '«"“',
            "quote_close": word in '»"”',
        }
        for offset in (-2, -1, 1, 2):
            j = i + offset
            if 0 <= j < len(words):
                f.update(_word(words[j], f"{offset:+d}:"))
            else:
                f[f"{offset:+d}:edge"] = True
        features.append(f)
    return features


def train_crf(
    sentences: Sequence[tuple[Sequence[str], Sequence[str]]],
    path: Path,
    c1: float = 0.05,
    c2: float = 0.05,
    max_iterations: int = 150,
) -> Path:
    trainer = pycrfsuite.Trainer(verbose=False)
    for words, tags in sentences:
        trainer.append(sentence_features(words), list(tags))
    trainer.set_params(
        {"c1": c1, "c2": c2, "max_iterations": max_iterations, "feature.possible_transitions": True}
    )
    trainer.train(str(path))
    return path


def predict_crf(path: Path, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
    tagger = pycrfsuite.Tagger()
    tagger.open(str(path))
    try:
        return [tagger.tag(sentence_features(words)) if words else [] for words in sentences]
    finally:
        tagger.close()
