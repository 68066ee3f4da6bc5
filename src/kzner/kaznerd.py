"""KazNERD (IS2AI, LREC 2022, CC BY 4.0): reading, checking and splitting.

We read the ``*2.txt`` files, whose sentences are headed by an id line
(``AID283875 O``): the id ties typographic variants of one sentence together
(``AID283875``, ``BID283875``, ...), and a split that put variants on both
sides would score the model on sentences it has trained on. The id line itself
is never a word of the sentence.

Two splits (``data.kaznerd_split``). Without the upstream train file, valid is
split into train/dev by variant group and test is the test set. With it, the
paper's split: train file -> train, valid -> dev, test -> test; a train
sentence whose variant group also occurs in valid or test is left out of
training (dev and test stay the paper's, whole and comparable), so no
variant straddles the split.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from kzner.align import OUTSIDE, document_from_words
from kzner.document import Document
from kzner.errors import KznerError

log = logging.getLogger(__name__)

ENV_DIR = "KZNER_KAZNERD_DIR"
UPSTREAM = "https://github.com/IS2AI/KazNERD (folder KazNERD/), commit bd4333d"

# sha256 of the files at the pinned upstream commit. The plain files are the
# ones the upstream README lists; the *2 files are their id-headed twins.
SHA256: dict[str, str] = {
    "IOB2_valid.txt": "29d584d1a0d9aca6d58b39eb8a93e154791d303ecff56ef93f12b3c889239bf1",
    "IOB2_test.txt": "359a1f61f6a21280c6c47b4fde9a5adcd07411d62015aa6e32d940c51f163b7a",
    "IOB2_valid2.txt": "a78509fbd8b59e6f521320100cda26f14bc74b9edf9ee50a417dd99e149996da",
    "IOB2_test2.txt": "db883e597ff98dbe5438a9f94ece4bd0adfe758f2e273eddc8eb04b7b9120b96",
}
SPLIT_FILES = {"valid": "IOB2_valid2.txt", "test": "IOB2_test2.txt"}
# The upstream train file (with_sentID/IOB2_train2.txt, and its id-less twin
# IOB2_train.txt). It is not on the machines kzner is built on, so it has no
# pinned sha256: its structure is checked instead (verify_train).
TRAIN_FILE = "IOB2_train2.txt"
TRAIN_PLAIN = "IOB2_train.txt"
TRAIN_SENTENCES = 90_228

# KazNERD's 25 entity classes (upstream bert/kaznerd.py; all occur in valid and test).
CLASSES = frozenset(
    "ADAGE ART CARDINAL CONTACT DATE DISEASE EVENT FACILITY GPE LANGUAGE LAW LOCATION "  # noqa: SIM905
    "MISCELLANEOUS MONEY NON_HUMAN NORP ORDINAL ORGANISATION PERCENTAGE PERSON POSITION "
    "PRODUCT PROJECT QUANTITY TIME".split()
)

# KazNERD's 25 classes -> ours (../shared/docs/annotation-conventions.md);
# every class not named here becomes O.
TO_KZNER: dict[str, str] = {
    "ORGANISATION": "ORG",
    "PROJECT": "PROJECT",
    "MONEY": "MONEY",
    "PERCENTAGE": "PERCENT",
    "QUANTITY": "QUANTITY",
    "GPE": "LOC",
    "LOCATION": "LOC",
}

# Where KazNERD and our conventions part on an amount's edge: KazNERD keeps
# `дейін` ("up to") inside every MONEY, PERCENTAGE and QUANTITY it ends (65
# spans in valid, 41 in test, never outside), annotation-conventions.md
# ("Limits around numbers") leaves it outside: `60 центнерге дейін` → `60
# центнерге`. Learnt both ways, the model followed KazNERD's many examples.
AMOUNT_CLASSES = frozenset({"MONEY", "PERCENTAGE", "QUANTITY"})
OUTSIDE_AMOUNTS = frozenset({"дейін"})

_ID = re.compile(r"[A-Z]ID(\d+)")


class KaznerdError(KznerError):
    pass


@dataclass(frozen=True)
class KaznerdSentence:
    id: str
    words: tuple[str, ...]
    tags: tuple[str, ...]

    @property
    def group(self) -> str:
        """The variant group: ids that share the number are one sentence."""
        return variant_group(self.id)  # type: ignore[return-value]


def variant_group(sentence_id: str) -> str | None:
    """The variant group of a KazNERD sentence id; None for any other id."""
    found = _ID.fullmatch(sentence_id)
    return found.group(1) if found else None


def resolve_dir(directory: str | os.PathLike[str] | None = None) -> Path:
    """The KazNERD folder: from config when given, else ``$KZNER_KAZNERD_DIR``."""
    chosen = directory or os.environ.get(ENV_DIR)
    if not chosen:
        raise KaznerdError(
            f"no KazNERD directory: set data.kaznerd_dir in the config or ${ENV_DIR}. "
            f"Get the files from {UPSTREAM} with scripts/download_kaznerd.sh."
        )
    path = Path(chosen).expanduser()
    if not path.is_dir():
        raise KaznerdError(f"KazNERD directory {path} does not exist")
    return path


def verify(directory: Path, names: Sequence[str] = tuple(SHA256)) -> None:
    """Check that the named files are present and are the pinned release."""
    missing = [name for name in names if not (directory / name).is_file()]
    if missing:
        raise KaznerdError(
            f"KazNERD files missing in {directory}: {', '.join(missing)}. "
            f"Get them from {UPSTREAM} with scripts/download_kaznerd.sh."
        )
    for name in names:
        digest = sha256_of(directory / name)
        if digest != SHA256[name]:
            raise KaznerdError(
                f"{directory / name}: sha256 {digest} is not the pinned {SHA256[name]}; "
                f"this is not KazNERD at commit bd4333d"
            )


def load_split(split: str, directory: str | os.PathLike[str] | None = None) -> list[KaznerdSentence]:
    """Read KazNERD ``valid`` or ``test`` with ids, checksum-verified."""
    if split not in SPLIT_FILES:
        raise KaznerdError(f"unknown KazNERD split {split!r}; have {', '.join(SPLIT_FILES)}")
    folder = resolve_dir(directory)
    name = SPLIT_FILES[split]
    verify(folder, [name])
    return [with_our_edges(s) for s in read_conll(folder / name)]


def with_our_edges(sentence: KaznerdSentence) -> KaznerdSentence:
    """``sentence`` with every amount that ends in `дейін` ending before it
    (``OUTSIDE_AMOUNTS``), so KazNERD teaches and scores our conventions."""
    tags = list(sentence.tags)
    for i, word in enumerate(sentence.words):
        tag = tags[i]
        last = i + 1 == len(tags) or tags[i + 1] != tag
        if word.lower() in OUTSIDE_AMOUNTS and tag.startswith("I-") and tag[2:] in AMOUNT_CLASSES and last:
            tags[i] = OUTSIDE
    return sentence if tuple(tags) == sentence.tags else replace(sentence, tags=tuple(tags))


def read_conll(path: Path) -> list[KaznerdSentence]:
    """Parse an id-headed two-column IOB2 file, with errors naming the line."""
    sentences: list[KaznerdSentence] = []
    for rows in _blocks(path):
        lineno, sid, _ = rows[0]
        if not _ID.fullmatch(sid):
            raise KaznerdError(f"{path}:{lineno}: expected a sentence id, got {sid!r}")
        if len(rows) == 1:
            raise KaznerdError(f"{path}: sentence {sid} has no words")
        sentences.append(
            KaznerdSentence(sid, tuple(w for _, w, _ in rows[1:]), tuple(t for _, _, t in rows[1:]))
        )
    return sentences


def read_plain(path: Path) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Parse a two-column IOB2 file without ids (``IOB2_train.txt``): words and tags."""
    return [(tuple(w for _, w, _ in rows), tuple(t for _, _, t in rows)) for rows in _blocks(path)]


