"""kzner.casing: which sentences count as set in capitals, and what the model reads instead."""

from __future__ import annotations

from kzner.casing import in_capitals, model_words, titled
from kzner.tokenize import tokenize


def words(text: str) -> list[str]:
    return [t.text for t in tokenize(text)]


def test_a_headline_in_capitals_is_read_in_title_case_abbreviations_kept() -> None:
    headline = words("«АУЫЛ АМАНАТЫ» ЖОБАСЫ: ҚР ПАРЛАМЕНТІ KAZINFORM.KZ-КЕ 2024 Ж.")
    assert model_words(headline) == words("«Ауыл Аманаты» Жобасы: ҚР Парламенті Kazinform.kz-ке 2024 Ж.")
    assert model_words(words("АСТАНА.")) == ["Астана", "."]
    assert model_words(words("№5 МЕКТЕП")) == ["№", "5", "Мектеп"]


def test_ordinary_text_and_short_capitals_are_left_as_written() -> None:
    for text in ("«AMANAT» партиясы Қызылорда облысында", "ҚР ҰҒА", "№5 Ж.", "2024 ж. 15 %", ""):
        sentence = words(text)
        assert model_words(sentence) == sentence
    assert not in_capitals(words("ҚР-да 5")) and in_capitals(words("ҚР-ДА 5"))


def test_each_word_keeps_its_length() -> None:
    assert titled("STRASSE") == "Strasse"
    # 'İ' lowers to two characters: such a word stays as it is, so offsets hold.
    assert titled("İSTANBUL") == "İstanbul" and titled("ANKARAİ") == "ANKARAİ"
    for word in ("ЖШС", "АҚ", "12,5", "KAZINFORM.KZ-КЕ"):
        assert len(titled(word)) == len(word)
