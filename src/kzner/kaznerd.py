"""KazNERD (IS2AI, LREC 2022, CC BY 4.0): reading, checking and splitting.

We read the ``*2.txt`` files, whose sentences are headed by an id line
(``AID283875 O``): the id ties typographic variants of one sentence together
(``AID283875``, ``BID283875``, ...), and a split that put variants on both
sides would score the model on sentences it has trained on. The id line itself
is never a word of the sentence.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kzner.align import OUTSIDE, document_from_words
from kzner.document import Document
from kzner.errors import KznerError

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
        return _ID.fullmatch(self.id).group(1)  # type: ignore[union-attr]


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
        digest = hashlib.sha256((directory / name).read_bytes()).hexdigest()
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
    return read_conll(folder / name)


def read_conll(path: Path) -> list[KaznerdSentence]:
    """Parse an id-headed two-column IOB2 file, with errors naming the line."""
    sentences: list[KaznerdSentence] = []
    sid: str | None = None
    words: list[str] = []
    tags: list[str] = []

    def close() -> None:
        if sid is not None and not words:
            raise KaznerdError(f"{path}: sentence {sid} has no words")
        if sid is not None:
            sentences.append(KaznerdSentence(sid, tuple(words), tuple(tags)))

    with path.open(encoding="utf-8") as lines:
        for lineno, line in enumerate(lines, 1):
            line = line.rstrip("\n")
            if not line.strip():
                close()
                sid, words, tags = None, [], []
                continue
            parts = line.split(" ")
            if len(parts) != 2 or not parts[0]:
                raise KaznerdError(f"{path}:{lineno}: expected 'WORD TAG', got {line!r}")
            word, tag = parts
            if sid is None:
                if not _ID.fullmatch(word):
                    raise KaznerdError(f"{path}:{lineno}: expected a sentence id, got {word!r}")
                sid = word
                continue
            if tag != OUTSIDE and not re.fullmatch(r"[BI]-[A-Z_]+", tag):
                raise KaznerdError(f"{path}:{lineno}: not an IOB2 tag: {tag!r}")
            words.append(word)
            tags.append(tag)
    close()
    return sentences


def map_tags(tags: Sequence[str], mapping: Mapping[str, str] = TO_KZNER) -> list[str]:
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
        target = mapping.get(cls) if cls else None
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


def to_document(sentence: KaznerdSentence, mapping: Mapping[str, str] = TO_KZNER) -> Document:
    return document_from_words(
        sentence.id, sentence.words, map_tags(sentence.tags, mapping), source=f"KazNERD {sentence.id}"
    )
