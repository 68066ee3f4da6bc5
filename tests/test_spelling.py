from __future__ import annotations

import pytest

from kzner.spelling import as_read


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("мемлекеттiк", "мемлекеттік"),  # a Latin i for і
        ("Бiлiм", "Білім"),
        ("жаhан", "жаһан"),
        ("əкімдігі", "әкімдігі"),
        ("Pеспубликасы", "Республикасы"),  # a Latin capital slipped in
        ("Tаза-су", "Таза-су"),
        ("әкім\u00adдігі", "әкімдігі"),  # a soft hyphen is read as nothing
    ],
)
def test_latin_look_alikes_in_a_kazakh_word_are_read_as_cyrillic(typed: str, read: str) -> None:
    assert as_read(typed) == read


@pytest.mark.parametrize(
    "word",
    # Latin names with a Kazakh ending (KazNERD has the first three), Latin
    # words, Cyrillic words, a domain with an ending: read as written.
    ["Kia-сы", "EXPO-қалашығының", "Boeing-тың", "iPhone", "Kazinform", "Inform.kz-ке", "Қазақстан", "H2O"],
)
def test_latin_words_and_cyrillic_words_are_read_as_written(word: str) -> None:
    assert as_read(word) == word
