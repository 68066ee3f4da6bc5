"""Offsets that land on the word, for tokenizers whose pieces carry the space.

XLM-R's tokenizer family (multilingual-e5 included) turns each space into the
``▁`` that starts the next piece, so the first piece of every word is aligned
to the space before it: a plain ``transformers.pipeline`` then reports every
entity from that space, and ``return_offsets_mapping=True`` is off by one on
every word. kzner itself never reads those offsets (it tags its own words),
so this matters to users of the package in plain transformers.

The fix keeps the pieces and ids: the single spaces between words are removed
before Metaspace runs, and Metaspace prepends the same ``▁`` to each word with
no character under it, so the piece is aligned to the word alone. The
normaliser has already folded every run of whitespace into one space; a space
at the very end of the text still becomes its own ``▁`` piece, as before.
"""

from __future__ import annotations

import json

from tokenizers import Regex, Tokenizer, pre_tokenizers

# A space with text on its right and, unless it starts the text, on its left.
_BETWEEN_WORDS = Regex(r"(?<=\S) (?=\S)|^ (?=\S)")


def offsets_on_words(tokenizer):  # noqa: ANN001, ANN201
    """``tokenizer`` (a fast HF tokenizer) with word-aligned offsets, changed in
    place; any tokenizer that does not split on Metaspace is left as it is."""
    backend: Tokenizer = tokenizer.backend_tokenizer
    current = backend.pre_tokenizer
    if current is None or json.loads(current.__getstate__())["type"] != "Metaspace":
        return tokenizer
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(_BETWEEN_WORDS, "removed"), current]
    )
    return tokenizer
