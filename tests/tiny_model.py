"""A tiny randomly initialised BERT with a character-level fast tokenizer, for
fast tests of the training path through the same from_pretrained code."""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer, models, pre_tokenizers, processors
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

SPECIALS = ["[UNK]", "<s>", "</s>", "<pad>"]


def tiny_config(vocab_size: int, pad_token_id: int, **extra: int) -> BertConfig:
    """Two small layers: enough to run every code path, fast on a CPU."""
    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        pad_token_id=pad_token_id,
        **extra,
    )


def make_tiny_model(directory: Path, alphabet: str) -> Path:
    chars = sorted(set(alphabet) - {" ", "\n"})
    vocab = {t: i for i, t in enumerate(SPECIALS + chars + [f"##{c}" for c in chars])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=1000))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", vocab["<s>"]), ("</s>", vocab["</s>"])]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        cls_token="<s>",
        sep_token="</s>",
        pad_token="<pad>",
        unk_token="[UNK]",
        model_max_length=512,
    )
    BertModel(tiny_config(len(vocab), vocab["<pad>"]), add_pooling_layer=False).save_pretrained(directory)
    fast.save_pretrained(directory)
    return directory
