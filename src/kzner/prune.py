"""Vocabulary pruning: keep the sub-tokens our data uses, drop the other ~240k.

The 250k-row embedding of XLM-R-family models is ~96M of e5-small's 118M
parameters; Kazakh reports and KazNERD use a few thousand rows. Pruning keeps
every piece that tokenising the given texts produces, plus every
single-character piece (so any text still segments as it would, character by
character at worst, never into ``<unk>``) and the special tokens. A Unigram
segmentation is the best-scoring path over the vocabulary, a WordPiece one
the longest piece at each step; removing pieces that the kept texts'
segmentations do not use changes neither, so the kept texts tokenise exactly
as before. The result is a plain, smaller HF model and tokenizer that
``from_pretrained`` loads like any other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import torch
from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerFast

from kzner.errors import KznerError


class PruneError(KznerError):
    pass


def kept_ids(tokenizer, sentences: Iterable[Iterable[str]]) -> list[int]:
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    if spec["model"]["type"] not in ("Unigram", "WordPiece"):
        raise PruneError(
            f"vocabulary pruning supports Unigram (SentencePiece) tokenizers such as XLM-R and e5, "
            f"and WordPiece ones, not {spec['model']['type']}; set model.prune_vocab: false"
        )
    keep = {t["id"] for t in spec["added_tokens"]}
    keep.update(i for text, i in _pieces(spec["model"]) if len(text) <= 1)
    batch: list[list[str]] = []
    for words in sentences:
        batch.append(list(words))
        if len(batch) == 1000:
            keep.update(_ids(tokenizer, batch))
            batch = []
    keep.update(_ids(tokenizer, batch))
    return sorted(keep)


def _pieces(model: dict) -> list[tuple[str, int]]:
    """Each piece's text without its marker (Unigram's word-initial ``▁``,
    WordPiece's ``##`` continuation), and its id."""
    if model["type"] == "Unigram":
        return [(piece.lstrip("\u2581"), i) for i, (piece, _score) in enumerate(model["vocab"])]
    return [(piece.removeprefix("##"), i) for piece, i in model["vocab"].items()]


def _ids(tokenizer, batch: list[list[str]]) -> set[int]:
    if not batch:
        return set()
    # Whole sentences, which the model never reads at this length: the
    # "longer than model_max_length ... indexing errors" warning is not ours.
    encoded = tokenizer(batch, is_split_into_words=True, add_special_tokens=False, verbose=False)["input_ids"]
    return {i for ids in encoded for i in ids}


def prune(
    model: torch.nn.Module, tokenizer, keep: list[int]
) -> tuple[torch.nn.Module, PreTrainedTokenizerFast]:
    """The model with only the ``keep`` rows of its input embedding, and the
    tokenizer renumbered to match (old id ``keep[i]`` becomes ``i``)."""
    new_id = {old: new for new, old in enumerate(keep)}
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    vocab = spec["model"]["vocab"]
    if spec["model"]["type"] == "Unigram":
        spec["model"]["vocab"] = [vocab[i] for i in keep]
        spec["model"]["unk_id"] = new_id[spec["model"]["unk_id"]]
    else:
        spec["model"]["vocab"] = {piece: new_id[i] for piece, i in vocab.items() if i in new_id}
    for token in spec["added_tokens"]:
        token["id"] = new_id[token["id"]]
    for special in (spec.get("post_processor") or {}).get("special_tokens", {}).values():
        special["ids"] = [new_id[i] for i in special["ids"]]
    pruned_tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(json.dumps(spec)),
        **{k: v for k, v in tokenizer.special_tokens_map.items()},
        model_max_length=tokenizer.model_max_length,
    )

    old = model.get_input_embeddings()
    rows = torch.tensor(keep, dtype=torch.long)
    embedding = torch.nn.Embedding(len(keep), old.embedding_dim, padding_idx=None)
    embedding.weight.data.copy_(old.weight.data[rows])
    embedding.weight.requires_grad_(old.weight.requires_grad)
    model.set_input_embeddings(embedding)
    model.config.vocab_size = len(keep)
    if model.config.pad_token_id is not None:
        model.config.pad_token_id = new_id[model.config.pad_token_id]
        embedding.padding_idx = model.config.pad_token_id
    return model, pruned_tokenizer
