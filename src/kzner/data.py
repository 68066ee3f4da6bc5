"""Assemble the training, dev and test sentences a config asks for.

KazNERD valid is split into train/dev by variant group, KazNERD test is the
test set, and the Label Studio exports join training, repeated
``annotation_oversample`` times. Every input file is fingerprinted so that a
packaged model records exactly what it learnt from.
"""

from __future__ import annotations

import glob
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from kzner import kaznerd
from kzner.align import document_to_tags
from kzner.config import Config, ConfigError
from kzner.labelstudio import load_documents
from kzner.tokenize import split_sentences


@dataclass(frozen=True)
class Sentence:
    id: str
    words: tuple[str, ...]
    # Tags as the model learns them (KazNERD's own classes in "full" mode).
    tags: tuple[str, ...]
    # Gold tags in our six labels, for scoring.
    gold: tuple[str, ...]


@dataclass
class Corpus:
    train: list[Sentence]
    dev: list[Sentence]
    test: list[Sentence]
    # Source class name -> our label, for folding the head's outputs.
    mapping: dict[str, str]
    fingerprints: dict[str, str] = field(default_factory=dict)


# Our labels as KazNERD names them, so in-domain annotations can join "full" training.
_TO_KAZNERD = {"ORG": "ORGANISATION", "PERCENT": "PERCENTAGE", "LOC": "GPE"}


def load_corpus(config: Config) -> Corpus:
    folder = kaznerd.resolve_dir(config.data.kaznerd_dir)
    full = config.data.kaznerd_tags == "full"
    mapping = dict(kaznerd.TO_KZNER) if full else {label: label for label in config.labels}

    def from_kaznerd(s: kaznerd.Sentence) -> Sentence:
        gold = tuple(kaznerd.map_tags(s.tags))
        return Sentence(s.id, s.words, s.tags if full else gold, gold)

    valid = kaznerd.load_split("valid", folder)
    test = kaznerd.load_split("test", folder)
    train_part, dev_part = kaznerd.split_by_group(valid, config.data.dev_fraction, config.data.split_seed)
    cap = config.data.max_sentences
    train = [from_kaznerd(s) for s in train_part[:cap]]
    dev = [from_kaznerd(s) for s in dev_part[:cap]]
    test_sentences = [from_kaznerd(s) for s in test[:cap]]
    fingerprints = {f"kaznerd/{name}": kaznerd.SHA256[name] for name in kaznerd.SPLIT_FILES.values()}

    exports = []
    for pattern in config.data.annotations:
        matches = sorted(glob.glob(pattern))
        if not matches:
            raise ConfigError(f"data.annotations: {pattern!r} matches no file (use [] for none)")
        exports.extend(m for m in matches if m not in exports)
    for path in exports:
        fingerprints[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    for doc in load_documents(exports, config.read_options()):
        tagged = document_to_tags(doc)
        tag_at = dict(zip(tagged.tokens, tagged.tags, strict=True))
        # Sentence by sentence, as at prediction time.
        for n, tokens in enumerate(split_sentences(doc.text, tagged.tokens)):
            gold = tuple(tag_at[t] for t in tokens)
            tags = tuple(_rename(t, _TO_KAZNERD) for t in gold) if full else gold
            sentence = Sentence(f"{doc.id}/{n}", tuple(t.text for t in tokens), tags, gold)
            train.extend([sentence] * config.data.annotation_oversample)
    return Corpus(train, dev, test_sentences, mapping, fingerprints)


def _rename(tag: str, names: dict[str, str]) -> str:
    prefix, _, label = tag.partition("-")
    return f"{prefix}-{names.get(label, label)}" if label else tag


def source_tags(sentences: list[Sentence]) -> list[str]:
    """Every tag the training data uses, O first, then sorted B-/I- pairs."""
    classes = sorted({t[2:] for s in sentences for t in s.tags if t != "O"})
    return ["O"] + [f"{p}-{c}" for c in classes for p in ("B", "I")]
