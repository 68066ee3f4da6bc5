"""A word-aware view of a sentencepiece vocabulary, so that a plain
``transformers.pipeline`` aggregates over kzner's words.

transformers fuses a word's pieces (``aggregation_strategy="first"``,
``"average"``, ``"max"``) over real words only when the tokenizer model has a
continuation prefix, as WordPiece's ``##`` is; a sentencepiece Unigram model
has none, so the pipeline falls back to whitespace words and ``«Жайлы``
takes the tag of ``«``. The same vocabulary read as WordPiece is word-aware:
a ``▁`` piece becomes a word-initial piece, any other piece a ``##``
continuation, ids unchanged. WordPiece splits greedily longest-first, not by
Unigram's best path: 77% of the words of KazNERD test and the reports keep
their sentencepiece pieces, the rest get others, so the model is trained
with this view rather than given it afterwards.

Sentencepiece spells some words only as ``▁`` plus a continuation (``.``,
``,``); WordPiece needs a word-initial piece for every word, so each single
character that lacks one of the two forms gets it as a new row, a copy of
the other form's embedding (``word.`` in raw text is ``▁word`` ``.``: the
continuation is what the base model saw after a word).
"""

from __future__ import annotations

import json

import torch
from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerFast

SPACE = "\u2581"
PREFIX = "##"


def word_aware(model: torch.nn.Module, tokenizer) -> tuple[torch.nn.Module, PreTrainedTokenizerFast]:
    """The model and tokenizer with the tokenizer read as WordPiece; a
    tokenizer that is not a Unigram one is returned as it is."""
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    if spec["model"]["type"] != "Unigram":
        return model, tokenizer
    special = {t["id"] for t in spec["added_tokens"]}
    vocab: dict[str, int] = {}
    for i, (piece, _score) in enumerate(spec["model"]["vocab"]):
        name = piece if i in special or piece == SPACE else _wordpiece_name(piece)
        vocab.setdefault(name, i)  # a rare clash ("▁##x" and "x"): the first keeps the name
    copies = _missing_forms(vocab)
    size = len(spec["model"]["vocab"])
    for k, (name, _source) in enumerate(copies):
        vocab[name] = size + k
    spec["model"] = {
        "type": "WordPiece",
        "unk_token": spec["model"]["vocab"][spec["model"]["unk_id"]][0],
        "continuing_subword_prefix": PREFIX,
        "max_input_chars_per_word": 200,
        "vocab": vocab,
    }
    spec["pre_tokenizer"] = _without_metaspace(spec["pre_tokenizer"])
    spec["decoder"] = {"type": "WordPiece", "prefix": PREFIX, "cleanup": False}
    viewed = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(json.dumps(spec)),
        **dict(tokenizer.special_tokens_map.items()),
        model_max_length=tokenizer.model_max_length,
    )
    if copies:
        model.resize_token_embeddings(size + len(copies), mean_resizing=False)
        weight = model.get_input_embeddings().weight
        with torch.no_grad():
            weight[size:] = weight[[source for _name, source in copies]]
    return model, viewed


def _wordpiece_name(piece: str) -> str:
    return piece[1:] if piece.startswith(SPACE) else PREFIX + piece


def _missing_forms(vocab: dict[str, int]) -> list[tuple[str, int]]:
    """For each single character with only one of its two forms, the other
    form's name and the id whose embedding it copies."""
    initial = {name: i for name, i in vocab.items() if len(name) == 1 and name != SPACE}
    continuation = {
        name.removeprefix(PREFIX): i
        for name, i in vocab.items()
        if name.startswith(PREFIX) and len(name) == len(PREFIX) + 1
    }
    copies = [(PREFIX + c, i) for c, i in sorted(initial.items()) if c not in continuation]
    copies += [(c, i) for c, i in sorted(continuation.items()) if c not in initial]
    return copies


def _without_metaspace(pre_tokenizer: dict) -> dict:
    """WordPiece pieces carry no ``▁``: the words are split as before, and
    Metaspace's marker is dropped."""
    if pre_tokenizer.get("type") == "Sequence":
        kept = [p for p in pre_tokenizer["pretokenizers"] if p["type"] != "Metaspace"]
        return {"type": "Sequence", "pretokenizers": kept}
    if pre_tokenizer.get("type") == "Metaspace":
        return {"type": "WhitespaceSplit"}
    return pre_tokenizer
