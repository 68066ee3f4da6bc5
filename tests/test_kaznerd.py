from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from seqeval.metrics.sequence_labeling import get_entities

from kzner import kaznerd
from kzner.kaznerd import (
    KaznerdError,
    KaznerdSentence,
    choose_split,
    load_train,
    make_split,
    map_tags,
    read_conll,
    split_by_group,
    verify_train,
    with_our_edges,
)

from .synthetic_kaznerd import write_train_files

TINY = """AID1 O
Арал B-GPE
ауданы I-GPE
Жансейіт B-LOCATION
2024 B-DATE
жылы I-DATE

BID1 O
Арал B-GPE
ауданы I-GPE

AID22 O
«AMANAT» B-ORGANISATION
50 B-PERCENTAGE
% I-PERCENTAGE
"""


def test_reads_ids_and_never_takes_the_id_line_as_a_word(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text(TINY, encoding="utf-8")
    sentences = read_conll(path)
    assert [s.id for s in sentences] == ["AID1", "BID1", "AID22"]
    assert sentences[0].words == ("Арал", "ауданы", "Жансейіт", "2024", "жылы")
    assert [s.group for s in sentences] == ["1", "1", "22"]
    doc = kaznerd.to_document(sentences[0])
    assert [(doc.span_text(s), s.label) for s in doc.spans] == [
        ("Арал ауданы", "LOC"),
        ("Жансейіт", "LOC"),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("AID1 O\nword\n", r"t.txt:2: expected 'WORD TAG'"),
        ("word O\n", r"t.txt:1: expected a sentence id, got 'word'"),
        ("AID1 O\nword X-ORG\n", r"t.txt:2: not an IOB2 tag: 'X-ORG'"),
        ("AID1 O\n\n", r"sentence AID1 has no words"),
    ],
)
def test_bad_lines_are_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "t.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(KaznerdError, match=message):
        read_conll(path)


def test_mapping_follows_the_conventions() -> None:
    tags = [
        "B-GPE",
        "I-GPE",
        "B-LOCATION",
        "B-PERSON",
        "I-PERSON",
        "B-MONEY",
        "I-MONEY",
        "B-PERCENTAGE",
        "B-QUANTITY",
        "B-PROJECT",
        "B-ORGANISATION",
        "I-ORGANISATION",
    ]
    assert map_tags(tags) == [
        "B-LOC",
        "I-LOC",
        "B-LOC",
        "O",
        "O",
        "B-MONEY",
        "I-MONEY",
        "B-PERCENT",
        "B-QUANTITY",
        "B-PROJECT",
        "B-ORG",
        "I-ORG",
    ]


def test_amounts_end_before_deyin_as_our_conventions_say() -> None:
    words = ("20", "%", "дейін", "60", "центнерге", "Дейін", "дейін", "мерзім", "5", "км", "дейін", "жол")
    tags = ("B-PERCENTAGE", "I-PERCENTAGE", "I-PERCENTAGE", "B-QUANTITY", "I-QUANTITY", "I-QUANTITY")
    tags += ("B-DATE", "I-DATE", "B-QUANTITY", "I-QUANTITY", "I-QUANTITY", "I-QUANTITY")
    got = with_our_edges(KaznerdSentence("AID1", words, tags)).tags
    # Only an amount's last word: a DATE keeps it, and so does an amount that goes on after it.
    assert got == tags[:2] + ("O",) + tags[3:5] + ("O",) + tags[6:]
    plain = KaznerdSentence("AID2", ("Арал", "дейін"), ("B-GPE", "O"))
    assert with_our_edges(plain) is plain


def test_kaznerd_splits_are_read_with_our_edges(kaznerd_dir: Path) -> None:
    raw = read_conll(kaznerd_dir / "IOB2_test2.txt")
    test = kaznerd.load_split("test", kaznerd_dir)
    changed = [(r, t) for r, t in zip(raw, test, strict=True) if r.tags != t.tags]
    assert 30 <= len(changed) <= 45 and all(r.words == t.words for r, t in changed)
    for _, sentence in changed:
        for _, _, last in get_entities(map_tags(sentence.tags)):
            assert sentence.words[last].lower() != "дейін"


