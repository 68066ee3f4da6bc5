"""Training data assembly: the KazNERD split, case variants and the config's export globs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from kzner import kaznerd
from kzner.config import ConfigError, expand_globs, load_config
from kzner.data import CASE_STYLES, Corpus, Sentence, in_context, load_corpus, recased, subsample

ROOT = Path(__file__).resolve().parents[1]

SENTENCE = Sentence(
    "s1",
    ("«", "Ауыл", "аманаты", "»", "жобасы", "Астана", "қаласында"),
    ("O", "B-PROJECT", "I-PROJECT", "O", "O", "B-GPE", "O"),
    ("O", "B-PROJECT", "I-PROJECT", "O", "O", "B-LOC", "O"),
)


def test_every_case_style_changes_words_and_keeps_tags() -> None:
    variants = recased([SENTENCE] * 400, 1.0, seed=3)
    assert len(variants) == 400 and SENTENCE not in variants
    by_style = {v.id.rpartition("/")[2]: v for v in variants}
    assert set(by_style) == set(CASE_STYLES)
    assert by_style["upper"].words == ("«", "АУЫЛ", "АМАНАТЫ", "»", "ЖОБАСЫ", "АСТАНА", "ҚАЛАСЫНДА")
    assert by_style["title"].words == ("«", "Ауыл", "Аманаты", "»", "Жобасы", "Астана", "Қаласында")
    # Only the entity words change: «АУЫЛ АМАНАТЫ» жобасы.
    assert by_style["entities upper"].words == ("«", "АУЫЛ", "АМАНАТЫ", "»", "жобасы", "АСТАНА", "қаласында")
    assert by_style["entities title"].words == ("«", "Ауыл", "Аманаты", "»", "жобасы", "Астана", "қаласында")
    assert all(v.tags == SENTENCE.tags and v.gold == SENTENCE.gold for v in variants)


def test_the_fraction_and_seed_decide_which_sentences() -> None:
    from dataclasses import replace

    sentences = [replace(SENTENCE, id=f"s{i}") for i in range(2000)]
    variants = recased(sentences, 0.1, seed=13)
    # Each variant replaces its sentence, in place: training takes no longer.
    assert [v.id.partition("/")[0] for v in variants] == [s.id for s in sentences]
    assert 150 < sum(v not in sentences for v in variants) < 250
    # A style that changes nothing (no entity to recase) leaves the sentence as it is.
    plain = [Sentence(f"p{i}", ("бір", "екі"), ("O", "O"), ("O", "O")) for i in range(2000)]
    assert {v.id.partition("/")[2] for v in recased(plain, 0.1, seed=13)} == {"", "upper", "title"}
    assert variants == recased(sentences, 0.1, seed=13)
    assert variants != recased(sentences, 0.1, seed=14)
    assert recased(sentences, 0.0, seed=13) == sentences


def _numbered(doc: str, count: int, words: int) -> list[Sentence]:
    # Learnt tags in KazNERD's names, gold in ours: a swap would show.
    tags, gold = ("B-GPE",) + ("O",) * (words - 1), ("B-LOC",) + ("O",) * (words - 1)
    return [
        Sentence(f"{doc}/{n}", tuple(f"{doc}{n}w{i}" for i in range(words)), tags, gold) for n in range(count)
    ]


def test_runs_of_one_document_are_learnt_again_as_one_window() -> None:
    sentences = _numbered("a", 5, 4) + _numbered("b", 2, 4)
    assert in_context(sentences, 0.0, budget=10, seed=13) is sentences
    out = in_context(sentences, 1.0, budget=10, seed=13)
    # Every sentence is still learnt alone, in order; documents are never joined.
    assert [s for s in out if not s.id.endswith("+context")] == sentences
    windows = [s for s in out if s.id.endswith("+context")]
    # Two sentences of four words fit in ten: runs a/0-1, a/2-3 and b/0-1 (a/4 is alone).
    runs = [sentences[i : i + 2] for i in (0, 2, 5)]
    assert [(s.id, s.words) for s in windows] == [
        (f"{run[0].id}+context", tuple(w for s in run for w in s.words)) for run in runs
    ]
    for window in windows:
        assert window.tags == ("B-GPE", "O", "O", "O") * 2 and window.gold == ("B-LOC", "O", "O", "O") * 2
    # A sentence over the budget stays alone between its neighbours.
    long = [*_numbered("c", 1, 3), *_numbered("c", 2, 12)[1:], *_numbered("c", 4, 3)[2:]]
    out = in_context(long, 1.0, budget=10, seed=13)
    assert [s.id for s in out[:4]] == ["c/0", "c/1", "c/2", "c/3"] and len(out) == 5
    assert out[4].words == long[2].words + long[3].words
    # About half of the 67 runs, the same ones for one seed.
    half = in_context(_numbered("d", 200, 3), 0.5, budget=9, seed=13)
    windows = [s for s in half if s.id.endswith("+context")]
    assert 20 < len(windows) < 47 and half == in_context(_numbered("d", 200, 3), 0.5, budget=9, seed=13)
    other = in_context(_numbered("d", 200, 3), 0.5, budget=9, seed=14)
    assert windows != [s for s in other if s.id.endswith("+context")]


def test_kaznerd_runs_never_hold_two_variants_of_one_sentence() -> None:
    one = ("O",)
    ids = ["AID1", "BID1", "AID2", "AID3", "DID3", "AID4"]
    sentences = [Sentence(i, (i,), one, one) for i in ids]
    windows = [s for s in in_context(sentences, 1.0, budget=10, seed=13) if s.id.endswith("+context")]
    assert [s.words for s in windows] == [("BID1", "AID2", "AID3"), ("DID3", "AID4")]


def test_export_globs_name_their_key(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("[]")
    pattern = str(tmp_path / "*.json")
    assert expand_globs([pattern, str(tmp_path / "a.json")], "data.annotations") == [str(tmp_path / "a.json")]
    with pytest.raises(ConfigError, match=r"data.in_domain_dev: '.*nothing\*.json' matches no file"):
        expand_globs([str(tmp_path / "nothing*.json")], "data.in_domain_dev")
    # A plain path is checked the same way: one rule for config keys and command arguments.
    with pytest.raises(ConfigError, match=r"exports: '.*b.json' matches no file"):
        expand_globs([str(tmp_path / "b.json")], "exports")


def test_subsample_is_seeded_nested_and_keeps_order() -> None:
    items = list(range(1000))
    quarter, half = subsample(items, 0.25, seed=13), subsample(items, 0.5, seed=13)
    assert (len(quarter), len(half)) == (250, 500)
    assert set(quarter) <= set(half) and quarter == sorted(quarter)
    assert quarter == subsample(items, 0.25, seed=13) != subsample(items, 0.25, seed=14)
    assert subsample(items, 1.0, seed=13) == items


# What load_corpus gave each side before data.kaznerd_split existed (commit
# 44e0e8a, the default config without exports): sentence count and the
# sha256 of [id, words, tags, gold] of every sentence in order.
# Tags as read with our amount edges (kaznerd.with_our_edges): the same
# sentences as before that change, 106 amounts ending one word earlier.
BEFORE = {
    "train": (10_060, "e9ef4076478726f58c3134cbebc24b2aac190b5f673b54e55efc9f5dd8d11cb4"),
    "dev": (1_107, "715eb9ed88951a0643839eab8b0b7d47808b4a64e70e052aa351a76d10036334"),
    "test": (11_307, "13955825f447f6465d365f3645026c33bd85217a7765fa86c203e66cb1643313"),
}


def kaznerd_only(folder: Path, *overrides: str) -> Corpus:
    no_exports = ["data.annotations=[]", "data.in_domain_dev=[]", f"data.kaznerd_dir={folder}"]
    # Which sentences each side holds, as read: case variants and context
    # windows (tested above) rename or add some.
    no_exports += ["data.case_augment=0", "data.context_fraction=0"]
    return load_corpus(load_config(ROOT / "configs" / "default.yaml", [*no_exports, *overrides]))


def fingerprint(sentences: list[Sentence]) -> tuple[int, str]:
    rows = [[s.id, s.words, s.tags, s.gold] for s in sentences]
    return len(rows), hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()


@pytest.mark.integration
def test_without_the_train_file_the_split_is_todays_byte_for_byte(
    kaznerd_dir: Path, kaznerd_with_train: Path
) -> None:
    for corpus in (kaznerd_only(kaznerd_dir), kaznerd_only(kaznerd_with_train, "data.kaznerd_split=valid")):
        assert {side: fingerprint(getattr(corpus, side)) for side in BEFORE} == BEFORE
        assert corpus.kaznerd_split.summary() == {
            "name": "valid",
            "train": 10_060,
            "dev": 1_107,
            "test": 11_307,
            "train_dropped_variants": 0,
        }
        assert f"kaznerd/{kaznerd.TRAIN_FILE}" not in corpus.fingerprints


@pytest.mark.integration
def test_one_variant_per_group_keeps_every_sentence_once_and_dev_whole(kaznerd_dir: Path) -> None:
    every = kaznerd_only(kaznerd_dir, "data.kaznerd_variants=all")
    one = kaznerd_only(kaznerd_dir, "data.kaznerd_variants=one")
    groups = [s.id[3:] for s in one.train]
    assert len(groups) == len(set(groups)) == len({s.id[3:] for s in every.train})
    assert {s.id for s in one.train} < {s.id for s in every.train}
    # Drawn, not always the first variant: spelt-out and digit variants both stay.
    assert {s.id[0] for s in one.train} >= {"A", "B"}
    assert one.dev == every.dev and one.test == every.test
    assert one.train == kaznerd_only(kaznerd_dir, "data.kaznerd_variants=one").train


@pytest.mark.integration
def test_with_the_train_file_train_dev_and_test_are_the_papers(
    kaznerd_dir: Path, kaznerd_with_train: Path
) -> None:
    corpus = kaznerd_only(kaznerd_with_train)
    train_file = kaznerd.read_conll(kaznerd_with_train / kaznerd.TRAIN_FILE)
    valid, test = kaznerd.load_split("valid", kaznerd_dir), kaznerd.load_split("test", kaznerd_dir)
    # The two variants of a valid and a test sentence are left out; dev and test are whole.
    assert [s.id for s in corpus.train] == [s.id for s in train_file if s.id.startswith("AID9")]
    assert len(corpus.train) == 80 and corpus.kaznerd_split.dropped == 2
    assert [s.id for s in corpus.dev] == [s.id for s in valid]
    assert [s.id for s in corpus.test] == [s.id for s in test]
    groups = {side: {s.id[3:] for s in getattr(corpus, side)} for side in ("train", "dev", "test")}
    assert groups["train"].isdisjoint(groups["dev"] | groups["test"])
    digest = kaznerd.sha256_of(kaznerd_with_train / kaznerd.TRAIN_FILE)
    assert corpus.fingerprints[f"kaznerd/{kaznerd.TRAIN_FILE}"] == digest
    # A fraction of the training sentences, with dev and test unchanged; the cap applies after it.
    quarter = kaznerd_only(kaznerd_with_train, "data.train_fraction=0.25")
    assert len(quarter.train) == 20 and {s.id for s in quarter.train} < {s.id for s in corpus.train}
    assert quarter.dev == corpus.dev and quarter.test == corpus.test
    capped = kaznerd_only(kaznerd_with_train, "data.max_sentences=10").kaznerd_split.summary()
    assert capped == {"name": "paper", "train": 10, "dev": 10, "test": 10, "train_dropped_variants": 2}


@pytest.mark.integration
def test_kaznerd_command_says_which_split_and_that_train_is_unpinned(
    kaznerd_dir: Path, kaznerd_with_train: Path, monkeypatch, capsys
) -> None:
    from kzner.cli import main

    assert main(["data", "kaznerd", "--dir", str(kaznerd_dir)]) == 0
    out = capsys.readouterr().out
    assert "no train file (IOB2_train2.txt)" in out
    assert "data.kaznerd_split=auto: KazNERD split valid" in out
    assert "train 10,060 sentences, dev 1,107, test 11,307" in out
    # The synthetic file is not upstream's 90,228 sentences: the download check refuses it...
    assert main(["data", "kaznerd", "--dir", str(kaznerd_with_train)]) == 2
    assert "82 sentences where upstream's train file has 90,228" in capsys.readouterr().err
    # ...and, were it the right size, passes it as unpinned.
    monkeypatch.setattr(kaznerd, "TRAIN_SENTENCES", 82)
    assert main(["data", "kaznerd", "--dir", str(kaznerd_with_train)]) == 0
    out = capsys.readouterr().out
    assert "IOB2_train2.txt, IOB2_train.txt: UNPINNED" in out
    assert f"sha256 {kaznerd.sha256_of(kaznerd_with_train / kaznerd.TRAIN_FILE)}  IOB2_train2.txt" in out
    assert "train: 82 sentences in 82 variant groups" in out
    assert "data.kaznerd_split=auto: KazNERD split paper (the paper's" in out
    assert "train 80 sentences (2 left out: a variant is in valid or test), dev 11,167, test 11,307" in out


@pytest.mark.integration
def test_mention_replace_swaps_training_names_only_and_records_the_gazetteer(kaznerd_dir: Path) -> None:
    plain = kaznerd_only(kaznerd_dir)
    swapped = kaznerd_only(kaznerd_dir, "data.mention_replace=0.5")
    # In place: as many training sentences, in the same order; dev and test untouched.
    assert [s.id.removesuffix("/swapped") for s in swapped.train] == [s.id for s in plain.train]
    assert swapped.dev == plain.dev and swapped.test == plain.test
    changed = [(a, b) for a, b in zip(plain.train, swapped.train, strict=True) if a != b]
    assert 150 < len(changed) < 1500
    # Only names change: every other word, and every tag outside ORG/LOC/PROJECT, stays.
    for a, b in changed:
        assert b.id == a.id + "/swapped" and len(b.words) == len(b.tags) == len(b.gold)
        outside = [[w for w, t in zip(s.words, s.gold, strict=True) if t == "O"] for s in (a, b)]
        assert outside[0] == outside[1]
    assert "gazetteer/gazetteer.yaml" in swapped.fingerprints
    assert "gazetteer/gazetteer.yaml" not in plain.fingerprints
