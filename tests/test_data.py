"""Training data assembly: case variants and the config's export globs."""

from __future__ import annotations

from pathlib import Path

import pytest

from kzner.config import ConfigError, expand_globs
from kzner.data import CASE_STYLES, Sentence, recased

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


def test_export_globs_name_their_key(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("[]")
    pattern = str(tmp_path / "*.json")
    assert expand_globs([pattern, str(tmp_path / "a.json")], "data.annotations") == [str(tmp_path / "a.json")]
    with pytest.raises(ConfigError, match=r"data.in_domain_dev: '.*nothing\*.json' matches no file"):
        expand_globs([str(tmp_path / "nothing*.json")], "data.in_domain_dev")
    # A plain path is checked the same way: one rule for config keys and command arguments.
    with pytest.raises(ConfigError, match=r"exports: '.*b.json' matches no file"):
        expand_globs([str(tmp_path / "b.json")], "exports")