def _blocks(path: Path) -> Iterator[list[tuple[int, str, str]]]:
    """The blank-line separated sentences of a CoNLL file, each line checked
    (two columns, a tag of KazNERD's scheme) and kept with its line number."""
    rows: list[tuple[int, str, str]] = []
    with path.open(encoding="utf-8") as lines:
        for lineno, line in enumerate(lines, 1):
            line = line.rstrip("\n")
            if not line.strip():
                if rows:
                    yield rows
                rows = []
                continue
            parts = line.split(" ")
            if len(parts) != 2 or not parts[0]:
                raise KaznerdError(f"{path}:{lineno}: expected 'WORD TAG', got {line!r}")
            word, tag = parts
            if tag != OUTSIDE and not re.fullmatch(r"[BI]-[A-Z_]+", tag):
                raise KaznerdError(f"{path}:{lineno}: not an IOB2 tag: {tag!r}")
            if tag != OUTSIDE and tag[2:] not in CLASSES:
                raise KaznerdError(f"{path}:{lineno}: {tag[2:]!r} is not one of KazNERD's 25 classes")
            rows.append((lineno, word, tag))
    if rows:
        yield rows


def map_tags(tags: Sequence[str]) -> list[str]:
    """Rename classes, turning unmapped ones into O.

    An ``I-`` continues an entity only when the tag before it has the same
    *original* class, so ``B-GPE B-LOCATION`` stays two LOC entities, and an
    entity whose head was mapped away starts with ``B-``.

    >>> map_tags(["B-DATE", "I-GPE", "B-GPE", "I-GPE", "I-LOCATION"])
    ['O', 'B-LOC', 'B-LOC', 'I-LOC', 'B-LOC']
    """
    out: list[str] = []
    previous_class = None
    for tag in tags:
        prefix, _, cls = tag.partition("-")
        target = TO_KZNER.get(cls) if cls else None
        if target is None:
            out.append(OUTSIDE)
        elif prefix == "I" and previous_class == cls:
            out.append("I-" + target)
        else:
            out.append("B-" + target)
        previous_class = cls or None
    return out


