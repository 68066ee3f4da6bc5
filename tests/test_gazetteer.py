"""Mention replacement: which names are swapped, and the tags that follow them."""

from __future__ import annotations

import random

import pytest

from kzner.data import Sentence, swapped
from kzner.gazetteer import Gazetteer, GazetteerError
from kzner.tokenize import tokenize


def words(text: str) -> tuple[str, ...]:
    return tuple(t.text for t in tokenize(text))


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.load()


def swapped_text(gazetteer: Gazetteer, mention: str, seed: int = 0) -> str | None:
    found = gazetteer.swap(words(mention), random.Random(seed))
    if found is None:
        return None
    w = words(mention)
    return " ".join(w[: found.start] + found.words + w[found.stop :])


def names_of(gazetteer: Gazetteer, kind: str) -> set[str]:
    return {" ".join(n) for k in gazetteer.kinds if k.name == kind for n in k.names}


@pytest.mark.parametrize("seed", range(20))
def test_a_name_is_swapped_where_its_ending_stays_apart(gazetteer: Gazetteer, seed: int) -> None:
    # The whole mention: any outlet for an outlet.
    assert swapped_text(gazetteer, "Kazinform", seed) in names_of(gazetteer, "outlet")
    # A hyphenated ending stays on the new name.
    outlet, dash, ending = swapped_text(gazetteer, "Inform.kz-ке", seed).rpartition("-")
    assert (dash, ending) == ("-", "ке")
    # Before a head word of its kind: a region before облысы/облыстық, a ministry before министрлігі.
    region, *rest = swapped_text(gazetteer, "Жетісу облысы әкімдігінің", seed).rsplit(" ", 2)
    assert region in names_of(gazetteer, "region") and rest == ["облысы", "әкімдігінің"]
    head = swapped_text(gazetteer, "Түркістан облыстық мәслихатының", seed).split(" ")[-2:]
    assert head == ["облыстық", "мәслихатының"]
    ministry = swapped_text(gazetteer, "ҚР Энергетика министрлігінің", seed)
    assert ministry.startswith("ҚР ") and ministry.endswith(" министрлігінің")
    assert ministry[3 : -len(" министрлігінің")] in names_of(gazetteer, "ministry")


def test_an_inflected_or_unlisted_name_is_left_alone(gazetteer: Gazetteer) -> None:
    assert swapped_text(gazetteer, "Шымкентте") is None  # the ending is glued on
    assert swapped_text(gazetteer, "Жетісу ауданы") is None  # Жетісу is a region, not a district
    assert swapped_text(gazetteer, "Павлодарэнерго") is None
    assert swapped_text(gazetteer, "KAZINFORM") is None  # names are matched as written


SENTENCE = Sentence(
    "doc/0",
    words("Жетісу облысы әкімдігінің мәліметінше , Kazinform 12 млрд теңге бөлді"),
    (
        "B-ORGANISATION",
        "I-ORGANISATION",
        "I-ORGANISATION",
        "O",
        "O",
        "B-ORGANISATION",
        "B-MONEY",
        "I-MONEY",
        "I-MONEY",
        "O",
    ),
    ("B-ORG", "I-ORG", "I-ORG", "O", "O", "B-ORG", "B-MONEY", "I-MONEY", "I-MONEY", "O"),
)


def test_swapped_sentences_keep_their_tags_in_step(gazetteer: Gazetteer) -> None:
    out = swapped([SENTENCE] * 300, gazetteer, 1.0, seed=5)
    assert len(out) == 300 and all(s.id == "doc/0/swapped" for s in out)
    for s in out:
        assert len(s.words) == len(s.tags) == len(s.gold)
        region = " ".join(s.words[: s.words.index("облысы")])
        assert region in names_of(gazetteer, "region")
        n = s.words.index("облысы")
        assert s.gold[:n] == ("B-ORG",) + ("I-ORG",) * (n - 1)
        assert s.tags[: n + 2] == ("B-ORGANISATION",) + ("I-ORGANISATION",) * (n + 1)
        # The outlet may be two words (Khabar 24): one entity all the same.
        at = s.words.index("мәліметінше") + 2
        outlet_end = s.words.index("12")
        assert " ".join(s.words[at:outlet_end]) in names_of(gazetteer, "outlet")
        assert s.gold[at:outlet_end] == ("B-ORG",) + ("I-ORG",) * (outlet_end - at - 1)
        # MONEY is never swapped and keeps its tags.
        assert s.words[outlet_end:] == ("12", "млрд", "теңге", "бөлді")
        assert s.gold[outlet_end:] == ("B-MONEY", "I-MONEY", "I-MONEY", "O")
    assert len({s.words for s in out}) > 50  # the names are drawn, not fixed


def test_the_chance_and_seed_decide_which_mentions(gazetteer: Gazetteer) -> None:
    assert swapped([SENTENCE] * 50, gazetteer, 0.0, seed=5) == [SENTENCE] * 50
    half = swapped([SENTENCE] * 1000, gazetteer, 0.5, seed=5)
    # Two swappable mentions each: a sentence stays as it was a quarter of the time.
    assert 180 < sum(s is SENTENCE for s in half) < 320
    assert half == swapped([SENTENCE] * 1000, gazetteer, 0.5, seed=5)
    assert half != swapped([SENTENCE] * 1000, gazetteer, 0.5, seed=6)


def test_a_bad_gazetteer_names_the_key_and_the_kind(tmp_path) -> None:
    bad = tmp_path / "g.yaml"
    bad.write_text("region:\n  heads: [облыс]\n", encoding="utf-8")
    with pytest.raises(GazetteerError, match="data.gazetteer: kind 'region'"):
        Gazetteer.load(bad)
    with pytest.raises(GazetteerError, match="data.gazetteer: cannot read"):
        Gazetteer.load(tmp_path / "missing.yaml")


def test_names_can_come_from_another_list(gazetteer: Gazetteer, tmp_path) -> None:
    held_out = tmp_path / "names.yaml"
    held_out.write_text("outlet:\n  names: [Lada.kz]\nregion:\n  names: [Жаңа өлке]\n", encoding="utf-8")
    names = Gazetteer.load(held_out)
    rng = random.Random(0)
    assert gazetteer.swap(words("Inform.kz-ке"), rng, names).words == ("Lada.kz-ке",)
    assert gazetteer.swap(words("Абай облысының"), rng, names).words == ("Жаңа", "өлке")
    # A kind the other list lacks is left alone.
    assert gazetteer.swap(words("Жайлы мектеп"), rng, names) is None