def test_group_split_is_deterministic_and_keeps_variants_together() -> None:
    sentences = [
        KaznerdSentence(f"{v}ID{n}", ("w",), ("O",)) for n in range(200) for v in "AB" if n % 3 or v == "A"
    ]
    train, dev = split_by_group(sentences, 0.1, seed=13)
    assert {s.group for s in train}.isdisjoint({s.group for s in dev})
    assert len(train) + len(dev) == len(sentences)
    assert 15 <= len({s.group for s in dev}) <= 25
    again = split_by_group(list(reversed(sentences)), 0.1, seed=13)
    assert {s.id for s in again[1]} == {s.id for s in dev}
    other = split_by_group(sentences, 0.1, seed=14)
    assert {s.id for s in other[1]} != {s.id for s in dev}


def test_missing_directory_and_files_are_explained(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(kaznerd.ENV_DIR, raising=False)
    with pytest.raises(KaznerdError, match="KZNER_KAZNERD_DIR.*download_kaznerd.sh"):
        kaznerd.resolve_dir(None)
    with pytest.raises(KaznerdError, match="does not exist"):
        kaznerd.resolve_dir(tmp_path / "nope")
    with pytest.raises(KaznerdError, match=r"missing in .*: IOB2_valid2.txt"):
        kaznerd.load_split("valid", tmp_path)


@pytest.mark.integration
def test_checksum_mismatch_is_refused(kaznerd_dir: Path, tmp_path: Path) -> None:
    shutil.copy(kaznerd_dir / "IOB2_test2.txt", tmp_path / "IOB2_test2.txt")
    with (tmp_path / "IOB2_test2.txt").open("a", encoding="utf-8") as f:
        f.write("\nAID9 O\nx O\n")
    with pytest.raises(KaznerdError, match="is not the pinned"):
        kaznerd.load_split("test", tmp_path)


@pytest.mark.integration
def test_real_kaznerd(kaznerd_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv(kaznerd.ENV_DIR, str(kaznerd_dir))
    kaznerd.verify(kaznerd.resolve_dir())
    valid = kaznerd.load_split("valid")
    test = kaznerd.load_split("test")
    assert (len(valid), len(test)) == (11_167, 11_307)
    assert not any(kaznerd._ID.fullmatch(w) for s in valid for w in s.words)
    # The variant groups of valid and test are disjoint upstream; our split
    # of valid must keep that property inside valid.
    train, dev = split_by_group(valid, 0.1, seed=13)
    assert {s.group for s in train}.isdisjoint({s.group for s in dev})
    assert {s.group for s in valid}.isdisjoint({s.group for s in test})
    counts: dict[str, int] = {}
    for sentence in valid:
        for span in kaznerd.to_document(sentence).spans:
            counts[span.label] = counts.get(span.label, 0) + 1
    # B- counts in the file: GPE 1693 + LOCATION 204 = 1897 LOC.
    assert counts == {"LOC": 1897, "MONEY": 441, "ORG": 759, "PERCENT": 443, "PROJECT": 206, "QUANTITY": 407}


def test_a_class_outside_kaznerds_25_is_named(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("AID1 O\nАрал B-PLACE\n", encoding="utf-8")
    with pytest.raises(KaznerdError, match=r"t.txt:2: 'PLACE' is not one of KazNERD's 25 classes"):
        read_conll(path)


def sentences_of(*ids: str) -> list[KaznerdSentence]:
    return [KaznerdSentence(i, ("w",), ("O",)) for i in ids]


def test_paper_split_keeps_dev_and_test_whole_and_drops_straddling_train_variants() -> None:
    valid = sentences_of("AID1", "BID1", "AID2")
    test = sentences_of("AID3", "AID4")
    train = sentences_of("AID10", "CID1", "AID11", "BID3", "BID10")
    split = make_split("paper", valid, test, train, 0.1, seed=13)
    assert [s.id for s in split.train] == ["AID10", "AID11", "BID10"]
    assert (split.dev, split.test, split.dropped) == (valid, test, 2)
    held_out = {s.group for s in split.dev + split.test}
    assert held_out.isdisjoint(s.group for s in split.train)
    assert split.summary() == {"name": "paper", "train": 3, "dev": 3, "test": 2, "train_dropped_variants": 2}
    assert "2 left out: a variant is in valid or test" in split.describe()
    assert split.capped(1).summary() == {**split.summary(), "train": 1, "dev": 1, "test": 1}


def test_valid_split_is_the_group_split_of_valid() -> None:
    valid = sentences_of(*(f"{v}ID{n}" for n in range(50) for v in "AB"))
    test = sentences_of("AID99")
    split = make_split("valid", valid, test, sentences_of("AID1000"), 0.1, seed=13)
    assert (split.train, split.dev) == split_by_group(valid, 0.1, seed=13)
    assert (split.test, split.dropped) == (test, 0)
    assert split.describe().startswith("KazNERD split valid (valid -> train/dev by variant group")


def test_auto_chooses_the_paper_split_only_with_the_id_headed_train_file(tmp_path: Path) -> None:
    assert choose_split("auto", tmp_path) == "valid"
    with pytest.raises(KaznerdError, match="kaznerd_split is paper but .*IOB2_train2.txt is missing"):
        choose_split("paper", tmp_path)
    (tmp_path / kaznerd.TRAIN_PLAIN).write_text("")
    # The plain file alone cannot keep variant groups whole: say so rather than ignore it.
    with pytest.raises(KaznerdError, match="IOB2_train.txt is there but not IOB2_train2.txt"):
        choose_split("auto", tmp_path)
    assert choose_split("valid", tmp_path) == "valid"
    (tmp_path / kaznerd.TRAIN_FILE).write_text("")
    assert choose_split("auto", tmp_path) == choose_split("paper", tmp_path) == "paper"
    assert choose_split("valid", tmp_path) == "valid"


def test_the_unpinned_train_files_are_checked_for_structure(tmp_path: Path, monkeypatch, caplog) -> None:
    sentences = [KaznerdSentence(f"AID{n}", ("Арал", "ауданы"), ("B-GPE", "I-GPE")) for n in range(5)]
    with pytest.raises(KaznerdError, match="train files missing .*IOB2_train2.txt, IOB2_train.txt"):
        verify_train(tmp_path)
    write_train_files(tmp_path, sentences)
    # Not upstream's 90,228 sentences: an error when checking the download, a warning in training.
    with pytest.raises(KaznerdError, match="5 sentences where upstream's train file has 90,228"):
        verify_train(tmp_path)
    # The CLI stops kzner's messages from propagating to the root logger caplog reads.
    monkeypatch.setattr(logging.getLogger("kzner"), "propagate", True)
    with caplog.at_level("WARNING", logger="kzner"):
        assert load_train(tmp_path) == sentences
    assert "5 sentences where upstream's train file has 90,228" in caplog.text
    monkeypatch.setattr(kaznerd, "TRAIN_SENTENCES", 5)
    assert verify_train(tmp_path) == sentences
    plain = (tmp_path / kaznerd.TRAIN_PLAIN).read_text(encoding="utf-8")
    (tmp_path / kaznerd.TRAIN_PLAIN).write_text(plain.replace("I-GPE", "O", 1), encoding="utf-8")
    with pytest.raises(KaznerdError, match="IOB2_train.txt: sentence 1 differs from AID0 in IOB2_train2.txt"):
        verify_train(tmp_path)
    (tmp_path / kaznerd.TRAIN_PLAIN).write_text(plain + "Арал B-GPE\n\n", encoding="utf-8")
    with pytest.raises(KaznerdError, match="IOB2_train.txt: 6 sentences, IOB2_train2.txt 5"):
        verify_train(tmp_path)
    (tmp_path / kaznerd.TRAIN_FILE).write_text("Арал B-GPE\n", encoding="utf-8")
    with pytest.raises(KaznerdError, match=r"IOB2_train2.txt:1: expected a sentence id"):
        verify_train(tmp_path)


@pytest.mark.parametrize("one_per_line", [False, True])
def test_as_documents_keep_every_word_and_mention_in_order(kaznerd_dir: Path, one_per_line: bool) -> None:
    sentences = kaznerd.load_split("test", kaznerd_dir)[:50]
    docs = kaznerd.as_documents(sentences, 40, one_per_line=one_per_line)
    assert [len(d.text.split("\n")) for d in docs] == ([40, 10] if one_per_line else [1, 1])
    if one_per_line:
        lines = [line for d in docs for line in d.text.split("\n")]
        assert [line.strip().split(" ") for line in lines] == [list(s.words) for s in sentences]
    assert " ".join(d.text for d in docs).split() == [w for s in sentences for w in s.words]
    mentions = [d.span_text(s) for d in docs for s in d.spans]
    expected = [
        " ".join(s.words[start : last + 1])
        for s in sentences
        for _, start, last in get_entities(map_tags(s.tags))
    ]
    assert mentions == expected and len(mentions) > 20
