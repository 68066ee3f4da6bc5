"""Sentences set in capitals only (headlines, datelines: ``АСТАНА.``,
``«АУЫЛ АМАНАТЫ» ЖОБАСЫ ...``) are read by the model in title case.

Capitals hide what case tells the model: which word is a name. Training
shows it sentences in capitals (``data.case_augment``), but words in title
case keep more of the signal: on KazNERD test set in capitals (2,000
sentences, never trained on) the default model scores 0.575 exact span F1
read as written and 0.698 read in title case; on the in-domain dev part in
capitals 0.756 and 0.809; text in ordinary case is not touched. Words of at
most three letters stay as they are: they are mostly abbreviations (``ҚР``,
``АҚ``, ``ЖШС``). Only the model's input changes; offsets and entity text
are the original's, and each word keeps its length.
"""

from __future__ import annotations

from collections.abc import Sequence

# Fewer cased letters than this is not a sentence set in capitals (``ҚР``, ``№5``).
MIN_CASED = 4


def in_capitals(words: Sequence[str]) -> bool:
    """Whether every cased letter of the sentence is a capital, and there are enough to tell."""
    cased = [c for w in words for c in w if c.lower() != c.upper()]
    return len(cased) >= MIN_CASED and all(c.isupper() for c in cased)


def titled(word: str) -> str:
    """``word`` with its first character kept and the rest in small letters,
    unless it has three letters or fewer, or would change length."""
    if sum(c.isalpha() for c in word) <= 3:
        return word
    title = word[0] + word[1:].lower()
    return title if len(title) == len(word) else word


def model_words(words: Sequence[str]) -> Sequence[str]:
    """The words the model reads for a sentence: in title case if the
    sentence is in capitals, else as written."""
    return [titled(w) for w in words] if in_capitals(words) else words
