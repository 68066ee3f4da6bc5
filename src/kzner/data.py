"""Assemble the training, dev and test sentences a config asks for.

KazNERD gives train, dev and test as ``data.kaznerd_split`` says (the
paper's split with the upstream train file, else valid split into
train/dev; see kzner.kaznerd), and the Label Studio exports join training, repeated
``annotation_oversample`` times; the in-domain dev exports are read whole,
to be scored on raw text as users run the model. Every input file is
fingerprinted so that a packaged model records exactly what it learnt from.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from seqeval.metrics.sequence_labeling import get_entities

from kzner import kaznerd
from kzner.align import document_to_tags
from kzner.config import Config, ConfigError, expand_globs
from kzner.document import Document
from kzner.features import pack
from kzner.gazetteer import BUNDLED, SWAPPED_LABELS, Gazetteer
from kzner.labelstudio import load_documents
from kzner.tokenize import split_sentences

S = TypeVar("S")


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
    # Which KazNERD split, with the KazNERD sentences of each side as used.
    kaznerd_split: kaznerd.Split
    fingerprints: dict[str, str] = field(default_factory=dict)
    # Annotated in-domain documents never trained on.
    in_domain_dev: list[Document] = field(default_factory=list)


# Our labels as KazNERD names them, so in-domain annotations can join "full" training.
_TO_KAZNERD = {"ORG": "ORGANISATION", "PERCENT": "PERCENTAGE", "LOC": "GPE"}


def load_corpus(config: Config) -> Corpus:
    folder = kaznerd.resolve_dir(config.data.kaznerd_dir)
    full = config.data.kaznerd_tags == "full"
    mapping = dict(kaznerd.TO_KZNER) if full else {label: label for label in config.labels}

    def from_kaznerd(s: kaznerd.KaznerdSentence) -> Sentence:
        gold = tuple(kaznerd.map_tags(s.tags))
        return Sentence(s.id, s.words, s.tags if full else gold, gold)

    data = config.data
    split = kaznerd.load(folder, data.kaznerd_split, data.dev_fraction, data.split_seed)
    train_part = split.train
    if data.kaznerd_variants == "one":
        train_part = kaznerd.one_per_group(train_part, data.split_seed)
    train_part = subsample(train_part, data.train_fraction, data.split_seed)
    split = replace(split, train=train_part).capped(data.max_sentences)
    train = [from_kaznerd(s) for s in split.train]
    dev = [from_kaznerd(s) for s in split.dev]
    test_sentences = [from_kaznerd(s) for s in split.test]
    fingerprints = {f"kaznerd/{name}": kaznerd.SHA256[name] for name in kaznerd.SPLIT_FILES.values()}
    if split.name == "paper":
        fingerprints[f"kaznerd/{kaznerd.TRAIN_FILE}"] = kaznerd.sha256_of(folder / kaznerd.TRAIN_FILE)

    exports = expand_globs(config.data.annotations, "data.annotations")
    dev_exports = expand_globs(config.data.in_domain_dev, "data.in_domain_dev")
    for path in exports + dev_exports:
        fingerprints[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    in_domain = []
    trained = load_documents(exports, config.read_options())
    for doc in trained:
        tagged = document_to_tags(doc)
        tag_at = dict(zip(tagged.tokens, tagged.tags, strict=True))
        # Sentence by sentence, as at prediction time.
        for n, tokens in enumerate(split_sentences(doc.text, tagged.tokens)):
            gold = tuple(tag_at[t] for t in tokens)
            tags = tuple(_rename(t, _TO_KAZNERD) for t in gold) if full else gold
            in_domain.append(Sentence(f"{doc.id}/{n}", tuple(t.text for t in tokens), tags, gold))
    budget = (config.model.max_length - 2) // PIECES_PER_WORD
    train = in_context(train, data.context_fraction, budget, config.train.seed)
    in_domain = in_context(in_domain, data.context_fraction, budget, config.train.seed)
    train.extend(s for s in in_domain for _ in range(config.data.annotation_oversample))
    if data.mention_replace:
        path = Path(data.gazetteer) if data.gazetteer else BUNDLED
        gazetteer = Gazetteer.load(path)  # a bad file stops here, naming the key
        fingerprints[f"gazetteer/{path.name}"] = hashlib.sha256(path.read_bytes()).hexdigest()
        train = swapped(train, gazetteer, data.mention_replace, config.train.seed)
    train = recased(train, config.data.case_augment, config.train.seed)
    dev_docs = load_documents(dev_exports, config.read_options())
    leaked = {d.text for d in trained} & {d.text for d in dev_docs}
    if leaked:
        where = next(d.source for d in dev_docs if d.text in leaked)
        raise ConfigError(
            f"data.in_domain_dev: {len(leaked)} document(s) are also in data.annotations, "
            f"e.g. {where}; dev must never be trained on"
        )
    return Corpus(train, dev, test_sentences, mapping, split, fingerprints, dev_docs)


def subsample(sentences: list[S], fraction: float, seed: int) -> list[S]:
    """About ``fraction`` of ``sentences``, drawn with ``seed``, in their order.

    For one seed and input, a smaller fraction keeps a subset of what a
    larger one keeps, so the points of a learning curve differ only in the
    sentences each adds.
    """
    if fraction >= 1.0:
        return list(sentences)
    order = list(range(len(sentences)))
    random.Random(seed).shuffle(order)
    kept = set(order[: round(len(sentences) * fraction)])
    return [s for n, s in enumerate(sentences) if n in kept]


# Sub-tokens per word of KazNERD with the e5 vocabulary: 1.78 (2,000 valid
# sentences), so a window of 126 sub-tokens holds about 63 words of packed text.
PIECES_PER_WORD = 2


def in_context(sentences: list[Sentence], fraction: float, budget: int, seed: int) -> list[Sentence]:
    """``sentences``, and for about ``fraction`` of the runs of consecutive
    sentences of one source that fit ``budget`` words, the run once more as
    one window.

    A plain transformers pipeline feeds whole documents, two or three
    sentences to a window cut wherever it falls; a model that only ever saw
    one sentence per window finds entities there that it does not find in
    the sentence alone. Here it learns each sentence's own tags among its
    neighbours too, while every sentence is still learnt alone as `kzner
    predict` reads it. The source is the document for in-domain sentences
    (``doc/n``); KazNERD's sentences come shuffled, so its runs are unrelated
    neighbours in file order, never two variants of one sentence (a
    near-copy whose labels the model could copy).
    """
    if not fraction:
        return sentences
    rng = random.Random(seed)
    out = []
    for segment in _segments(sentences):
        out.extend(segment)
        for group in pack([len(s.words) for s in segment], budget):
            run = segment[group.start : group.stop]
            if len(run) == 1 or rng.random() >= fraction:
                continue
            out.append(
                Sentence(
                    f"{run[0].id}+context",
                    tuple(w for s in run for w in s.words),
                    tuple(t for s in run for t in s.tags),
                    tuple(t for s in run for t in s.gold),
                )
            )
    return out


def _segments(sentences: list[Sentence]) -> Iterator[list[Sentence]]:
    """Consecutive sentences of one source, cut where a KazNERD variant group would repeat."""
    segment: list[Sentence] = []
    groups: set[str] = set()
    for sentence in sentences:
        group = kaznerd.variant_group(sentence.id)
        source = sentence.id.rpartition("/")[0]
        if segment and (source != segment[-1].id.rpartition("/")[0] or group in groups):
            yield segment
            segment, groups = [], set()
        segment.append(sentence)
        if group is not None:
            groups.add(group)
    if segment:
        yield segment


CASE_STYLES = ("upper", "title", "entities upper", "entities title")


def recased(sentences: list[Sentence], fraction: float, seed: int) -> list[Sentence]:
    """``sentences`` with about ``fraction`` of them in a case variant, tags
    unchanged; in place of the original, so training takes no longer.

    KazNERD and our reports are in sentence case, but news has ALL-CAPS
    headlines and datelines (``АСТАНА.``, ``«АУЫЛ АМАНАТЫ» ЖОБАСЫ``) and
    names spelt in other cases (``«Amanat»``): the label must not depend on
    case. Each chosen sentence gets one style, drawn with a seeded generator;
    each copy of an oversampled sentence is drawn on its own.
    """
    rng = random.Random(seed)
    out = []
    for sentence in sentences:
        if rng.random() >= fraction:
            out.append(sentence)
            continue
        style = rng.choice(CASE_STYLES)
        change = str.upper if style.endswith("upper") else str.capitalize
        words = tuple(
            change(w) if not style.startswith("entities") or tag != "O" else w
            for w, tag in zip(sentence.words, sentence.gold, strict=True)
        )
        changed = words != sentence.words
        out.append(replace(sentence, id=f"{sentence.id}/{style}", words=words) if changed else sentence)
    return out


def swapped(sentences: list[Sentence], gazetteer: Gazetteer, chance: float, seed: int) -> list[Sentence]:
    """``sentences`` with each ORG, LOC and PROJECT mention that holds a
    listed name learnt, with probability ``chance``, with another name of
    its kind (kzner.gazetteer); in place of the original, so training takes
    no longer. Each copy of an oversampled sentence is drawn on its own.
    """
    rng = random.Random(seed)
    out = []
    for sentence in sentences:
        words, tags, gold = list(sentence.words), list(sentence.tags), list(sentence.gold)
        # Right to left, so that a swap of another length leaves the spans before it in place.
        for label, start, last in reversed(get_entities(list(sentence.gold))):
            if label not in SWAPPED_LABELS or rng.random() >= chance:
                continue
            swap = gazetteer.swap(tuple(words[start : last + 1]), rng)
            if swap is None:
                continue
            at, to = start + swap.start, start + swap.stop
            for seq in (tags, gold):
                first = seq[at] if at == start else "I-" + seq[at][2:]
                seq[at:to] = [first] + ["I-" + first[2:]] * (len(swap.words) - 1)
            words[at:to] = swap.words
        if words != list(sentence.words):
            sentence = Sentence(f"{sentence.id}/swapped", tuple(words), tuple(tags), tuple(gold))
        out.append(sentence)
    return out


def _rename(tag: str, names: dict[str, str]) -> str:
    prefix, _, label = tag.partition("-")
    return f"{prefix}-{names.get(label, label)}" if label else tag


def source_tags(sentences: list[Sentence]) -> list[str]:
    """Every tag the training data uses, O first, then sorted B-/I- pairs."""
    classes = sorted({t[2:] for s in sentences for t in s.tags if t != "O"})
    return ["O"] + [f"{p}-{c}" for c in classes for p in ("B", "I")]