def split_by_group(
    sentences: Sequence[KaznerdSentence], dev_fraction: float, seed: int
) -> tuple[list[KaznerdSentence], list[KaznerdSentence]]:
    """Train/dev split that keeps every variant group on one side.

    Deterministic for a given seed and input, whatever the input order.
    """
    if not 0.0 < dev_fraction < 1.0:
        raise KaznerdError(f"dev_fraction must be between 0 and 1, got {dev_fraction}")
    groups = sorted({s.group for s in sentences})
    random.Random(seed).shuffle(groups)
    dev_groups = set(groups[: round(len(groups) * dev_fraction)])
    train = [s for s in sentences if s.group not in dev_groups]
    dev = [s for s in sentences if s.group in dev_groups]
    return train, dev


def one_per_group(sentences: Sequence[KaznerdSentence], seed: int) -> list[KaznerdSentence]:
    """One typographic variant of each group, drawn with ``seed``, in input order.

    A quarter of KazNERD's sentences restate another with numbers spelt out
    or Latin-script words; training on one of each cuts the training loop by
    about a fifth while every sentence is still seen once.
    """
    groups: dict[str, list[int]] = {}
    for n, s in enumerate(sentences):
        groups.setdefault(s.group, []).append(n)
    rng = random.Random(seed)
    kept = {rng.choice(members) for _, members in sorted(groups.items())}
    return [s for n, s in enumerate(sentences) if n in kept]


@dataclass(frozen=True)
class Split:
    """The KazNERD sentences a corpus trains, develops and tests on, and which
    split chose them: logged, printed by ``kzner data kaznerd`` and recorded in
    metrics.json, since scores from the two splits are not comparable."""

    name: str  # "paper" or "valid"
    train: list[KaznerdSentence]
    dev: list[KaznerdSentence]
    test: list[KaznerdSentence]
    # Train-file sentences left out because a variant of theirs is in valid or test.
    dropped: int = 0

    def capped(self, cap: int | None) -> Split:
        return replace(self, train=self.train[:cap], dev=self.dev[:cap], test=self.test[:cap])

    def summary(self) -> dict[str, str | int]:
        return {
            "name": self.name,
            "train": len(self.train),
            "dev": len(self.dev),
            "test": len(self.test),
            "train_dropped_variants": self.dropped,
        }

    def describe(self) -> str:
        if self.name == "paper":
            source = "the paper's: train file -> train, valid -> dev, test -> test"
        else:
            source = "valid -> train/dev by variant group, test -> test"
        dropped = f" ({self.dropped:,} left out: a variant is in valid or test)" if self.dropped else ""
        return (
            f"KazNERD split {self.name} ({source}): train {len(self.train):,} sentences{dropped}, "
            f"dev {len(self.dev):,}, test {len(self.test):,}"
        )


def choose_split(wanted: str, directory: Path) -> str:
    """``data.kaznerd_split`` made concrete for this folder: ``auto`` is the
    paper's split when the (id-headed) train file is there, else ``valid``."""
    has_train = (directory / TRAIN_FILE).is_file()
    if wanted == "paper" and not has_train:
        raise KaznerdError(
            f"data.kaznerd_split is paper but {directory / TRAIN_FILE} is missing; "
            "get it with scripts/download_kaznerd.sh, or use auto or valid"
        )
    if wanted == "auto" and not has_train and (directory / TRAIN_PLAIN).is_file():
        # Silently falling back to the small split would waste the download.
        raise KaznerdError(
            f"{directory / TRAIN_PLAIN} is there but not {TRAIN_FILE}, its id-headed twin "
            "(upstream with_sentID/), which kzner reads to keep variant groups whole: "
            "get it with scripts/download_kaznerd.sh, or set data.kaznerd_split: valid"
        )
    if wanted == "auto":
        return "paper" if has_train else "valid"
    return wanted


