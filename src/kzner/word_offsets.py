"""The packaged tokenizer reads raw text as kzner does: in kzner's words,
with offsets on the word.

kzner feeds the model words (kzner.tokenize), each encoded on its own, so
every word starts with its own ``▁`` piece: ``«Жайлы`` is ``▁«`` ``▁Жайлы``.
XLM-R's tokenizer family (multilingual-e5 included) reads raw text by
whitespace alone, so a plain ``transformers.pipeline`` fed the same text gave
the model ``▁«`` ``Ж`` ``айлы``, pieces it never saw in training, and tagged
``Ж`` and ``айлы`` as two entities. Its pieces also carried the space before
the word, so every entity started on that space.

The packaged tokenizer therefore drops whitespace, cuts the rest into kzner's
words with kzner's own pattern, and lets Metaspace prepend each word's ``▁``
with no character under it: raw text gives the ids kzner gives its words,
and every piece's offsets lie inside its word. Words kzner passes one at a
time come out as they did before (the pattern cuts a kzner word into
itself), unless the tokenizer's NFKC makes several words of one (``…``
becomes three dots); training uses this tokenizer too, so the model learns
what users' texts give it.

Invisible format characters (a soft hyphen, bidirectional marks) stay in a
word whose letters they sit between, as in kzner's words, and are dropped
elsewhere, as kzner drops them: otherwise each became a piece of its own.
"""

from __future__ import annotations

import json

from tokenizers import Regex, Tokenizer, pre_tokenizers

from kzner.tokenize import INVISIBLE, WORD_PATTERN


def offsets_on_words(tokenizer):
    """``tokenizer`` (a fast HF tokenizer) reading raw text in kzner's words,
    changed in place; any tokenizer that does not split on Metaspace is left
    as it is."""
    backend: Tokenizer = tokenizer.backend_tokenizer
    current = backend.pre_tokenizer
    if current is None or json.loads(current.__getstate__())["type"] != "Metaspace":
        return tokenizer
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(r"\s+"), "removed"),
            pre_tokenizers.Split(Regex(WORD_PATTERN), "isolated"),
            pre_tokenizers.Split(Regex(rf"\A[{INVISIBLE}]+\z"), "removed"),
            current,
        ]
    )
    return tokenizer
