"""scripts/robustness.py: the changed documents keep every span on its mention."""

from __future__ import annotations

import random
import sys
from collections.abc import Sequence
from pathlib import Path

from seqeval.metrics.sequence_labeling import get_entities

from kzner import kaznerd
from kzner.document import Document, Span
from kzner.gazetteer import Gazetteer

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
sys.path.insert(0, str(SCRIPTS))

from robustness import capitals, first_line_in_capitals, kaznerd_documents, renamed  # noqa: E402


def spans_at(text: str, mentions: Sequence[tuple[str, str]]) -> tuple[Span, ...]:
    return tuple(Span(text.index(m), text.index(m) + len(m), label) for m, label in mentions)


def names_of(gazetteer: Gazetteer, kind: str) -> set[str]:
    return {" ".join(n) for n in gazetteer.names_of[kind]}


def test_renamed_documents_keep_every_span_on_its_mention() -> None:
    text = "Жетісу облысы әкімдігі «Жайлы мектеп» үшін 2 млрд теңге бөлді, деп хабарлайды Inform.kz-ке."
    mentions = [("Жетісу облысы әкімдігі", "ORG"), ("Жайлы мектеп", "PROJECT"), ("2 млрд теңге", "MONEY")]
    mentions.append(("Inform.kz-ке", "ORG"))
    doc = Document("d", text, spans_at(text, mentions))
    gazetteer = Gazetteer.load()
    names = Gazetteer.load(SCRIPTS / "unseen-names.yaml")
    new, count = renamed(doc, gazetteer, names, random.Random(3))
    # The project and the outlet: the unseen list has no regions (all 17 are in
    # the gazetteer), and MONEY holds no name.
    assert count == 2
    got = [new.span_text(s) for s in new.spans]
    assert got[0] == "Жетісу облысы әкімдігі"
    assert got[1] in names_of(names, "project")
    assert got[2] == "2 млрд теңге" and got[3].endswith("-ке") and got[3] != "Inform.kz-ке"
    assert new.text.endswith(got[3] + ".") and "«" + got[1] + "»" in new.text


def test_capitals_move_no_span() -> None:
    text = "Астана. «Ауыл аманаты» жобасына 2 млрд теңге бөлінді.\nЕкінші жол ß."
    mentions = (("Астана", "LOC"), ("Ауыл аманаты", "PROJECT"), ("2 млрд теңге", "MONEY"))
    doc = Document("d", text, spans_at(text, mentions))
    head = first_line_in_capitals(doc)
    assert head.text.startswith("АСТАНА. «АУЫЛ АМАНАТЫ» ЖОБАСЫНА 2 МЛРД ТЕҢГЕ БӨЛІНДІ.\nЕкінші жол ß.")
    assert [head.span_text(s) for s in head.spans] == ["АСТАНА", "АУЫЛ АМАНАТЫ", "2 МЛРД ТЕҢГЕ"]
    # ß has a two-letter capital: it stays, so no offset moves.
    assert capitals(text).endswith("ЕКІНШІ ЖОЛ ß.") and len(capitals(text)) == len(text)


def test_kaznerd_documents_hold_one_sentence_per_line_and_its_mentions(kaznerd_dir: Path) -> None:
    sentences = kaznerd.load_split("test", kaznerd_dir)[:50]
    docs = kaznerd_documents(50, per_document=40)
    assert [len(d.text.split("\n")) for d in docs] == [40, 10]
    lines = [line for d in docs for line in d.text.split("\n")]
    assert [line.strip().split(" ") for line in lines] == [list(s.words) for s in sentences]
    mentions = [d.span_text(s) for d in docs for s in d.spans]
    expected = [
        " ".join(s.words[start : last + 1])
        for s in sentences
        for _, start, last in get_entities(kaznerd.map_tags(s.tags))
    ]
    assert mentions == expected and len(mentions) > 20