def make_split(
    name: str,
    valid: Sequence[KaznerdSentence],
    test: Sequence[KaznerdSentence],
    train: Sequence[KaznerdSentence],
    dev_fraction: float,
    seed: int,
) -> Split:
    """The named split of KazNERD's files (``train`` is used by ``paper`` only)."""
    if name == "valid":
        part, dev = split_by_group(valid, dev_fraction, seed)
        return Split(name, part, dev, list(test))
    held_out = {s.group for s in valid} | {s.group for s in test}
    kept = [s for s in train if s.group not in held_out]
    return Split(name, kept, list(valid), list(test), len(train) - len(kept))


def load(directory: str | os.PathLike[str] | None, wanted: str, dev_fraction: float, seed: int) -> Split:
    """Read KazNERD and split it as ``data.kaznerd_split`` (``wanted``) says."""
    folder = resolve_dir(directory)
    name = choose_split(wanted, folder)
    train = [with_our_edges(s) for s in load_train(folder)] if name == "paper" else []
    valid, test = load_split("valid", folder), load_split("test", folder)
    return make_split(name, valid, test, train, dev_fraction, seed)


def load_train(folder: Path, strict: bool = False) -> list[KaznerdSentence]:
    """The train file, every line checked (ids, two columns, KazNERD's tags).

    Another sentence count than upstream's is an error when ``strict`` (the
    download check) and a warning in training, so that a trimmed or extended
    train file of one's own still trains.
    """
    sentences = read_conll(folder / TRAIN_FILE)
    if len(sentences) != TRAIN_SENTENCES:
        problem = (
            f"{folder / TRAIN_FILE}: {len(sentences):,} sentences where upstream's train file has "
            f"{TRAIN_SENTENCES:,}: an incomplete download or another file"
        )
        if strict:
            raise KaznerdError(problem)
        log.warning(problem)
    return sentences


def verify_train(folder: Path) -> list[KaznerdSentence]:
    """Check the unpinned train files as far as can be without a checksum:
    both present, every line well formed, upstream's sentence count, and the
    plain file the id-headed one without its id lines."""
    missing = [name for name in (TRAIN_FILE, TRAIN_PLAIN) if not (folder / name).is_file()]
    if missing:
        raise KaznerdError(
            f"KazNERD train files missing in {folder}: {', '.join(missing)}. "
            f"Get them from {UPSTREAM} with scripts/download_kaznerd.sh."
        )
    sentences = load_train(folder, strict=True)
    plain = read_plain(folder / TRAIN_PLAIN)
    if len(plain) != len(sentences):
        raise KaznerdError(
            f"{folder / TRAIN_PLAIN}: {len(plain):,} sentences, {TRAIN_FILE} {len(sentences):,}; "
            "the two must hold the same sentences"
        )
    for n, (sentence, words_tags) in enumerate(zip(sentences, plain, strict=True), 1):
        if (sentence.words, sentence.tags) != words_tags:
            raise KaznerdError(
                f"{folder / TRAIN_PLAIN}: sentence {n} differs from {sentence.id} in {TRAIN_FILE}; "
                "the two must hold the same sentences"
            )
    return sentences


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def to_document(sentence: KaznerdSentence) -> Document:
    return document_from_words(
        sentence.id, sentence.words, map_tags(sentence.tags), source=f"KazNERD {sentence.id}"
    )


def as_documents(
    sentences: Sequence[KaznerdSentence], per_document: int, one_per_line: bool = False
) -> list[Document]:
    """KazNERD sentences, ``per_document`` to a Document, for measuring
    prediction over whole texts (KazNERD holds sentences only).

    Run on (the default), a text is what a plain pipeline's document windows
    see; one per line, a sentence splitter cuts each where KazNERD does.
    """
    docs = []
    for first in range(0, len(sentences), per_document):
        words: list[str] = []
        tags: list[str] = []
        for sentence in sentences[first : first + per_document]:
            if words and one_per_line:
                words.append("\n")
                tags.append(OUTSIDE)
            words += sentence.words
            tags += map_tags(sentence.tags)
        docs.append(document_from_words(f"kaznerd-{first}", words, tags))
    return docs
